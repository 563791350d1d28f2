//! The bootstrap planner: where to bootstrap a network so that no level runs out, with as few bootstraps as
//! possible.
//!
//! A network is a list of [`Step`]s with the level costs of the cost model (pann-approx's ReLU depth
//! `relu_depth` per site, one level per linear layer — the costs `pann eval` reports). Bootstraps go on ReLU
//! inputs only: there the values are `z/B ∈ [−1, 1]` by the calibrated bounds, which is what EvalMod needs. A
//! residual block forks its input: the shortcut (one linear layer) waits while the main branch runs, and the
//! addition lands on the lower of the two levels.
//!
//! The plan is exact, by dynamic programming over the states `(main level, shortcut level)` step by step (a few
//! hundred states for any CIFAR ResNet): for each state the fewest bootstraps that reach it and the plan that
//! does. Rules, the encrypted back end's: a linear layer needs level ≥ 1, a ReLU of depth `r` level ≥ `r`, a
//! bootstrap a level ≤ the bootstrapper's output level `R` (it returns `R`). The result is checked by running
//! the very program on [`super::mirror::MirrorSlots`].

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One step of a network's level walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A linear layer (convolution, head): one level.
    Linear,
    /// ReLU site `site` of depth `depth`; a bootstrap may go before it.
    Relu {
        /// The site's index.
        site: usize,
        /// Its depth (levels).
        depth: usize,
    },
    /// A residual block starts: the current vector is also the shortcut's input.
    Fork,
    /// The residual addition: the shortcut (one linear layer) is added at the lower level.
    Join,
}

/// A bootstrap plan: one flag per ReLU site (bootstrap its input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// `true`: bootstrap before the site's ReLU.
    pub bootstrap: Vec<bool>,
}

impl Plan {
    /// Bootstraps per image.
    pub fn count(&self) -> usize {
        self.bootstrap.iter().filter(|&&b| b).count()
    }
}

/// `(main level, shortcut level or −1)`.
type State = (i64, i64);

/// Walks `steps` from level `top` with the bootstraps of `plan` (`R = boot_level`): the level at the end, or
/// the first step that runs out of levels.
pub fn simulate(steps: &[Step], top: usize, boot_level: usize, plan: &[bool]) -> Result<usize> {
    let mut state: State = (top as i64, -1);
    for (k, step) in steps.iter().enumerate() {
        let boot = match step {
            Step::Relu { site, .. } => plan.get(*site).copied().unwrap_or(false),
            _ => false,
        };
        state = apply(*step, state, boot, boot_level as i64).ok_or_else(|| Error::LevelExhausted {
            op: "bootstrap plan",
            needed: k,
            level: state.0.max(0) as usize,
        })?;
    }
    Ok(state.0 as usize)
}

fn apply(step: Step, (main, short): State, boot: bool, r: i64) -> Option<State> {
    match step {
        Step::Linear => (main >= 1).then_some((main - 1, short)),
        Step::Fork => Some((main, main)),
        Step::Join => (short >= 1).then_some((main.min(short - 1), -1)),
        Step::Relu { depth, .. } => {
            let main = if boot {
                if main > r {
                    return None;
                }
                r
            } else {
                main
            };
            (main >= depth as i64).then_some((main - depth as i64, short))
        }
    }
}

/// The fewest bootstraps that walk `steps` from level `top` (the fresh input) with bootstraps returning level
/// `boot_level`; among equal counts, the plan that bootstraps latest. An error if no plan exists (a ReLU
/// deeper than `boot_level`).
pub fn plan(steps: &[Step], top: usize, boot_level: usize) -> Result<Plan> {
    let sites = steps.iter().filter(|s| matches!(s, Step::Relu { .. })).count();
    if let Some(Step::Relu { site, depth }) = steps
        .iter()
        .find(|s| matches!(s, Step::Relu { depth, .. } if *depth > boot_level))
    {
        return Err(Error::Incompatible(format!(
            "ReLU site {site} has depth {depth}, more than the {boot_level} levels a bootstrap leaves"
        )));
    }
    let r = boot_level as i64;
    let mut states: BTreeMap<State, Vec<bool>> = BTreeMap::new();
    states.insert((top as i64, -1), vec![false; sites]);
    for step in steps {
        let mut next: BTreeMap<State, Vec<bool>> = BTreeMap::new();
        for (state, p) in &states {
            let choices: &[bool] = if matches!(step, Step::Relu { .. }) {
                &[false, true]
            } else {
                &[false]
            };
            for &boot in choices {
                let Some(s) = apply(*step, *state, boot, r) else {
                    continue;
                };
                let mut q = p.clone();
                if let (true, Step::Relu { site, .. }) = (boot, step) {
                    q[*site] = true;
                }
                let better = match next.get(&s) {
                    None => true,
                    Some(old) => later_and_fewer(&q, old),
                };
                if better {
                    next.insert(s, q);
                }
            }
        }
        if next.is_empty() {
            return Err(Error::Incompatible(format!(
                "no bootstrap plan: the levels run out at {step:?} (top level {top}, bootstraps leave {boot_level})"
            )));
        }
        states = next;
    }
    let best = states
        .into_values()
        .reduce(|a, b| if later_and_fewer(&b, &a) { b } else { a })
        .expect("nonempty");
    Ok(Plan { bootstrap: best })
}

/// Whether plan `a` has fewer bootstraps than `b`, or as many placed later (compared from the last site back).
fn later_and_fewer(a: &[bool], b: &[bool]) -> bool {
    let (ca, cb) = (a.iter().filter(|&&x| x).count(), b.iter().filter(|&&x| x).count());
    if ca != cb {
        return ca < cb;
    }
    // Lexicographically by the reversed flags: a later bootstrap keeps levels for longer.
    a.iter().rev().cmp(b.iter().rev()) == std::cmp::Ordering::Greater
}
