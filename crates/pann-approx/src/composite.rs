//! Lee et al.'s composite minimax approximation of `sign(x)`: `p = p_k ∘ … ∘ p_1`.
//!
//! `p_1` is the odd minimax polynomial of degree `d_1` for `sign` on `[−1, −ε] ∪ [ε, 1]`; its error `δ_1` means
//! it maps `[ε, 1]` into `[1 − δ_1, 1 + δ_1]`. Each next `p_i` is the odd minimax polynomial of degree `d_i` for
//! `sign` on that image. Minimax approximation of `sign` is invariant under scaling of the input, so every step is
//! the one-parameter problem "approximate 1 on `[τ, 1]`" with `τ_i = (1 − δ_i)/(1 + δ_i)`, and
//! `p_{i+1}(y) = q_{i+1}(y / (1 + δ_i))` — which is how [`chain`] builds it. The final error `δ_k` is the sign error
//! on `[ε, 1]`; `ReLU(x) ≈ x·(1 + p(x))/2` then errs by `x·|1 − p(x)|/2`.
//!
//! Reference: Lee, Lee, Kim, No, "Minimax approximation of sign function by composite polynomial for homomorphic
//! comparison" (IEEE TDSC 2021) and Lee et al., "Precise approximation of CNNs for homomorphically encrypted data"
//! (arXiv:2105.10879).

use crate::chebyshev::Symmetry;
use crate::cost;
use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::remez::{remez, MinimaxPoly, RemezConfig, RemezReport};
use serde::{Deserialize, Serialize};

/// Largest degree accepted for one component.
pub const MAX_COMPONENT_DEGREE: usize = 255;
/// `τ` is never taken closer to 1 than this: beyond it the interval is narrower than `f64` can resolve.
const TAU_MAX: f64 = 1.0 - 1e-10;
/// Smallest `τ` used: a chain whose gap shrinks below this cannot approximate anything.
const TAU_MIN: f64 = 1e-18;

/// One component `p_i` of the composite.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Component {
    /// Odd degree.
    pub degree: usize,
    /// Left end `τ` of the normalised interval `[τ, 1]` on which `q_i` approximates 1.
    pub tau: f64,
    /// `p_i(y) = q_i(y · input_scale)`, with `input_scale = 1/(1 + δ_{i−1})`.
    pub input_scale: f64,
    /// Minimax error `δ_i` of `q_i` on `[τ, 1]`.
    pub error: f64,
    /// Power-basis coefficients of `p_i(y)`, lowest degree first (even ones are zero). Published for
    /// compatibility; for degrees above ~15 their cancellation costs digits, so pann evaluates [`Self::chebyshev`].
    pub coefficients: Vec<f64>,
    /// `p_i` in the odd Chebyshev basis: the form pann evaluates.
    pub chebyshev: OddChebyshev,
    /// `q_i` as the exchange returned it (Chebyshev form).
    pub normalized: MinimaxPoly,
    /// How the exchange ended.
    pub report: RemezReport,
}

impl Component {
    /// `p_i(y)`, in the Chebyshev form.
    #[inline]
    pub fn eval(&self, y: f64) -> f64 {
        self.chebyshev.eval(y)
    }
}

/// An odd polynomial `p(y) = Σ_j c_j T_{2j+1}(s·y)`.
///
/// Components of the composite are bounded by about 1 on `[−1/s, 1/s]`, so their Chebyshev coefficients are of
/// order 1 and evaluating them by the three-term recurrence loses almost nothing, while their power-basis
/// coefficients reach 10^4 (degree 15) to 10^9 (degree 31) and cancel: in `f64` that alone can exceed a `2^-14`
/// error budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OddChebyshev {
    /// `s`.
    pub input_scale: f64,
    /// `c_0, c_1, …` for `T_1, T_3, …`.
    pub coefficients: Vec<f64>,
}

impl OddChebyshev {
    /// `p(y)`.
    #[inline]
    pub fn eval(&self, y: f64) -> f64 {
        crate::chebyshev::evaluate(Symmetry::Odd, &self.coefficients, y * self.input_scale)
    }

    /// Degree `2·len − 1`.
    pub fn degree(&self) -> usize {
        2 * self.coefficients.len() - 1
    }
}

/// Evaluates an odd polynomial given by power-basis coefficients (even entries ignored) as `y·h(y²)`.
#[inline]
pub fn eval_odd_power(coefficients: &[f64], y: f64) -> f64 {
    let y2 = y * y;
    let mut acc = 0.0;
    for c in coefficients.iter().skip(1).step_by(2).rev() {
        acc = acc * y2 + c;
    }
    acc * y
}

