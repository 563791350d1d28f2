//! Mean-leak correction: per-channel offsets that make each polynomial ReLU's error zero-mean on calibration
//! data ([`pann_nn::leak`]).
//!
//! For a plan (composite, bounds, shift fixed), one pass of the *exact* network over the calibration images
//! measures, at every polynomial ReLU site and channel `c`, the mean error `m_c = E[e(x)]` of
//! `e(x) = x·(1 + p(t))/2 − max(x, 0)` on the inputs the exact network gives that site; the corrected plan
//! outputs `x·(1 + p(t))/2 − m_c`. A first-order estimate: the approximate network's inputs differ from the exact
//! ones by the errors of earlier sites, which this one pass does not follow.

use crate::error::Result;
use crate::run::Progress;
use pann_data::{Dataset, Normalization};
use pann_nn::leak::{max_abs_offset, with_offsets};
use pann_nn::{evaluate_with, Activations, ForwardCtx, LeakMeter, Model};
use std::ops::ControlFlow;

/// The per-channel mean errors `m_c` of the polynomial ReLU sites of `acts`, measured on the exact network's
/// inputs over `calib` (one entry per ReLU site, empty where the site is not polynomial).
pub fn leak_means(
    model: &Model,
    calib: &Dataset,
    norm: &Normalization,
    acts: &Activations,
    batch: usize,
    progress: &mut dyn Progress,
) -> Result<Vec<Vec<f64>>> {
    let mut meter = LeakMeter::new(acts)?;
    let exact = Activations::exact_for(model);
    {
        let mut ctx = ForwardCtx::new(model, &exact)?.with_hook(&mut meter);
        progress.begin("leak means", calib.n as u64);
        let mut reported = 0;
        let r = evaluate_with(model, calib, norm, batch, &mut ctx, |done| {
            progress.advance((done.evaluated - reported) as u64);
            reported = done.evaluated;
            ControlFlow::Continue(())
        });
        progress.end();
        r?;
    }
    Ok(meter.means())
}

/// `acts` with the mean-leak correction measured on `calib`, and the largest `|m_c|`.
pub fn leak_corrected(
    model: &Model,
    calib: &Dataset,
    norm: &Normalization,
    acts: &Activations,
    batch: usize,
    progress: &mut dyn Progress,
) -> Result<(Activations, f64)> {
    let means = leak_means(model, calib, norm, acts, batch, progress)?;
    Ok((with_offsets(acts, &means)?, max_abs_offset(&means)))
}
