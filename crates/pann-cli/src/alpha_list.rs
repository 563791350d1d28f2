//! Parsing of α lists: `9`, `9,12,14`, `4..14` (inclusive), `4..=14`.

use anyhow::{bail, Context, Result};

/// Parses an α list; every value is range-checked by the approximation engine's own rule.
pub fn parse(s: &str) -> Result<Vec<u32>> {
    let s = s.trim();
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if let Some((a, b)) = part.split_once("..") {
            let b = b.strip_prefix('=').unwrap_or(b);
            let lo: i64 = a
                .trim()
                .parse()
                .with_context(|| format!("'{part}' is not a range like 4..14"))?;
            let hi: i64 = b
                .trim()
                .parse()
                .with_context(|| format!("'{part}' is not a range like 4..14"))?;
            if lo > hi {
                bail!("range '{part}' is empty");
            }
            for a in lo..=hi {
                out.push(pann_approx::sign::check_alpha(a)?);
            }
        } else {
            let a: i64 = part.parse().with_context(|| format!("'{part}' is not an integer α"))?;
            out.push(pann_approx::sign::check_alpha(a)?);
        }
    }
    // A repeated α would run (and report) the same sweep row twice.
    let mut seen = std::collections::BTreeSet::new();
    if let Some(a) = out.iter().find(|&&a| !seen.insert(a)) {
        bail!("α = {a} is listed twice in '{s}'");
    }
    Ok(out)
}

/// Parses a degree list like `15,15`.
pub fn parse_degrees(s: &str) -> Result<Vec<usize>> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .with_context(|| format!("'{p}' is not a degree"))
        })
        .collect::<Result<_>>()?;
    pann_approx::composite::validate_degrees(&v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_ranges() {
        assert_eq!(parse("9").unwrap(), vec![9]);
        assert_eq!(parse("4..6,9").unwrap(), vec![4, 5, 6, 9]);
        assert_eq!(parse("4..=5").unwrap(), vec![4, 5]);
        assert!(parse("6,6").unwrap_err().to_string().contains("twice"));
        assert!(parse("4..6,5").unwrap_err().to_string().contains("α = 5"));
        assert!(parse("3")
            .unwrap_err()
            .to_string()
            .contains("outside the supported range"));
        assert!(parse("21").is_err());
        assert!(parse("x").is_err());
        assert!(parse("9..4").is_err());
        assert_eq!(parse_degrees("15, 15").unwrap(), vec![15, 15]);
        assert!(parse_degrees("").is_err());
        assert!(parse_degrees("4").unwrap_err().to_string().contains("even"));
    }
}
