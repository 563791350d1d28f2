//! Measuring the mean leak of polynomial ReLUs, the input of the mean-leak correction (which
//! pann-eval's `leak_correction` decides and applies with [`with_offsets`]).
//!
//! The error `e(x) = x·(1 + p(t))/2 − max(x, 0)` of a polynomial ReLU is `≤ 0` near zero on
//! both sides (small negative inputs leak a negative value, small positive ones are damped): a
//! constant-sign error. The correction subtracts, per site and channel, the mean error
//! `m_c = E[e(x)]` over calibration inputs, so that the error becomes zero-mean per channel
//! ([`crate::PolyRelu::offsets`]).
//!
//! [`LeakMeter`] is a [`SiteHook`] that sums `e(x)` per channel at every polynomial ReLU site of
//! a plan. It is meant to watch the *exact* network on the calibration images: the inputs the
//! polynomial sees are then the exact ones, a first-order estimate — the corrected approximate
//! network's own inputs differ by the (small) errors of the earlier sites.

use tch::Tensor;

use crate::activation::{Activation, Activations};
use crate::error::{Error, Result};
use crate::forward::{channel_layout, cpu_f32_dense, SiteHook};
use crate::kernel::{poly_relu_error_sums, ChannelErrorSums};
use crate::poly::PolyRelu;

/// Per-channel sums of the polynomial ReLU error at every polynomial ReLU site of a plan.
#[derive(Debug, Clone)]
pub struct LeakMeter {
    /// The polynomial of each ReLU site (`None` at other sites).
    relu: Vec<Option<PolyRelu>>,
    /// Per site: the error sums and counts per channel over the inputs with `|x| ≤ B` (`None`
    /// until the site sees an input).
    totals: Vec<Option<ChannelErrorSums>>,
}

impl LeakMeter {
    /// A meter for the polynomial ReLU sites of `acts` (their offsets are ignored: the error
    /// measured is the uncorrected one).
    pub fn new(acts: &Activations) -> Result<Self> {
        let relu: Vec<Option<PolyRelu>> = acts
            .relu
            .iter()
            .map(|a| match a {
                Activation::Poly(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        for r in relu.iter().flatten() {
            r.prepare()?;
        }
        let n = relu.len();
        Ok(Self {
            relu,
            totals: vec![None; n],
        })
    }

    /// Adds the errors of the values of `x` (`[N, C, …]`) at ReLU site `site`; values beyond the
    /// site's bound are left out ([`poly_relu_error_sums`]).
    pub fn add(&mut self, site: usize, x: &Tensor) -> Result<()> {
        let Some(Some(relu)) = self.relu.get(site) else {
            return Ok(());
        };
        if x.numel() == 0 {
            return Ok(());
        }
        let x = cpu_f32_dense(x.shallow_clone())?;
        let (c, plane) = channel_layout(&x);
        // SAFETY: `x` is a dense CPU f32 tensor of `numel` values, only read while the slice
        // lives.
        let v = unsafe { std::slice::from_raw_parts(x.data_ptr() as *const f32, x.numel()) };
        let s = poly_relu_error_sums(v, relu, c, plane)?;
        let total = self.totals[site].get_or_insert_with(|| ChannelErrorSums::zeros(c));
        if total.sums.len() != c {
            return Err(Error::BadInput(format!(
                "ReLU site {site}: {c} channels after {} before",
                total.sums.len()
            )));
        }
        total.add(&s);
        Ok(())
    }

    /// The mean error `m_c` per channel at every ReLU site over its inputs inside the bound (empty
    /// for sites that are not polynomial or saw no input; 0 for a channel with no input inside).
    pub fn means(&self) -> Vec<Vec<f64>> {
        self.totals
            .iter()
            .map(|t| t.as_ref().map_or_else(Vec::new, ChannelErrorSums::means))
            .collect()
    }
}

impl SiteHook for LeakMeter {
    fn relu_input(&mut self, site: usize, _name: &str, x: &Tensor) -> Result<()> {
        self.add(site, x)
    }
}

/// `acts` with the per-channel `offsets[i]` at every polynomial ReLU site `i` (sites with an
/// empty entry keep none).
pub fn with_offsets(acts: &Activations, offsets: &[Vec<f64>]) -> Result<Activations> {
    if offsets.len() != acts.relu.len() {
        return Err(Error::BadActivation(format!(
            "{} offset lists for {} ReLU sites",
            offsets.len(),
            acts.relu.len()
        )));
    }
    let mut out = acts.clone();
    for (a, o) in out.relu.iter_mut().zip(offsets) {
        if let Activation::Poly(r) = a {
            r.offsets = o.clone();
        }
    }
    Ok(out)
}

/// The largest `|m_c|` over all sites and channels.
pub fn max_abs_offset(offsets: &[Vec<f64>]) -> f64 {
    offsets.iter().flatten().fold(0.0, |m, v| m.max(v.abs()))
}