/// Warm-start state for repeated chains: the last reference of each component, as fractions of `[τ, 1]`.
#[derive(Clone, Debug, Default)]
pub struct WarmStart {
    fractions: Vec<Option<Vec<f64>>>,
}

/// Builds the composite for `degrees` starting from `[ε, 1]`, reusing and updating `warm` references.
pub fn chain(degrees: &[usize], epsilon: f64, config: &RemezConfig, warm: &mut WarmStart) -> Result<Vec<Component>> {
    validate_degrees(degrees)?;
    if !(epsilon > 0.0 && epsilon < 1.0) {
        return Err(Error::InvalidArgument(format!("ε = {epsilon} must lie in (0, 1)")));
    }
    warm.fractions.resize(degrees.len(), None);
    let mut tau = epsilon;
    let mut input_scale = 1.0;
    let mut out = Vec::with_capacity(degrees.len());
    for (i, &d) in degrees.iter().enumerate() {
        let (q, report, tau_i) = sign_minimax(d, tau, config, warm.fractions[i].as_deref())?;
        warm.fractions[i] = Some(report.reference.iter().map(|x| (x - tau_i) / (1.0 - tau_i)).collect());
        let delta = report.max_error;
        let coefficients = scale_input(&q.power, input_scale / q.half_width);
        let chebyshev = OddChebyshev {
            input_scale: input_scale / q.half_width,
            coefficients: q.chebyshev.clone(),
        };
        out.push(Component {
            degree: d,
            tau: tau_i,
            input_scale,
            error: delta,
            coefficients,
            chebyshev,
            normalized: q,
            report,
        });
        // A useless component (δ ≈ 1, measured a hair above 1) leaves next to no gap; keep τ positive.
        tau = ((1.0 - delta) / (1.0 + delta)).max(TAU_MIN);
        input_scale = 1.0 / (1.0 + delta);
    }
    Ok(out)
}

/// Odd minimax approximation of 1 on `[τ, 1]` of degree `d` (equivalently of `sign` on `±[τ, 1]`), warm-started
/// from reference `fractions` of the interval.
///
/// Close to `τ = 1` the error falls below `f64` resolution and the reference system becomes singular; then the
/// interval is widened (`1 − τ` doubled) until the system is solvable. An approximation on a wider interval is
/// valid on the narrower one with no larger error, and that error is at round-off level anyway. Returns the `τ`
/// actually used.
pub fn sign_minimax(
    d: usize,
    tau: f64,
    config: &RemezConfig,
    fractions: Option<&[f64]>,
) -> Result<(MinimaxPoly, RemezReport, f64)> {
    let mut tau = tau.min(TAU_MAX);
    loop {
        let domain = Domain::interval(tau, 1.0)?;
        let init: Option<Vec<f64>> = fractions.map(|fr| fr.iter().map(|u| tau + u * (1.0 - tau)).collect());
        match remez(
            |_: f64| 1.0,
            |_: f64| 1.0,
            &domain,
            d,
            Symmetry::Odd,
            config,
            init.as_deref(),
        ) {
            Ok((q, report)) => return Ok((q, report, tau)),
            Err(e) if tau < 0.5 => return Err(e),
            Err(_) => tau = 1.0 - 2.0 * (1.0 - tau),
        }
    }
}

/// Checks a degree list: non-empty, odd, between 1 and [`MAX_COMPONENT_DEGREE`].
pub fn validate_degrees(degrees: &[usize]) -> Result<()> {
    if degrees.is_empty() {
        return Err(Error::InvalidDegree("the degree list is empty".into()));
    }
    for &d in degrees {
        if d % 2 == 0 {
            return Err(Error::InvalidDegree(format!(
                "{d} is even; sign approximations are odd polynomials"
            )));
        }
        if d > MAX_COMPONENT_DEGREE {
            return Err(Error::InvalidDegree(format!(
                "{d} exceeds the maximum component degree {MAX_COMPONENT_DEGREE}"
            )));
        }
    }
    Ok(())
}

/// Coefficients of `q(s·y)` from those of `q(x)`.
fn scale_input(power: &[f64], s: f64) -> Vec<f64> {
    let mut f = 1.0;
    power
        .iter()
        .map(|&c| {
            let v = c * f;
            f *= s;
            v
        })
        .collect()
}

/// Total multiplicative depth of the composite sign (sum of the components' depths).
pub fn sign_depth(degrees: &[usize]) -> u32 {
    degrees.iter().map(|&d| cost::depth(d)).sum()
}

/// Total non-scalar multiplications of the composite sign.
pub fn sign_mults(degrees: &[usize]) -> usize {
    degrees.iter().map(|&d| cost::nonscalar_mults(d)).sum()
}
