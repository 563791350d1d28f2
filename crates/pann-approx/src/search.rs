//! Degree search: the cheapest composite for precision α, by minimal multiplicative depth, then minimal number of
//! non-scalar multiplications (Lee et al.'s rule), over odd component degrees up to 31.
//!
//! - Only degrees on the cost Pareto front ([`cost::pareto_degrees`]: 3, 5, 7, 9, 11, 13, 15, 19, 23, 27, 29, 31
//!   under the depth-optimal plans of [`crate::bsgs`]) can be optimal: the minimax error falls with the degree.
//! - Lists are screened with tables of the one-parameter function `E_d(τ)`, the minimax error of degree `d` for
//!   `sign` on `[τ, 1]` (the chain `τ ↦ (1 − E_d(τ))/(1 + E_d(τ))` of [`crate::composite`]), tabulated lazily on a
//!   grid in `u = log2(τ/(1−τ))` and interpolated cubically in `log2 E`.
//! - Below `ε` the ReLU error `x·|1 − p(x)|/2` peaks at about `0.072·ε` for every composite of this construction
//!   (measured for all Pareto lists of up to four components, α = 4..14: 0.0717 to 0.099). A list can therefore
//!   only reach α if its sign error at `ε* = 2^-α / 0.07` is already below `2^(1−α)`; that single table chain per
//!   list, run depth-first so that lists sharing a prefix share the work, is the screen.
//! - In order of (depth, multiplications, table ε) the surviving lists are designed for real, their ReLU error
//!   below `ε` estimated quickly, and the first that passes and whose full certificate meets `2^-α` is the answer.

use crate::certify::relu_error_below;
use crate::composite::sign_minimax;
use crate::composite::Component;
use crate::cost;
use crate::error::{Error, Result};
use crate::remez::RemezConfig;
use crate::sign::{certified, check_alpha, design_components, relu_bound, CompositeSign};

/// Limits of the degree search.
#[derive(Clone, Debug)]
pub struct SearchConfig {
    /// Largest component degree.
    pub max_degree: usize,
    /// Largest number of components.
    pub max_components: usize,
    /// Largest total depth tried.
    pub max_depth: u32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            max_degree: 31,
            max_components: 6,
            max_depth: 48,
        }
    }
}

const U_STEP: f64 = 0.25;
const U_MIN: f64 = -46.0;
const U_MAX: f64 = 33.0;
const GRID: usize = ((U_MAX - U_MIN) / U_STEP) as usize + 4;
/// Lower bound of (ReLU error below ε) / ε, see the module doc.
const S_OVER_EPS_FLOOR: f64 = 0.07;

/// A tabulated `log2 E_d(τ)` with the Remez reference (as fractions of `[τ, 1]`) that produced it.
type GridPoint = Option<(f64, Vec<f64>)>;

/// Lazily tabulated `log2 E_d(τ)` on a grid in `u = log2(τ/(1−τ))`.
#[derive(Default)]
pub struct ErrorTables {
    degrees: Vec<usize>,
    values: Vec<Vec<GridPoint>>,
    /// Remez runs spent filling the tables.
    pub remez_runs: usize,
}

impl ErrorTables {
    fn slot(&mut self, d: usize) -> usize {
        match self.degrees.iter().position(|&e| e == d) {
            Some(i) => i,
            None => {
                self.degrees.push(d);
                self.values.push(vec![None; GRID]);
                self.degrees.len() - 1
            }
        }
    }

    fn grid_value(&mut self, slot: usize, k: usize) -> f64 {
        if let Some(v) = &self.values[slot][k] {
            return v.0;
        }
        let u = U_MIN + (k as f64 - 1.0) * U_STEP;
        let tau = 1.0 / (1.0 + (-u).exp2());
        let row = &self.values[slot];
        let warm = [k.wrapping_sub(1), k + 1]
            .iter()
            .find_map(|&j| row.get(j).and_then(|v| v.as_ref()))
            .map(|v| v.1.clone());
        let cfg = RemezConfig {
            tolerance: 1e-6,
            ..Default::default()
        };
        let d = self.degrees[slot];
        let (_, rep, tau) = sign_minimax(d, tau, &cfg, warm.as_deref()).expect("valid odd problem");
        self.remez_runs += 1;
        let fr = rep.reference.iter().map(|x| (x - tau) / (1.0 - tau)).collect();
        let v = rep.max_error.max(1e-300).log2();
        self.values[slot][k] = Some((v, fr));
        v
    }

