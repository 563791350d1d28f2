//! Independent error certificate of a composite sign approximation.
//!
//! The Remez exchange reports the error of each component on its own interval; the certificate re-measures the
//! *composite* exactly as it will be used — power-basis coefficients evaluated in `f64` — by dense sampling and
//! local refinement, without using anything the exchange computed besides the coefficients. The grid has three
//! parts: log-spaced points on `[1e-12, 1]` (the transition region of ReLU and sign), and on the design interval
//! `[ε, 1]` half log-spaced and half Chebyshev-spaced points, 32 per expected extremum (a composite of degrees
//! `d_i` has up to `Π (d_i+1)/2` extrema there), between 2^14 and 2^21 of them. The 64 largest sampled local
//! maxima of each error are then refined by golden-section search between their neighbours.

use crate::composite::{eval_odd_power, OddChebyshev};
use crate::golden::golden_max;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Measured errors of `p ≈ sign` and `x(1+p)/2 ≈ ReLU`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Certificate {
    /// `max |p(x) − sign(x)|` over `[−1, −ε_design] ∪ [ε_design, 1]`.
    pub max_sign_error: f64,
    /// `max |x(1 + p(x))/2 − ReLU(x)|` over `[−1, 1]`.
    pub max_relu_error: f64,
    /// Where the ReLU error is largest (its mirror image errs equally).
    pub argmax_relu_error: f64,
    /// Smallest `x₀` with `|p(x) − sign(x)| ≤ sign_bound` for all `x₀ ≤ |x| ≤ 1`.
    pub epsilon: f64,
    /// The sign error bound `epsilon` refers to (`2^(1−α)`).
    pub sign_bound: f64,
    /// Number of sample points.
    pub samples: usize,
    /// `max_relu_error` when the composite is evaluated from its power-basis coefficients in `f64` (Horner) instead
    /// of its Chebyshev form: what a user of the published power-basis coefficients gets.
    pub max_relu_error_power_basis: f64,
}

/// `p_k(… p_1(x))` in Chebyshev form.
#[inline]
pub fn eval_composite(components: &[OddChebyshev], x: f64) -> f64 {
    components.iter().fold(x, |y, c| c.eval(y))
}

/// `p_k(… p_1(x))` from power-basis coefficients (Horner in `f64`).
#[inline]
pub fn eval_composite_power(components: &[Vec<f64>], x: f64) -> f64 {
    components.iter().fold(x, |y, c| eval_odd_power(c, y))
}

/// Certifies the composite given in Chebyshev form (`components`) and, for the power-basis column, in power form.
pub fn certify(components: &[OddChebyshev], power: &[Vec<f64>], design_epsilon: f64, sign_bound: f64) -> Certificate {
    let sign_err = |x: f64| (eval_composite(components, x) - 1.0).abs();
    let relu_err = |x: f64| x * (1.0 - eval_composite(components, x)).abs() / 2.0;

    let extrema: f64 = components.iter().map(|c| c.coefficients.len() as f64).product();
    let n_design = ((32.0 * extrema) as usize).clamp(1 << 14, 1 << 18);
    let mut xs: Vec<f64> = Vec::with_capacity(n_design + 8192);
    log_spaced(1e-12, 1.0, 8192, &mut xs);
    log_spaced(design_epsilon, 1.0, n_design / 2, &mut xs);
    for i in 0..n_design / 2 {
        let s = (1.0 - (std::f64::consts::PI * i as f64 / (n_design / 2 - 1) as f64).cos()) / 2.0;
        xs.push(design_epsilon + (1.0 - design_epsilon) * s);
    }
    xs.push(design_epsilon);
    xs.push(1.0);
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let ps: Vec<f64> = xs.par_iter().map(|&x| eval_composite(components, x)).collect();

    let relu: Vec<f64> = xs.iter().zip(&ps).map(|(x, p)| x * (1.0 - p).abs() / 2.0).collect();
    let (max_relu_error, argmax_relu_error) = refined_max(&xs, &relu, relu_err, 0);
    let first_design = xs.partition_point(|&x| x < design_epsilon);
    let sign: Vec<f64> = ps.iter().map(|p| (p - 1.0).abs()).collect();
    let (max_sign_error, _) = refined_max(&xs, &sign, sign_err, first_design);

    // ε: just right of the last sample that violates the bound, located by bisection.
    let epsilon = match (0..xs.len()).rev().find(|&j| sign[j] > sign_bound) {
        None => xs[0],
        Some(j) if j + 1 == xs.len() => 1.0,
        Some(j) => {
            let (mut lo, mut hi) = (xs[j], xs[j + 1]);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if sign_err(mid) > sign_bound {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi
        }
    };
    let relu_power: Vec<f64> = xs
        .par_iter()
        .map(|&x| x * (1.0 - eval_composite_power(power, x)).abs() / 2.0)
        .collect();
    let (max_relu_error_power_basis, _) = refined_max(
        &xs,
        &relu_power,
        |x| x * (1.0 - eval_composite_power(power, x)).abs() / 2.0,
        0,
    );
    Certificate {
        max_sign_error,
        max_relu_error,
        argmax_relu_error,
        epsilon,
        sign_bound,
        samples: xs.len(),
        max_relu_error_power_basis,
    }
}

/// A quick estimate of the ReLU error below `ε` (512 log-spaced samples on `[1e-12·ε, ε]`, the 8 largest peaks
/// refined): the part of the error the design does not control. Used to reject candidates before certifying.
pub fn relu_error_below(components: &[OddChebyshev], epsilon: f64) -> f64 {
    let mut xs = Vec::with_capacity(512);
    log_spaced(1e-12 * epsilon, epsilon, 512, &mut xs);
    let err = |x: f64| x * (1.0 - eval_composite(components, x)).abs() / 2.0;
    let vals: Vec<f64> = xs.iter().map(|&x| err(x)).collect();
    let n = xs.len();
    let mut peaks: Vec<usize> = (1..n - 1)
        .filter(|&j| vals[j] >= vals[j - 1] && vals[j] >= vals[j + 1])
        .collect();
    peaks.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
    peaks.truncate(8);
    peaks
        .iter()
        .map(|&j| golden_max(&err, xs[j - 1], xs[j + 1], 40).1)
        .fold(vals[n - 1].max(vals[0]), f64::max)
}

fn log_spaced(lo: f64, hi: f64, n: usize, out: &mut Vec<f64>) {
    let (a, b) = (lo.ln(), hi.ln());
    out.extend((0..n).map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp()));
}

/// Largest value of `err` over samples `from..`, with the 64 largest local maxima refined.
fn refined_max(xs: &[f64], vals: &[f64], err: impl Fn(f64) -> f64 + Sync, from: usize) -> (f64, f64) {
    let n = xs.len();
    let mut peaks: Vec<usize> = (from..n)
        .filter(|&j| (j == from || vals[j] >= vals[j - 1]) && (j + 1 == n || vals[j] >= vals[j + 1]))
        .collect();
    peaks.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
    peaks.truncate(64);
    peaks
        .par_iter()
        .map(|&j| {
            let lo = xs[j.saturating_sub(1).max(from)];
            let hi = xs[(j + 1).min(n - 1)];
            let (x, v) = golden_max(&err, lo, hi, 80);
            if v > vals[j] {
                (v, x)
            } else {
                (vals[j], xs[j])
            }
        })
        .reduce(|| (0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
}
