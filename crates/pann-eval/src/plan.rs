//! Activation plans from the approximation engine: which polynomial, with which bound, at every site.

use crate::error::Result;
use pann_approx::{CompositeSign, MaxTree};
use pann_nn::{Activation, Activations, Model, OverflowPolicy, PolyMax, PolyRelu, PoolActivation};

/// Input bounds of the polynomial sites.
#[derive(Clone, Debug, PartialEq)]
pub enum Bounds {
    /// One `B` for every ReLU and max-pool site (Lee et al.).
    Global(f64),
    /// One `B` per ReLU site and one per max-pool site, in site order.
    PerSite {
        /// Per ReLU site.
        relu: Vec<f64>,
        /// Per max-pool site.
        pool: Vec<f64>,
    },
}

impl Bounds {
    fn relu(&self, i: usize) -> f64 {
        match self {
            Bounds::Global(b) => *b,
            Bounds::PerSite { relu, .. } => relu[i],
        }
    }

    fn pool(&self, i: usize) -> f64 {
        match self {
            Bounds::Global(b) => *b,
            Bounds::PerSite { pool, .. } => pool[i],
        }
    }

    /// The largest bound.
    pub fn max(&self) -> f64 {
        match self {
            Bounds::Global(b) => *b,
            Bounds::PerSite { relu, pool } => relu.iter().chain(pool).fold(0.0, |a, &b| a.max(b)),
        }
    }
}

/// The shift `η` of the polynomial ReLU's argument, `t = (1 − η)·x/B − η` (see [`PolyRelu::shift`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReluShift {
    /// A fixed `η` in `[0, 0.5)`; 0 is the plain `x/B`.
    Fixed(f64),
    /// `η = f·ε` with `ε` each composite's certified `ε` (different for every α) and `f` in `(0, 1]`. At `f = 1`
    /// every negative input lands where `p` is within `2^(1−α)` of −1 (no leak); a smaller `f` trades: the leak
    /// zone shrinks to `−(1 − f)·εB/(1 − η) < x < 0` and the damped zone of small positive inputs to
    /// `0 < x < (1 + f)·εB/(1 − η)`, so a sweep of `f` measures which side's error costs more.
    Epsilon(f64),
}

impl ReluShift {
    /// No shift.
    pub const NONE: ReluShift = ReluShift::Fixed(0.0);

    /// `η` for the composite `sign`; an error unless it is in `[0, 0.5)`.
    pub fn eta(&self, sign: &CompositeSign) -> Result<f64> {
        let eta = match self {
            ReluShift::Fixed(v) => *v,
            ReluShift::Epsilon(f) if *f > 0.0 && *f <= 1.0 => f * sign.certificate().epsilon,
            ReluShift::Epsilon(f) => {
                return Err(crate::Error::Invalid(format!(
                    "ReLU shift {f}·ε: the fraction of ε must be in (0, 1]"
                )))
            }
        };
        if !(0.0..0.5).contains(&eta) {
            return Err(crate::Error::Invalid(format!(
                "ReLU shift {eta} (α = {}) is not a number in [0, 0.5)",
                sign.alpha
            )));
        }
        Ok(eta)
    }
}

/// `x·(1 + p((1 − η)·x/B − η))/2` for the network layer.
pub fn poly_relu(sign: &CompositeSign, bound: f64, overflow: OverflowPolicy, shift: ReluShift) -> Result<PolyRelu> {
    pann_approx::ops::check_bound(bound)?;
    check_power_basis(sign)?;
    Ok(PolyRelu {
        components: sign.coefficient_lists(),
        bound,
        overflow,
        shift: shift.eta(sign)?,
        offsets: Vec::new(),
    })
}

/// A `k×k` max-pool as a tree of polynomial maxima with the range-safe divisors of [`MaxTree`].
pub fn poly_max(sign: &CompositeSign, window: usize, bound: f64, overflow: OverflowPolicy) -> Result<PolyMax> {
    let tree = MaxTree::new(window, bound, sign.alpha)?;
    check_power_basis(sign)?;
    Ok(PolyMax {
        components: sign.coefficient_lists(),
        divisors: tree.divisors,
        overflow,
    })
}

/// A plan with polynomial activations at every site: `signs[i]` at ReLU site `i` (one composite for all sites
/// when `signs` has one entry), the first composite at every max-pool site; `shift` applies to the ReLU sites.
pub fn plan(
    model: &Model,
    signs: &[&CompositeSign],
    bounds: &Bounds,
    overflow: OverflowPolicy,
    shift: ReluShift,
) -> Result<Activations> {
    let n = model.relu_sites().len();
    if signs.len() != 1 && signs.len() != n {
        return Err(crate::Error::Invalid(format!(
            "{} composites given for {n} ReLU sites (give one, or one per site)",
            signs.len()
        )));
    }
    let sign_at = |i: usize| if signs.len() == 1 { signs[0] } else { signs[i] };
    let relu = (0..n)
        .map(|i| {
            Ok(Activation::Poly(poly_relu(
                sign_at(i),
                bounds.relu(i),
                overflow,
                shift,
            )?))
        })
        .collect::<Result<_>>()?;
    let pool = model
        .pool_windows()
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            Ok(PoolActivation::Poly(poly_max(
                signs[0],
                (k * k) as usize,
                bounds.pool(i),
                overflow,
            )?))
        })
        .collect::<Result<_>>()?;
    Ok(Activations { relu, pool })
}

/// The network kernels evaluate the power-basis coefficients in `f64`; refuse a composite whose power form is
/// measurably less accurate than its certificate (high degrees at α ≥ 15), rather than report wrong accuracies.
fn check_power_basis(sign: &CompositeSign) -> Result<()> {
    let c = sign.certificate();
    let bound = (-(sign.alpha as f64)).exp2();
    if c.max_relu_error_power_basis > bound * 1.001 {
        return Err(crate::Error::Invalid(format!(
            "α = {}: the composite {:?} evaluated from power-basis coefficients in f64 errs by 2^{:.2} > 2^-{} \
             (coefficient cancellation); the network kernels evaluate the power basis, so this α is refused",
            sign.alpha,
            sign.degrees,
            c.max_relu_error_power_basis.log2(),
            sign.alpha
        )));
    }
    Ok(())
}
