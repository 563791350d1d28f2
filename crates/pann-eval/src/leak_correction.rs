//! Mean-leak correction: per-channel offsets that make each polynomial ReLU's error zero-mean on calibration
//! data ([`pann_nn::leak_meter`]).
//!
//! For a plan (composite, bounds, shift fixed), one pass of the *exact* network over the calibration images
//! measures, at every polynomial ReLU site and channel `c`, the mean error `m_c = E[e(x)]` of
//! `e(x) = x·(1 + p(t))/2 − max(x, 0)` on the inputs the exact network gives that site; the corrected plan
//! outputs `x·(1 + p(t))/2 − m_c`. A first-order estimate: the approximate network's inputs differ from the exact
//! ones by the errors of earlier sites, which this one pass does not follow.
//!
//! [`leak_corrected_iterated`] follows them: after the first-order offsets, each further iteration runs the
//! *corrected approximate* network over the calibration images and measures the mean error of every site's
//! (uncorrected) polynomial on the inputs that network really gives it — a fixed-point iteration on the offsets,
//! one calibration pass each.

use crate::error::Result;
use crate::run::Progress;
use pann_data::{Dataset, Normalization};
use pann_nn::leak_meter::{max_abs_offset, with_offsets};
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
    leak_means_under(
        model,
        calib,
        norm,
        &Activations::exact_for(model),
        acts,
        batch,
        progress,
    )
}

/// The per-channel mean errors of the polynomial ReLU sites of `measured` (their offsets ignored) on the inputs
/// that the network running `running` gives each site over `calib`.
pub fn leak_means_under(
    model: &Model,
    calib: &Dataset,
    norm: &Normalization,
    running: &Activations,
    measured: &Activations,
    batch: usize,
    progress: &mut dyn Progress,
) -> Result<Vec<Vec<f64>>> {
    let mut meter = LeakMeter::new(measured)?;
    {
        let mut ctx = ForwardCtx::new(model, running)?.with_hook(&mut meter);
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

/// `acts` with the mean-leak correction measured on `calib`, and the largest `|m_c|` (first order: the exact
/// network's inputs).
pub fn leak_corrected(
    model: &Model,
    calib: &Dataset,
    norm: &Normalization,
    acts: &Activations,
    batch: usize,
    progress: &mut dyn Progress,
) -> Result<(Activations, f64)> {
    leak_corrected_iterated(model, calib, norm, acts, batch, 1, progress)
}

/// How the mean-leak correction is measured: on which images, and in how many passes (1: first order, on the
/// exact network's inputs; each further pass re-measures on the corrected approximate network's own inputs).
#[derive(Clone, Copy, Debug)]
pub struct LeakCorrection<'a> {
    /// Calibration images.
    pub calib: &'a Dataset,
    /// Passes, at least 1.
    pub iterations: usize,
}

/// [`leak_corrected`] with `iterations − 1` further passes on the corrected approximate network's own inputs.
pub fn leak_corrected_iterated(
    model: &Model,
    calib: &Dataset,
    norm: &Normalization,
    acts: &Activations,
    batch: usize,
    iterations: usize,
    progress: &mut dyn Progress,
) -> Result<(Activations, f64)> {
    if iterations == 0 {
        return Err(crate::Error::Invalid(
            "the mean-leak correction needs at least one iteration".into(),
        ));
    }
    let mut means = leak_means(model, calib, norm, acts, batch, progress)?;
    for _ in 1..iterations {
        let corrected = with_offsets(acts, &means)?;
        means = leak_means_under(model, calib, norm, &corrected, acts, batch, progress)?;
    }
    Ok((with_offsets(acts, &means)?, max_abs_offset(&means)))
}
