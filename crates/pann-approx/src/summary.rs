//! The stable JSON form of an approximation (`pann approx --json`), which other tools and pann's own network and
//! encryption code read back.
//!
//! `{"alpha":9,"degrees":[15,15],"components":[{"degree":15,"coefficients":[c0,…,c15]},…],"depth":8,
//! "relu_depth":9,"nonscalar_mults":14,"epsilon":…,"max_sign_error":…,"max_relu_error":…}` — coefficients in the
//! power basis, lowest degree first, the composite applied first component first. Extra fields may be added; none of
//! these will change meaning.

use crate::composite::{eval_odd_power, validate_degrees, OddChebyshev};
use crate::error::{Error, Result};
use crate::sign::CompositeSign;
use serde::{Deserialize, Serialize};

/// One component in the power basis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSummary {
    /// Degree.
    pub degree: usize,
    /// Power-basis coefficients, lowest degree first (`degree + 1` of them).
    pub coefficients: Vec<f64>,
    /// The same polynomial in the odd Chebyshev basis, which evaluates accurately; absent in files from other tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chebyshev: Option<OddChebyshev>,
}

/// A composite sign approximation as published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApproxSummary {
    /// Precision α: ReLU error ≤ `2^-α` on `[−1, 1]`.
    pub alpha: u32,
    /// Component degrees.
    pub degrees: Vec<usize>,
    /// Components, first applied first.
    pub components: Vec<ComponentSummary>,
    /// Multiplicative depth of the sign approximation.
    pub depth: u32,
    /// Multiplicative depth of the ReLU approximation.
    pub relu_depth: u32,
    /// Non-scalar multiplications of the sign approximation.
    pub nonscalar_mults: usize,
    /// Non-scalar multiplications of the ReLU approximation.
    pub relu_nonscalar_mults: usize,
    /// Smallest `x₀` with `|p(x) − sign(x)| ≤ 2^(1−α)` for `x₀ ≤ |x| ≤ 1` (measured).
    pub epsilon: f64,
    /// `max |p − sign|` on `[−1, −ε_design] ∪ [ε_design, 1]` (measured).
    pub max_sign_error: f64,
    /// `max |x(1+p(x))/2 − ReLU(x)|` on `[−1, 1]` (measured).
    pub max_relu_error: f64,
    /// The `ε` the first component was designed for.
    pub design_epsilon: f64,
    /// `max_relu_error` when evaluating the power-basis coefficients by Horner's rule in `f64`.
    pub max_relu_error_power_basis: f64,
}

impl From<&CompositeSign> for ApproxSummary {
    fn from(s: &CompositeSign) -> Self {
        let c = s.certificate();
        Self {
            alpha: s.alpha,
            degrees: s.degrees.clone(),
            components: s
                .components
                .iter()
                .map(|c| ComponentSummary {
                    degree: c.degree,
                    coefficients: c.coefficients.clone(),
                    chebyshev: Some(c.chebyshev.clone()),
                })
                .collect(),
            depth: s.depth(),
            relu_depth: s.relu_depth(),
            nonscalar_mults: s.nonscalar_mults(),
            relu_nonscalar_mults: s.nonscalar_mults() + 1,
            epsilon: c.epsilon,
            max_sign_error: c.max_sign_error,
            max_relu_error: c.max_relu_error,
            design_epsilon: s.design_epsilon,
            max_relu_error_power_basis: c.max_relu_error_power_basis,
        }
    }
}

impl ApproxSummary {
    /// Checks internal consistency after reading from a file: degrees match the coefficient lists, all odd, all
    /// coefficients finite.
    pub fn validate(&self) -> Result<()> {
        validate_degrees(&self.degrees)?;
        if self.components.len() != self.degrees.len() {
            return Err(Error::InvalidArgument(format!(
                "{} degrees but {} components",
                self.degrees.len(),
                self.components.len()
            )));
        }
        for (i, (c, &d)) in self.components.iter().zip(&self.degrees).enumerate() {
            if c.degree != d || c.coefficients.len() != d + 1 {
                return Err(Error::InvalidArgument(format!(
                    "component {i}: degree {} with {} coefficients, expected degree {d} with {}",
                    c.degree,
                    c.coefficients.len(),
                    d + 1
                )));
            }
            if let Some(j) = c.coefficients.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidArgument(format!(
                    "component {i}: coefficient {j} is not finite"
                )));
            }
            if let Some(ch) = &c.chebyshev {
                if ch.degree() != d || !ch.input_scale.is_finite() || ch.coefficients.iter().any(|v| !v.is_finite()) {
                    return Err(Error::InvalidArgument(format!(
                        "component {i}: malformed Chebyshev form"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Power-basis coefficient lists, first applied first.
    pub fn coefficient_lists(&self) -> Vec<Vec<f64>> {
        self.components.iter().map(|c| c.coefficients.clone()).collect()
    }

    /// `p(x)`, from the Chebyshev form where present.
    pub fn eval(&self, x: f64) -> f64 {
        self.components.iter().fold(x, |y, c| match &c.chebyshev {
            Some(ch) => ch.eval(y),
            None => eval_odd_power(&c.coefficients, y),
        })
    }
}
