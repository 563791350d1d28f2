//! [`CompositeSign`]: a certified composite approximation of `sign` for a precision `2^-α` or a degree list.
//!
//! Design rule for a degree list and α: take the smallest `ε` at which the composite's sign error on `[ε, 1]` is
//! `2^(1−α)` (just under). The ReLU error `x·|1 − p(x)|/2` is then at most `2^-α` on `[ε, 1]`, and below `ε` it is
//! what it is: the list reaches α when the certificate shows it under `2^-α` there too. Taking `ε` any larger would
//! only raise the error below `ε`, any smaller would break the bound near 1, so this `ε` decides feasibility.

use crate::certify::{certify, Certificate};
use crate::composite::{chain, sign_depth, sign_mults, validate_degrees, Component, WarmStart};
use crate::error::{Error, Result};
use crate::remez::RemezConfig;
use crate::{ALPHA_MAX, ALPHA_MIN};
use serde::{Deserialize, Serialize};

/// Relative margin kept below `2^(1−α)` when designing, so that the independently measured error stays under it.
const DESIGN_MARGIN: f64 = 1e-4;
/// Range of `log2 ε` searched.
const LOG2_EPS_RANGE: (f64, f64) = (-45.0, -1.0);

/// A composite polynomial approximation of `sign(x)` on `[−1, 1]` with its certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompositeSign {
    /// The precision α the composite was designed for (ReLU error ≤ `2^-α`).
    pub alpha: u32,
    /// Component degrees, first applied first.
    pub degrees: Vec<usize>,
    /// The `ε` of the design (left end of the first component's interval).
    pub design_epsilon: f64,
    /// The components.
    pub components: Vec<Component>,
    /// Independently measured errors.
    pub certificate: Certificate,
}

/// Checks that α is in the supported range.
pub fn check_alpha(alpha: i64) -> Result<u32> {
    if alpha < ALPHA_MIN as i64 || alpha > ALPHA_MAX as i64 {
        return Err(Error::AlphaOutOfRange(alpha));
    }
    Ok(alpha as u32)
}

impl CompositeSign {
    /// The cheapest composite for precision α (see [`crate::search`]).
    pub fn for_alpha(alpha: u32) -> Result<Self> {
        crate::search::cheapest_for_alpha(alpha, &crate::search::SearchConfig::default())
    }

    /// The composite with the given degrees designed for precision α; an error if they cannot reach it.
    pub fn with_degrees(alpha: u32, degrees: &[usize]) -> Result<Self> {
        check_alpha(alpha as i64)?;
        validate_degrees(degrees)?;
        let s = design(alpha, degrees)?;
        if s.certificate.max_relu_error > relu_bound(alpha) {
            return Err(Error::DegreesTooLow {
                degrees: degrees.to_vec(),
                alpha,
                best_log2: s.certificate.max_relu_error.log2(),
            });
        }
        Ok(s)
    }

    /// `p(x)`.
    pub fn eval(&self, x: f64) -> f64 {
        self.components.iter().fold(x, |y, c| c.eval(y))
    }

    /// Power-basis coefficients of each component, first applied first.
    pub fn coefficient_lists(&self) -> Vec<Vec<f64>> {
        self.components.iter().map(|c| c.coefficients.clone()).collect()
    }

    /// Multiplicative depth of `p`.
    pub fn depth(&self) -> u32 {
        sign_depth(&self.degrees)
    }

    /// Multiplicative depth of `x·(1 + p(x))/2`.
    pub fn relu_depth(&self) -> u32 {
        self.depth() + 1
    }

