//! ReLU, pairwise max and max-pooling built on a composite sign approximation.
//!
//! - `ReLU(x) ≈ x·(1 + p(x/B))/2` on `[−B, B]`; its error is `B·2^-α` at most.
//! - `max(a, b) ≈ ((a + b) + (a − b)·p((a − b)/D))/2`, which equals `b + D·r((a − b)/D)` with
//!   `r(t) = t(1 + p(t))/2` the ReLU approximation on `[−1, 1]`; it needs `|a − b| ≤ D` and errs by `D·2^-α` at most.
//! - Max-pooling of a window of `n` values is a tree of pairwise maxima with `⌈log2 n⌉` levels (an odd element
//!   is carried up unchanged). **Input scaling:** if all inputs lie in `[−B, B]`, level `l` uses
//!   `D_l = 2·B_l` with `B_0 = B` and `B_{l+1} = B_l·(1 + 2^(1−α))`. The outputs of a level lie in
//!   `[−B_l − D_l·2^-α, B_l + D_l·2^-α] = [−B_{l+1}, B_{l+1}]`, so every pairwise difference of every level is inside
//!   `[−D_l, D_l]`, i.e. every argument of `p` is inside `[−1, 1]`, by construction and whatever the data.

use crate::error::{Error, Result};
use crate::sign::CompositeSign;
use serde::{Deserialize, Serialize};

/// Checks that `B` is a positive finite number.
pub fn check_bound(bound: f64) -> Result<f64> {
    if bound.is_finite() && bound > 0.0 {
        Ok(bound)
    } else {
        Err(Error::InvalidBound(bound))
    }
}

/// `x·(1 + p(x/B))/2`.
pub fn relu(sign: &CompositeSign, x: f64, bound: f64) -> f64 {
    x * (1.0 + sign.eval(x / bound)) / 2.0
}

/// `((a + b) + (a − b)·p((a − b)/D))/2`.
pub fn max2(sign: &CompositeSign, a: f64, b: f64, divisor: f64) -> f64 {
    let d = a - b;
    ((a + b) + d * sign.eval(d / divisor)) / 2.0
}

/// The divisors of each level of a max-pooling tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaxTree {
    /// Number of inputs in a window.
    pub window: usize,
    /// `D_l` for each level `l`, see the module doc.
    pub divisors: Vec<f64>,
}

impl MaxTree {
    /// The tree for windows of `window` values bounded by `B`, with a sign approximation of precision α.
    pub fn new(window: usize, bound: f64, alpha: u32) -> Result<Self> {
        check_bound(bound)?;
        if window < 2 {
            return Err(Error::InvalidArgument(format!(
                "a max-pooling window needs at least 2 values, not {window}"
            )));
        }
        let levels = (usize::BITS - (window - 1).leading_zeros()) as usize;
        let grow = 1.0 + (1.0 - alpha as f64).exp2();
        let divisors = (0..levels).map(|l| 2.0 * bound * grow.powi(l as i32)).collect();
        Ok(Self { window, divisors })
    }

    /// Levels of pairwise maxima (`⌈log2 window⌉`).
    pub fn levels(&self) -> usize {
        self.divisors.len()
    }

    /// Bound on the approximation error of the pooled value: `Σ_l D_l·2^-α`.
    pub fn error_bound(&self, alpha: u32) -> f64 {
        self.divisors.iter().sum::<f64>() * (-(alpha as f64)).exp2()
    }

    /// Multiplicative depth of the pooled value, given the sign depth.
    pub fn depth(&self, sign_depth: u32) -> u32 {
        self.levels() as u32 * (sign_depth + 1)
    }
}

/// The approximate maximum of `values` (a window of `tree.window` values in `[−B, B]`).
pub fn max_pool(sign: &CompositeSign, values: &[f64], tree: &MaxTree) -> f64 {
    let mut level: Vec<f64> = values.to_vec();
    for &d in &tree.divisors {
        if level.len() == 1 {
            break;
        }
        level = level
            .chunks(2)
            .map(|c| if c.len() == 2 { max2(sign, c[0], c[1], d) } else { c[0] })
            .collect();
    }
    level[0]
}
