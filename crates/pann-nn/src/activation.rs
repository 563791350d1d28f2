//! Which activation runs at each ReLU and max-pool site of a model.
//!
//! A model has a fixed list of sites ([`crate::Model::relu_sites`],
//! [`crate::Model::pool_sites`]), and an [`Activations`] plan holds one choice per site, so
//! that layers can be approximated one at a time or with per-layer bounds.

use crate::poly::{PolyMax, PolyRelu};

/// What a ReLU site computes.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Activation {
    /// `max(x, 0)`.
    #[default]
    Exact,
    /// The polynomial approximation `x·(1 + p(x/B))/2`.
    Poly(PolyRelu),
    /// Exact ReLU plus a controlled perturbation ([`crate::perturb`]).
    Perturbed(crate::perturb::Perturbation),
}

/// What a max-pool site computes.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PoolActivation {
    /// The exact maximum over each window.
    #[default]
    Exact,
    /// A pairwise tree of polynomial maxima over each window.
    Poly(PolyMax),
}

/// One activation per site of a model, in site order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Activations {
    /// One entry per ReLU site.
    pub relu: Vec<Activation>,
    /// One entry per max-pool site.
    pub pool: Vec<PoolActivation>,
}

impl Activations {
    /// Exact activations at `relu` ReLU sites and `pool` max-pool sites.
    pub fn exact(relu: usize, pool: usize) -> Self {
        Self::uniform(relu, Activation::Exact, pool, PoolActivation::Exact)
    }

    /// The same activation at every ReLU site and the same at every max-pool site.
    pub fn uniform(relu: usize, r: Activation, pool: usize, p: PoolActivation) -> Self {
        Self {
            relu: vec![r; relu],
            pool: vec![p; pool],
        }
    }

    /// The exact plan for `model`.
    pub fn exact_for(model: &crate::Model) -> Self {
        Self::exact(model.relu_sites().len(), model.pool_sites().len())
    }
}
