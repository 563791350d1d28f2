//! The four named ways the analyses choose bounds: Lee et al.'s global `B` or per-layer calibrated bounds, each
//! with or without the mean-leak correction — an [`EvalConfig`] preset with a name for CSV rows and a sentence
//! for tables.
//!
//! [`RangeRule`] is how bounds are searched (with its parameters); a [`Rule`] picks one of them together with the
//! remedy, so that `pann analyze precision --rules lee,calibrate+leak` and the headline's columns name the same
//! settings the same way.

use crate::error::{Error, Result};
use crate::plan::ReluShift;
use crate::range::LeeSearch;
use crate::sweep::{EvalConfig, RangeRule};
use pann_nn::OverflowPolicy;
use std::fmt;
use std::str::FromStr;

/// A range rule with or without the mean-leak correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Per-layer calibrated bounds (else Lee et al.'s global search).
    pub calibrate: bool,
    /// The mean-leak correction, measured on the calibration images.
    pub leak: bool,
}

impl Rule {
    /// Lee et al.'s global B.
    pub const LEE: Rule = Rule {
        calibrate: false,
        leak: false,
    };
    /// Lee et al.'s global B with the mean-leak correction.
    pub const LEE_LEAK: Rule = Rule {
        calibrate: false,
        leak: true,
    };
    /// Per-layer calibrated bounds.
    pub const CALIBRATE: Rule = Rule {
        calibrate: true,
        leak: false,
    };
    /// Per-layer calibrated bounds with the mean-leak correction.
    pub const CALIBRATE_LEAK: Rule = Rule {
        calibrate: true,
        leak: true,
    };

    /// The rule's name, as `--rules` takes it and the CSV rows show it.
    pub fn name(&self) -> &'static str {
        match (self.calibrate, self.leak) {
            (false, false) => "lee",
            (true, false) => "calibrate",
            (false, true) => "lee+leak",
            (true, true) => "calibrate+leak",
        }
    }

    /// The rule in words, for tables.
    pub fn describe(&self) -> &'static str {
        match (self.calibrate, self.leak) {
            (false, false) => "Lee's global B (from 50 in steps of 5)",
            (true, false) => "per-layer calibrated B (1.1 × the largest input on the calibration images)",
            (false, true) => "Lee's global B with the mean-leak correction (`pann eval --leak-correction`)",
            (true, true) => "per-layer calibrated B with the mean-leak correction",
        }
    }

    /// Whether the rule needs calibration images (calibrated bounds or the correction).
    pub fn needs_calibration(&self) -> bool {
        self.calibrate || self.leak
    }

    /// The evaluation at `alphas` under this rule: Lee's default search or calibrated bounds with `margin`,
    /// overflows counted, no ReLU shift, one correction pass.
    pub fn config(&self, alphas: Vec<u32>, margin: f64, batch: usize) -> EvalConfig {
        EvalConfig {
            alphas,
            range: if self.calibrate {
                RangeRule::Calibrate { margin }
            } else {
                RangeRule::Lee(LeeSearch::default())
            },
            overflow: OverflowPolicy::Count,
            batch,
            relu_shift: ReluShift::NONE,
            leak_correction: self.leak,
            leak_iterations: 1,
        }
    }

    /// A comma-separated list of rule names, each kept once in the order given.
    pub fn parse_list(s: &str) -> Result<Vec<Rule>> {
        let mut out = Vec::new();
        for part in s.split(',') {
            let rule: Rule = part.parse()?;
            if !out.contains(&rule) {
                out.push(rule);
            }
        }
        Ok(out)
    }
}

impl FromStr for Rule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Rule> {
        [Rule::LEE, Rule::CALIBRATE, Rule::LEE_LEAK, Rule::CALIBRATE_LEAK]
            .into_iter()
            .find(|r| r.name() == s.trim())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "'{}' is not one of lee, calibrate, lee+leak, calibrate+leak",
                    s.trim()
                ))
            })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_reject_unknown_names() {
        let r = Rule::parse_list("lee, calibrate+leak,lee").unwrap();
        assert_eq!(
            r.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ["lee", "calibrate+leak"]
        );
        assert!(Rule::parse_list("lee,clamp")
            .unwrap_err()
            .to_string()
            .contains("'clamp'"));
    }

    #[test]
    fn configs_follow_the_rule() {
        let c = Rule::CALIBRATE_LEAK.config(vec![9], 1.2, 100);
        assert!(matches!(c.range, RangeRule::Calibrate { margin } if margin == 1.2));
        assert!(c.leak_correction && c.leak_iterations == 1);
        let c = Rule::LEE.config(vec![9], 1.2, 100);
        assert!(matches!(c.range, RangeRule::Lee(_)) && !c.leak_correction);
        assert!(!Rule::LEE.needs_calibration() && Rule::LEE_LEAK.needs_calibration());
    }
}
