//! What the activation sites saw during a forward pass.
//!
//! Every ReLU and max-pool site keeps a [`SiteStats`]: how many inputs it saw, the largest
//! `|x|`, and for polynomial sites how many polynomial arguments fell outside `[−1, 1]` and the
//! largest `|argument|`. This is what range search needs (Lee et al. raise a global bound `B`
//! from 50 in steps of 5 until no polynomial-ReLU input of the approximate network exceeds `B`)
//! and what per-layer calibration needs (the exact network's `max |x|` per site). The kernels
//! compute these in the same pass as the activation, so they cost nothing extra.

/// Input statistics of one activation site, accumulated over calls.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SiteStats {
    /// Number of input values seen.
    pub elements: u64,
    /// Polynomial arguments outside `[−1, 1]` (`|x| > B` for ReLU, `|a − b| > D_l` for max;
    /// NaN counts too). Always 0 for exact sites.
    pub overflows: u64,
    /// Largest `|x|` among the inputs.
    pub max_abs: f64,
    /// Largest polynomial argument `|x|/B` or `|a − b|/D_l`; 0 for exact sites.
    pub max_ratio: f64,
}

impl SiteStats {
    /// Adds the counts of `other` and keeps the larger maxima.
    pub fn merge(&mut self, other: &SiteStats) {
        self.elements += other.elements;
        self.overflows += other.overflows;
        self.max_abs = self.max_abs.max(other.max_abs);
        self.max_ratio = self.max_ratio.max(other.max_ratio);
    }

    /// [`SiteStats::merge`] by value, for reductions.
    pub(crate) fn merged(mut self, other: SiteStats) -> SiteStats {
        self.merge(&other);
        self
    }

    /// Fraction of inputs whose polynomial argument overflowed.
    pub fn overflow_rate(&self) -> f64 {
        if self.elements == 0 {
            0.0
        } else {
            self.overflows as f64 / self.elements as f64
        }
    }
}

/// Statistics of every site of a model, indexed like [`crate::Model::relu_sites`] and
/// [`crate::Model::pool_sites`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForwardStats {
    /// One entry per ReLU site.
    pub relu: Vec<SiteStats>,
    /// One entry per max-pool site.
    pub pool: Vec<SiteStats>,
}

impl ForwardStats {
    /// Empty statistics for `relu` ReLU sites and `pool` max-pool sites.
    pub fn new(relu: usize, pool: usize) -> Self {
        Self {
            relu: vec![SiteStats::default(); relu],
            pool: vec![SiteStats::default(); pool],
        }
    }

    /// Merges `other` (of the same model) into `self`, site by site.
    pub fn merge(&mut self, other: &ForwardStats) {
        for (a, b) in self.relu.iter_mut().zip(&other.relu) {
            a.merge(b);
        }
        for (a, b) in self.pool.iter_mut().zip(&other.pool) {
            a.merge(b);
        }
    }

    /// Total overflows over all sites.
    pub fn total_overflows(&self) -> u64 {
        self.relu.iter().chain(&self.pool).map(|s| s.overflows).sum()
    }

    /// Largest `|x|` over all ReLU sites.
    pub fn max_relu_input(&self) -> f64 {
        self.relu.iter().map(|s| s.max_abs).fold(0.0, f64::max)
    }
}