    /// Interpolated `log2 E_d` at `u`.
    pub fn log2_error(&mut self, d: usize, u: f64) -> f64 {
        let slot = self.slot(d);
        let x = (u.clamp(U_MIN, U_MAX) - U_MIN) / U_STEP + 1.0;
        let k = (x.floor() as usize).clamp(1, GRID - 3);
        let t = x - k as f64;
        let y = [
            self.grid_value(slot, k - 1),
            self.grid_value(slot, k),
            self.grid_value(slot, k + 1),
            self.grid_value(slot, k + 2),
        ];
        // Cubic Lagrange through k−1, k, k+1, k+2.
        let w = [
            -t * (t - 1.0) * (t - 2.0) / 6.0,
            (t + 1.0) * (t - 1.0) * (t - 2.0) / 2.0,
            -(t + 1.0) * t * (t - 2.0) / 2.0,
            (t + 1.0) * t * (t - 1.0) / 6.0,
        ];
        y.iter().zip(w).map(|(a, b)| a * b).sum()
    }

    /// One table step: `(log2 δ, u')` after a component of degree `d` applied at `u`.
    fn step(&mut self, d: usize, u: f64) -> (f64, f64) {
        let l = self.log2_error(d, u);
        let delta = l.exp2();
        (l, (1.0 - delta).max(1e-300).log2() - 1.0 - l)
    }

    /// Table estimate of `log2 δ_k` for `degrees` starting at `ε = 2^s`.
    pub fn chain_log2_error(&mut self, degrees: &[usize], s: f64) -> f64 {
        let mut u = u_of_log2_eps(s);
        let mut l = 0.0;
        for &d in degrees {
            (l, u) = self.step(d, u);
        }
        l
    }

    /// Table estimate of `log2 ε` at which `degrees` reach final sign error `target`, searched below `s_hi` (where
    /// the list is known to reach it) in windows of 4 so that only table entries near the answer are filled.
    pub fn log2_epsilon(&mut self, degrees: &[usize], target: f64, s_hi: f64) -> Option<f64> {
        let lt = target.log2();
        let mut b = s_hi;
        if self.chain_log2_error(degrees, b) > lt {
            return None;
        }
        let mut a = b - 4.0;
        while self.chain_log2_error(degrees, a) <= lt {
            if a <= U_MIN + 1.0 {
                return Some(a);
            }
            b = a;
            a = (a - 4.0).max(U_MIN + 1.0);
        }
        while b - a > 1e-3 {
            let m = 0.5 * (a + b);
            if self.chain_log2_error(degrees, m) <= lt {
                b = m;
            } else {
                a = m;
            }
        }
        Some(b)
    }
}

fn u_of_log2_eps(s: f64) -> f64 {
    s - (1.0 - s.exp2()).log2()
}

