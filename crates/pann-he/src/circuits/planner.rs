//! The bootstrap planner: where to bootstrap a network so that no level runs out, with as few bootstraps as
//! possible.
//!
//! A network is a list of [`Step`]s with the level costs of the cost model: one level per linear layer, and for
//! each ReLU site the depths of its composite sign's components (pann-approx's `cost::depth` of each odd
//! polynomial) plus one for the product `y·p(y)` — the costs `pann eval` reports. A bootstrap may go
//! - on a ReLU input, where the values are `y = z/B ∈ [−1, 1]` by the calibrated bounds (what EvalMod needs);
//! - between two components of a composite sign: a ReLU deeper than the levels a bootstrap leaves is split
//!   there, its input `y` kept at its own level for the final product. The values there are an intermediate
//!   sign approximation, not bounded by 1 (up to 1.4 at α = 7, measured), so that bootstrap is a wide one
//!   ([`super::Slots::bootstrap_wide`]: halved into EvalMod's `[−1, 1]`, doubled after, no level).
//!
//! A residual block forks its input: the shortcut (one linear layer) waits while the main branch runs, and the
//! addition lands on the lower of the two levels.
//!
//! The plan is exact, by dynamic programming over the states `(main level, shortcut level)` step by step (a few
//! hundred states for any CIFAR ResNet, at most 2^k choices per site of `k` components): for each state the
//! fewest bootstraps that reach it and the plan that does. Rules, the encrypted back end's: a linear layer needs
//! level ≥ 1, a component of depth `d` level ≥ `d`, the product level ≥ 1 (at the lower of `y` and `p`), a
//! bootstrap a level ≤ the bootstrapper's output level `R` (it returns `R`). The result is checked by running
//! the very program on [`super::mirror::MirrorSlots`].

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One step of a network's level walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A linear layer (convolution, head): one level.
    Linear,
    /// ReLU site `site`, whose composite sign has components of depths `parts` (the product adds one level).
    Relu {
        /// The site's index.
        site: usize,
        /// Depth of each component, first applied first.
        parts: Vec<usize>,
    },
    /// A residual block starts: the current vector is also the shortcut's input.
    Fork,
    /// The residual addition: the shortcut (one linear layer) is added at the lower level.
    Join,
}

/// Where one ReLU site bootstraps.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SitePlan {
    /// Bootstrap the ReLU's input.
    pub input: bool,
    /// Bootstrap after these components (`1..k`, increasing): the ReLU split.
    pub cuts: Vec<usize>,
}

impl SitePlan {
    /// Bootstraps at this site.
    pub fn count(&self) -> usize {
        usize::from(self.input) + self.cuts.len()
    }
}

/// A bootstrap plan: one [`SitePlan`] per ReLU site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Per site.
    pub sites: Vec<SitePlan>,
}

impl Plan {
    /// No bootstrap at any of `sites` sites.
    pub fn none(sites: usize) -> Self {
        Self {
            sites: vec![SitePlan::default(); sites],
        }
    }

    /// Bootstraps per image.
    pub fn count(&self) -> usize {
        self.sites.iter().map(SitePlan::count).sum()
    }
}

/// `(main level, shortcut level or −1)`.
type State = (i64, i64);

/// The level after ReLU site `parts` from `main` with the bootstraps of `sp` (`r` = the bootstrapped level).
pub fn relu_level(main: i64, parts: &[usize], sp: &SitePlan, r: i64) -> Option<i64> {
    let y = if sp.input {
        if main > r {
            return None;
        }
        r
    } else {
        main
    };
    let mut u = y;
    let mut start = 0;
    let ends: Vec<usize> = sp.cuts.iter().copied().chain([parts.len()]).collect();
    for (n, &end) in ends.iter().enumerate() {
        if end <= start || end > parts.len() {
            return None;
        }
        let d: i64 = parts[start..end].iter().sum::<usize>() as i64;
        if u < d {
            return None;
        }
        u -= d;
        if n + 1 < ends.len() {
            if u > r {
                return None;
            }
            u = r;
        }
        start = end;
    }
    let p = u.min(y);
    (p >= 1).then_some(p - 1)
}