    /// Non-scalar multiplications of `p`.
    pub fn nonscalar_mults(&self) -> usize {
        sign_mults(&self.degrees)
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
}

/// `2^-α`.
pub fn relu_bound(alpha: u32) -> f64 {
    (-(alpha as f64)).exp2()
}

/// Designs the composite for `degrees` at precision α (smallest ε with sign error `2^(1−α)`) and certifies it,
/// whether or not it reaches α.
pub fn design(alpha: u32, degrees: &[usize]) -> Result<CompositeSign> {
    design_in(alpha, degrees, None)
}

/// [`design`] with an estimate of `log2 ε` to bracket the search around.
pub fn design_in(alpha: u32, degrees: &[usize], log2_eps_hint: Option<f64>) -> Result<CompositeSign> {
    let (epsilon, components) = design_components(alpha, degrees, log2_eps_hint)?;
    Ok(certified(alpha, degrees, epsilon, components))
}

/// The components of the design for α (no certificate yet) and its `ε`.
pub fn design_components(alpha: u32, degrees: &[usize], log2_eps_hint: Option<f64>) -> Result<(f64, Vec<Component>)> {
    let target = 2.0 * relu_bound(alpha) * (1.0 - DESIGN_MARGIN);
    let mut warm = WarmStart::default();
    solve_epsilon(degrees, target, &RemezConfig::default(), &mut warm, log2_eps_hint)
}

/// Certifies designed components.
pub fn certified(alpha: u32, degrees: &[usize], epsilon: f64, components: Vec<Component>) -> CompositeSign {
    let cheb: Vec<_> = components.iter().map(|c| c.chebyshev.clone()).collect();
    let power: Vec<Vec<f64>> = components.iter().map(|c| c.coefficients.clone()).collect();
    let certificate = certify(&cheb, &power, epsilon, 2.0 * relu_bound(alpha));
    CompositeSign {
        alpha,
        degrees: degrees.to_vec(),
        design_epsilon: epsilon,
        components,
        certificate,
    }
}

/// Final sign error of the chain at `ε = 2^s`.
fn final_error(degrees: &[usize], s: f64, config: &RemezConfig, warm: &mut WarmStart) -> Result<(f64, Vec<Component>)> {
    let comps = chain(degrees, s.exp2(), config, warm)?;
    Ok((comps.last().map(|c| c.error).unwrap_or(1.0), comps))
}

/// Smallest ε (to about 1e-4 in log2) whose chain has final sign error ≤ `target`, by the Illinois method on
/// `log δ_k(2^s) − log target`, which decreases in `s`.
pub fn solve_epsilon(
    degrees: &[usize],
    target: f64,
    config: &RemezConfig,
    warm: &mut WarmStart,
    log2_eps_hint: Option<f64>,
) -> Result<(f64, Vec<Component>)> {
    let g = |s: f64, warm: &mut WarmStart| -> Result<(f64, Vec<Component>)> {
        let (e, c) = final_error(degrees, s, config, warm)?;
        Ok((e.max(1e-300).ln() - target.ln(), c))
    };
    let (mut a, mut b) = LOG2_EPS_RANGE;
    if let Some(h) = log2_eps_hint {
        // Bracket around the estimate when it does bracket; otherwise fall back to the whole range.
        let (lo, hi) = ((h - 0.25).max(a), (h + 0.25).min(b));
        let (glo, _) = g(lo, warm)?;
        let (ghi, _) = g(hi, warm)?;
        if glo > 0.0 && ghi <= 0.0 {
            (a, b) = (lo, hi);
        }
    }
    let (gb, cb) = g(b, warm)?;
    if gb > 0.0 {
        return Err(Error::DegreesTooLow {
            degrees: degrees.to_vec(),
            alpha: (-(target / 2.0).log2()).round() as u32,
            best_log2: f64::NAN,
        });
    }
    let (ga, ca) = g(a, warm)?;
    if ga <= 0.0 {
        return Ok((a.exp2(), ca));
    }
    let (mut fa, mut fb, mut best) = (ga, gb, (b, cb));
    let mut side = 0i8;
    for _ in 0..60 {
        if b - a < 1e-4 {
            break;
        }
        let s = (a * fb - b * fa) / (fb - fa);
        let s = if s.is_finite() && s > a && s < b {
            s
        } else {
            0.5 * (a + b)
        };
        let (fs, cs) = g(s, warm)?;
        if fs <= 0.0 {
            b = s;
            fb = fs;
            best = (s, cs);
            if side == 1 {
                fa /= 2.0;
            }
            side = 1;
        } else {
            a = s;
            fa = fs;
            if side == -1 {
                fb /= 2.0;
            }
            side = -1;
        }
        if fs.abs() < 1e-7 && fs <= 0.0 {
            break;
        }
    }
    Ok((best.0.exp2(), best.1))
}
