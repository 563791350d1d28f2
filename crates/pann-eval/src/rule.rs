//! The named ways the analyses choose bounds: Lee et al.'s global `B`, per-layer calibrated bounds, or Lee's rule
//! per layer from the calibrated bounds (`lee-layers`), each with or without the mean-leak correction — an
//! [`EvalConfig`] preset with a name for CSV rows and a sentence for tables.
//!
//! [`RangeRule`] is how bounds are searched (with its parameters); a [`Rule`] picks one of them together with the
//! remedy, so that `pann analyze precision --rules lee,calibrate+leak,lee-layers` and the headline's columns name
//! the same settings the same way.

use crate::error::{Error, Result};
use crate::plan::ReluShift;
use crate::range::{LeeLayers, LeeSearch};
use crate::sweep::{EvalConfig, RangeRule};
use pann_nn::OverflowPolicy;
use std::fmt;
use std::str::FromStr;

/// Which bounds a [`Rule`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeKind {
    /// Lee et al.'s global B (from 50 in steps of 5).
    Lee,
    /// Per-layer calibrated bounds (the exact network's largest input times a margin).
    Calibrate,
    /// Lee's rule per layer from the calibrated bounds ([`crate::range::lee_layers`], default step ×1.1): no
    /// input of the approximate network on the evaluated data outside its bound.
    LeeLayers,
}

/// A range rule with or without the mean-leak correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// How the bounds are chosen.
    pub range: RangeKind,
    /// The mean-leak correction, measured on the calibration images.
    pub leak: bool,
}

impl Rule {
    /// Lee et al.'s global B.
    pub const LEE: Rule = Rule {
        range: RangeKind::Lee,
        leak: false,
    };
    /// Lee et al.'s global B with the mean-leak correction.
    pub const LEE_LEAK: Rule = Rule {
        range: RangeKind::Lee,
        leak: true,
    };
    /// Per-layer calibrated bounds.
    pub const CALIBRATE: Rule = Rule {
        range: RangeKind::Calibrate,
        leak: false,
    };
    /// Per-layer calibrated bounds with the mean-leak correction.
    pub const CALIBRATE_LEAK: Rule = Rule {
        range: RangeKind::Calibrate,
        leak: true,
    };
    /// Lee's rule per layer.
    pub const LEE_LAYERS: Rule = Rule {
        range: RangeKind::LeeLayers,
        leak: false,
    };
    /// Lee's rule per layer with the mean-leak correction.
    pub const LEE_LAYERS_LEAK: Rule = Rule {
        range: RangeKind::LeeLayers,
        leak: true,
    };

    const ALL: [Rule; 6] = [
        Rule::LEE,
        Rule::CALIBRATE,
        Rule::LEE_LEAK,
        Rule::CALIBRATE_LEAK,
        Rule::LEE_LAYERS,
        Rule::LEE_LAYERS_LEAK,
    ];

    /// The rule's name, as `--rules` takes it and the CSV rows show it.
    pub fn name(&self) -> &'static str {
        match (self.range, self.leak) {
            (RangeKind::Lee, false) => "lee",
            (RangeKind::Calibrate, false) => "calibrate",
            (RangeKind::LeeLayers, false) => "lee-layers",
            (RangeKind::Lee, true) => "lee+leak",
            (RangeKind::Calibrate, true) => "calibrate+leak",
            (RangeKind::LeeLayers, true) => "lee-layers+leak",
        }
    }

    /// The rule in words, for tables.
    pub fn describe(&self) -> &'static str {
        match (self.range, self.leak) {
            (RangeKind::Lee, false) => "Lee's global B (from 50 in steps of 5)",
            (RangeKind::Calibrate, false) => {
                "per-layer calibrated B (1.1 × the largest input on the calibration images)"
            }
            (RangeKind::LeeLayers, false) => {
                "Lee's rule per layer (from the calibrated B, ×1.1 steps until no input on the evaluated images \
                 leaves its bound)"
            }
            (RangeKind::Lee, true) => "Lee's global B with the mean-leak correction (`pann eval --leak-correction`)",
            (RangeKind::Calibrate, true) => "per-layer calibrated B with the mean-leak correction",
            (RangeKind::LeeLayers, true) => "Lee's rule per layer with the mean-leak correction",
        }
    }

    /// Whether the rule needs calibration images (calibrated bounds or the correction).
    pub fn needs_calibration(&self) -> bool {
        self.range != RangeKind::Lee || self.leak
    }

    /// The evaluation at `alphas` under this rule: Lee's default search, calibrated bounds with `margin`, or
    /// Lee's rule per layer from them (step ×1.1); overflows counted, no ReLU shift, one correction pass.
    pub fn config(&self, alphas: Vec<u32>, margin: f64, batch: usize) -> EvalConfig {
        EvalConfig {
            alphas,
            range: match self.range {
                RangeKind::Lee => RangeRule::Lee(LeeSearch::default()),
                RangeKind::Calibrate => RangeRule::Calibrate { margin },
                RangeKind::LeeLayers => RangeRule::LeeLayers(LeeLayers {
                    margin,
                    ..LeeLayers::default()
                }),
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
        Rule::ALL.into_iter().find(|r| r.name() == s.trim()).ok_or_else(|| {
            Error::Invalid(format!(
                "'{}' is not one of lee, calibrate, lee-layers, lee+leak, calibrate+leak, lee-layers+leak",
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
        let r = Rule::parse_list("lee, calibrate+leak,lee,lee-layers+leak").unwrap();
        assert_eq!(
            r.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ["lee", "calibrate+leak", "lee-layers+leak"]
        );
        assert!(Rule::parse_list("lee,clamp")
            .unwrap_err()
            .to_string()
            .contains("'clamp'"));
        for r in Rule::ALL {
            assert_eq!(r.name().parse::<Rule>().unwrap(), r);
        }
    }

    #[test]
    fn configs_follow_the_rule() {
        let c = Rule::CALIBRATE_LEAK.config(vec![9], 1.2, 100);
        assert!(matches!(c.range, RangeRule::Calibrate { margin } if margin == 1.2));
        assert!(c.leak_correction && c.leak_iterations == 1);
        let c = Rule::LEE.config(vec![9], 1.2, 100);
        assert!(matches!(c.range, RangeRule::Lee(_)) && !c.leak_correction);
        assert!(!Rule::LEE.needs_calibration() && Rule::LEE_LEAK.needs_calibration());
        let c = Rule::LEE_LAYERS.config(vec![9], 1.2, 100);
        assert!(matches!(c.range, RangeRule::LeeLayers(r) if r.margin == 1.2));
        assert!(Rule::LEE_LAYERS.needs_calibration() && c.range.calibrates());
    }
}
