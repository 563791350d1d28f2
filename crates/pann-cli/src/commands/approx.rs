//! `pann approx`: generate, certify, tabulate and plot composite sign / ReLU approximations.

use crate::{alpha_list, plot};
use anyhow::{bail, Context, Result};
use clap::Args;
use pann_approx::presets::lee_degrees;
use pann_approx::search::{cheapest_with_tables, ErrorTables, SearchConfig};
use pann_approx::{ApproxSummary, CompositeSign};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `pann approx`.
#[derive(Args, Debug)]
pub struct ApproxArgs {
    /// Precision α: the ReLU approximation errs by at most 2^-α on [-1, 1] (4..=20).
    #[arg(long, allow_hyphen_values = true)]
    alpha: Option<i64>,
    /// Component degrees instead of the search, first applied first (e.g. 15,15). Without --alpha, the largest α
    /// they reach is reported.
    #[arg(long)]
    degrees: Option<String>,
    /// One row per α of a list or range (e.g. 4..20, or 6,9,12).
    #[arg(long, conflicts_with_all = ["alpha", "degrees"])]
    table: Option<String>,
    /// Print JSON (one object; with --table an array) instead of text.
    #[arg(long)]
    json: bool,
    /// Draw the sign approximation and its error to this SVG file.
    #[arg(long, conflicts_with = "table")]
    plot: Option<PathBuf>,
}

/// A table row: the summary plus the generation time.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    summary: ApproxSummary,
    seconds: f64,
}

/// Runs `pann approx`.
pub fn run(args: ApproxArgs) -> Result<()> {
    if let Some(spec) = &args.table {
        return table(&alpha_list::parse(spec)?, args.json);
    }
    let degrees = args.degrees.as_deref().map(alpha_list::parse_degrees).transpose()?;
    let t0 = Instant::now();
    let sign = match (args.alpha, degrees) {
        (Some(a), None) => CompositeSign::for_alpha(pann_approx::sign::check_alpha(a)?)?,
        (Some(a), Some(d)) => CompositeSign::with_degrees(pann_approx::sign::check_alpha(a)?, &d)?,
        (None, Some(d)) => best_alpha_for(&d)?,
        (None, None) => bail!("give --alpha, --degrees or --table (see pann approx --help)"),
    };
    let seconds = t0.elapsed().as_secs_f64();
    if let Some(path) = &args.plot {
        plot::sign_plot(&sign, path).with_context(|| format!("cannot write plot {}", path.display()))?;
    }
    let summary = ApproxSummary::from(&sign);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_one(&summary, seconds);
    }
    Ok(())
}

/// The largest α in the engine's range that `degrees` reach.
fn best_alpha_for(degrees: &[usize]) -> Result<CompositeSign> {
    let mut last_err = None;
    for a in (pann_approx::ALPHA_MIN..=pann_approx::ALPHA_MAX).rev() {
        match CompositeSign::with_degrees(a, degrees) {
            Ok(s) => return Ok(s),
            Err(e) => last_err = Some(e),
        }
    }
    // The error of the lowest α says it all (it names the degrees and the best error reached).
    Err(last_err.expect("range is non-empty").into())
}

fn log2(x: f64) -> String {
    format!("2^{:.2}", x.log2())
}

fn print_one(s: &ApproxSummary, seconds: f64) {
    println!("α = {}: degrees {:?}", s.alpha, s.degrees);
    println!(
        "  depth: sign {}, ReLU {}   non-scalar multiplications: sign {}, ReLU {}",
        s.depth, s.relu_depth, s.nonscalar_mults, s.relu_nonscalar_mults
    );
    println!(
        "  max |x(1+p(x))/2 − ReLU(x)| on [−1, 1]       = {:.6e} ({})",
        s.max_relu_error,
        log2(s.max_relu_error)
    );
    println!(
        "  max |p(x) − sign(x)| on ±[{:.3e}, 1]      = {:.6e} ({})",
        s.design_epsilon,
        s.max_sign_error,
        log2(s.max_sign_error)
    );
    println!(
        "  |p − sign| ≤ 2^{} holds for |x| ≥ ε = {:.6e} ({})",
        1 - s.alpha as i64,
        s.epsilon,
        log2(s.epsilon)
    );
    for (i, c) in s.components.iter().enumerate() {
        let odd: Vec<String> = c
            .coefficients
            .iter()
            .skip(1)
            .step_by(2)
            .map(|v| format!("{v:.17e}"))
            .collect();
        println!(
            "  p_{} (degree {}), odd coefficients x^1, x^3, …: {}",
            i + 1,
            c.degree,
            odd.join(", ")
        );
    }
    println!("  generated and certified in {:.1} ms", seconds * 1e3);
}

fn table(alphas: &[u32], json: bool) -> Result<()> {
    let mut tables = ErrorTables::default();
    let config = SearchConfig::default();
    let mut rows = Vec::new();
    if !json {
        println!(
            "{:>3} {:<22} {:>5} {:>5} {:>5} {:>8} {:>9} {:>9} {:>8}   {:<14} {:>9}",
            "α",
            "degrees",
            "depth",
            "ReLU",
            "mults",
            "log2 ε",
            "log2 sign",
            "log2 ReLU",
            "ms",
            "Lee et al.",
            "Lee depth"
        );
    }
    let t_all = Instant::now();
    for &a in alphas {
        let t0 = Instant::now();
        let sign = cheapest_with_tables(a, &config, &mut tables)?;
        let seconds = t0.elapsed().as_secs_f64();
        let s = ApproxSummary::from(&sign);
        if !json {
            let lee = lee_degrees(a);
            println!(
                "{:>3} {:<22} {:>5} {:>5} {:>5} {:>8.2} {:>9.3} {:>9.3} {:>8.1}   {:<14} {:>9}",
                a,
                format!("{:?}", s.degrees),
                s.depth,
                s.relu_depth,
                s.nonscalar_mults,
                s.epsilon.log2(),
                s.max_sign_error.log2(),
                s.max_relu_error.log2(),
                seconds * 1e3,
                lee.map(|d| format!("{d:?}")).unwrap_or_else(|| "—".into()),
                lee.map(|d| pann_approx::composite::sign_depth(d).to_string())
                    .unwrap_or_else(|| "—".into()),
            );
        }
        rows.push(Row { summary: s, seconds });
    }
    if json {
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        println!(
            "total {:.1} ms for {} values of α (search + design + certificate)",
            t_all.elapsed().as_secs_f64() * 1e3,
            alphas.len()
        );
    }
    Ok(())
}