fn apply(step: &Step, (main, short): State, sp: &SitePlan, r: i64) -> Option<State> {
    match step {
        Step::Linear => (main >= 1).then_some((main - 1, short)),
        Step::Fork => Some((main, main)),
        Step::Join => (short >= 1).then_some((main.min(short - 1), -1)),
        Step::Relu { parts, .. } => relu_level(main, parts, sp, r).map(|m| (m, short)),
    }
}

/// Walks `steps` from level `top` with the bootstraps of `plan` (bootstraps return `boot_level`): the level at
/// the end, or an error naming the step where the levels run out.
pub fn simulate(steps: &[Step], top: usize, boot_level: usize, plan: &Plan) -> Result<usize> {
    let mut state: State = (top as i64, -1);
    let none = SitePlan::default();
    for (k, step) in steps.iter().enumerate() {
        let sp = match step {
            Step::Relu { site, .. } => plan.sites.get(*site).unwrap_or(&none),
            _ => &none,
        };
        state = apply(step, state, sp, boot_level as i64).ok_or_else(|| {
            Error::Incompatible(format!(
                "the bootstrap plan runs out of levels at step {k} ({step:?}), level {}",
                state.0
            ))
        })?;
    }
    Ok(state.0 as usize)
}

/// Every choice at a site of `k` components: input bootstrap or not, and any set of cuts.
pub fn site_choices(k: usize) -> Vec<SitePlan> {
    let mut out = Vec::new();
    for input in [false, true] {
        for mask in 0u32..1 << k.saturating_sub(1) {
            let cuts = (1..k).filter(|c| mask >> (c - 1) & 1 == 1).collect();
            out.push(SitePlan { input, cuts });
        }
    }
    out
}

/// The fewest bootstraps that walk `steps` from level `top` (the fresh input) with bootstraps returning level
/// `boot_level`; among equal counts, the plan that bootstraps latest. An error if no plan exists (a component
/// deeper than `boot_level`).
pub fn plan(steps: &[Step], top: usize, boot_level: usize) -> Result<Plan> {
    let sites = steps.iter().filter(|s| matches!(s, Step::Relu { .. })).count();
    for s in steps {
        if let Step::Relu { site, parts } = s {
            if let Some(d) = parts.iter().find(|&&d| d + 1 > boot_level) {
                return Err(Error::Incompatible(format!(
                    "ReLU site {site} has a component of depth {d}: with its product it needs more than the \
                     {boot_level} levels a bootstrap leaves"
                )));
            }
        }
    }
    let r = boot_level as i64;
    let mut states: BTreeMap<State, Plan> = BTreeMap::new();
    states.insert((top as i64, -1), Plan::none(sites));
    let none = [SitePlan::default()];
    for step in steps {
        let mut next: BTreeMap<State, Plan> = BTreeMap::new();
        let choices = match step {
            Step::Relu { parts, .. } => site_choices(parts.len()),
            _ => none.to_vec(),
        };
        for (state, p) in &states {
            for sp in &choices {
                let Some(s) = apply(step, *state, sp, r) else { continue };
                let mut q = p.clone();
                if let Step::Relu { site, .. } = step {
                    q.sites[*site] = sp.clone();
                }
                if next.get(&s).is_none_or(|old| later_and_fewer(&q, old)) {
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
    Ok(states
        .into_values()
        .reduce(|a, b| if later_and_fewer(&b, &a) { b } else { a })
        .expect("nonempty"))
}

/// Whether plan `a` has fewer bootstraps than `b`, or as many placed later (compared from the last site back).
fn later_and_fewer(a: &Plan, b: &Plan) -> bool {
    if a.count() != b.count() {
        return a.count() < b.count();
    }
    let key = |p: &Plan| p.sites.iter().rev().map(SitePlan::count).collect::<Vec<_>>();
    key(a) > key(b)
}