/// Lists of `pool` degrees with total depth exactly `depth` and at most `max_len` entries whose table chain from
/// `u0` ends with `log2 δ ≤ lt`, found depth-first so that common prefixes are evaluated once.
fn screened_lists(
    tables: &mut ErrorTables,
    pool: &[usize],
    depth: u32,
    max_len: usize,
    u0: f64,
    lt: f64,
) -> Vec<Vec<usize>> {
    struct Walk<'a> {
        tables: &'a mut ErrorTables,
        pool: &'a [usize],
        max_len: usize,
        lt: f64,
        cur: Vec<usize>,
        out: Vec<Vec<usize>>,
    }
    fn rec(w: &mut Walk, left: u32, u: f64, l: f64) {
        if left == 0 {
            if l <= w.lt {
                w.out.push(w.cur.clone());
            }
            return;
        }
        // A prefix that already reaches the target had less depth and was tried before; so was a full list.
        if w.cur.len() == w.max_len || (!w.cur.is_empty() && l <= w.lt) {
            return;
        }
        for i in 0..w.pool.len() {
            let d = w.pool[i];
            let t = cost::depth(d);
            if t <= left {
                let (l2, u2) = w.tables.step(d, u);
                w.cur.push(d);
                rec(w, left - t, u2, l2);
                w.cur.pop();
            }
        }
    }
    let mut w = Walk {
        tables,
        pool,
        max_len,
        lt,
        cur: Vec::new(),
        out: Vec::new(),
    };
    rec(&mut w, depth, u0, 0.0);
    w.out
}

/// The cheapest certified composite for α (see the module doc).
pub fn cheapest_for_alpha(alpha: u32, config: &SearchConfig) -> Result<CompositeSign> {
    cheapest_with_tables(alpha, config, &mut ErrorTables::default())
}

/// [`cheapest_for_alpha`] sharing `tables` across calls (e.g. over a range of α).
pub fn cheapest_with_tables(alpha: u32, config: &SearchConfig, tables: &mut ErrorTables) -> Result<CompositeSign> {
    check_alpha(alpha as i64)?;
    let pool = cost::pareto_degrees(config.max_degree);
    let bound = relu_bound(alpha);
    let target = 2.0 * bound;
    let s_star = (bound / S_OVER_EPS_FLOOR).log2().min(-1.0);
    for depth in 1..=config.max_depth {
        let lists = screened_lists(
            tables,
            &pool,
            depth,
            config.max_components,
            u_of_log2_eps(s_star),
            target.log2(),
        );
        let mut by_cost: Vec<(usize, Vec<usize>)> = lists.into_iter().map(|l| (cost_of(&l), l)).collect();
        by_cost.sort_by_key(|c| c.0);
        for group in by_cost.chunk_by(|a, b| a.0 == b.0) {
            let mut cands: Vec<(f64, &Vec<usize>)> = group
                .iter()
                .filter_map(|(_, l)| tables.log2_epsilon(l, target, s_star).map(|s| (s, l)))
                .collect();
            cands.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (s, degrees) in cands {
                let (eps, comps) = design_components(alpha, degrees, Some(s))?;
                let cheb: Vec<_> = comps.iter().map(|c| c.chebyshev.clone()).collect();
                if relu_error_below(&cheb, eps) > bound || last_component_error(&comps) > target {
                    continue;
                }
                let c = certified(alpha, degrees, eps, comps);
                if c.certificate.max_relu_error <= bound && c.certificate.max_sign_error <= target {
                    return Ok(c);
                }
            }
        }
    }
    Err(Error::Unreachable {
        alpha,
        max_degree: config.max_degree,
        max_components: config.max_components,
    })
}

fn cost_of(degrees: &[usize]) -> usize {
    degrees.iter().map(|&d| cost::nonscalar_mults(d)).sum()
}

/// Sign error of the last component alone, evaluated as pann evaluates it, over its input range
/// `[1 − δ_{k−1}, 1 + δ_{k−1}]`: a cheap check before the full certificate.
fn last_component_error(comps: &[Component]) -> f64 {
    let Some(last) = comps.last() else { return f64::INFINITY };
    let prev = comps.len().checked_sub(2).map(|i| comps[i].error).unwrap_or(1.0);
    let (lo, hi) = if comps.len() == 1 {
        (0.0, 1.0)
    } else {
        (1.0 - prev, 1.0 + prev)
    };
    (0..=4096)
        .map(|i| lo + (hi - lo) * i as f64 / 4096.0)
        .filter(|&y| y > 0.0)
        .map(|y| (last.eval(y) - 1.0).abs())
        .filter(|_| comps.len() > 1)
        .fold(0.0, f64::max)
}
