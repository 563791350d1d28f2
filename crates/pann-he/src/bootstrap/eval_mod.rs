//! EvalMod: removes the multiple of `q_0` that ModRaise added, slot by slot.
//!
//! After CoeffsToSlots a slot holds `x = t/(K·q_0)` with `t = Δ'·m + q_0·I`, `|I| < K`. Since
//! `sin(2π·t/q_0) = sin(2π·Δ'm/q_0) ≈ 2π·Δ'm/q_0` (relative error `(2πΔ'm/q_0)²/6`), the message is
//! `m ≈ q_0/(2πΔ') · sin(2πKx)`. The sine is reached through the cosine and `r` double angles (Han–Ki 2020):
//! `y_0 = cos(2π(Kx − 1/4)/2^r)` by a Chebyshev interpolant on `[−1, 1]`, then `y_(k+1) = 2y_k² − 1`, so
//! `y_r = cos(2πKx − π/2) = sin(2πKx)`. The factor `q_0/(2πΔ')` costs nothing: it is folded into the recorded
//! scale of the result.
//!
//! Scales: the double angle squares the scale and divides by one prime, `S_(k+1) = S_k²/q_(ℓ_k)`; the
//! Chebyshev evaluation is asked for the exact `S_0` (computed backwards from the wanted `S_r`), so the chain
//! lands on `S_r` exactly and every addition is at equal scales.

use super::params::BootstrapParameters;
use crate::circuits::poly_eval::{chebyshev_interpolant, eval_chebyshev, ChebyshevPlan};
use crate::ckks::{Ciphertext, Evaluator};
use crate::error::{Error, Result};

/// EvalMod's polynomial and scale plan.
#[derive(Clone, Debug)]
pub struct EvalMod {
    coeffs: Vec<f64>,
    double_angle: u32,
    depth: usize,
    out_scale: f64,
}

impl EvalMod {
    /// The interpolant for `p`; results at scale `out_scale`.
    pub fn new(p: &BootstrapParameters, out_scale: f64) -> Self {
        let (k, r) = (p.k, p.double_angle);
        let f = move |x: f64| (2.0 * std::f64::consts::PI * (k * x - 0.25) / 2f64.powi(r as i32)).cos();
        Self {
            coeffs: chebyshev_interpolant(f, p.cos_degree),
            double_angle: r,
            depth: ChebyshevPlan::new(p.cos_degree).depth() + r as usize,
            out_scale,
        }
    }

    /// Levels consumed.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// `sin(2πK·x)` for `x` in `[−1, 1]`, at exactly `out_scale`, [`Self::depth`] levels below `x`.
    pub fn apply(&self, eval: &Evaluator, x: &Ciphertext) -> Result<Ciphertext> {
        if x.level() < self.depth {
            return Err(Error::LevelExhausted {
                op: "EvalMod",
                needed: self.depth,
                level: x.level(),
            });
        }
        let q = eval.params().q();
        let out_level = x.level() - self.depth;
        // Backwards: y_k sits at level out_level + (r − k); its square is rescaled by that level's prime.
        let r = self.double_angle as usize;
        let mut s = self.out_scale;
        for k in (0..r).rev() {
            s = (s * q[out_level + r - k] as f64).sqrt();
        }
        let mut y = eval_chebyshev(eval, x, &self.coeffs, s)?;
        for _ in 0..r {
            let mut sq = eval.mul_rescale(&y, &y)?;
            sq = eval.mul_integer(&sq, 2);
            y = eval.add_const(&sq, -1.0)?;
        }
        y.set_scale(self.out_scale)?;
        Ok(y)
    }
}
