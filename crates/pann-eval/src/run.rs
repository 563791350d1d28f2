//! Batched inference with progress reporting and early stop on the first polynomial overflow.

use crate::error::Result;
use pann_data::{Dataset, Normalization};
use pann_nn::{evaluate_with, Activations, ForwardCtx, ForwardStats, Model};
use std::ops::ControlFlow;

/// Receives progress; libraries never print, the CLI draws a bar from this.
pub trait Progress {
    /// A stage of `total` images begins.
    fn begin(&mut self, _label: &str, _total: u64) {}
    /// `n` more images are done.
    fn advance(&mut self, _n: u64) {}
    /// The stage ended (completed or stopped early).
    fn end(&mut self) {}
}

/// Progress that goes nowhere.
pub struct Silent;
impl Progress for Silent {}

/// What a run saw.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Correct top-1 predictions among the evaluated images.
    pub correct: usize,
    /// Images evaluated (all of them unless stopped early).
    pub evaluated: usize,
    /// Per-site input statistics over the evaluated images.
    pub stats: ForwardStats,
    /// With `stop_on_overflow`: the positions (in the data given) of the batch in which the first overflow
    /// happened.
    pub overflow_batch: Option<std::ops::Range<usize>>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl RunOutcome {
    /// Top-1 accuracy over the evaluated images.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.evaluated.max(1) as f64
    }
}

/// Runs `model` with `acts` over `data` in batches of `batch` images (pann-nn's evaluation loop, with progress
/// and, if asked, a stop after the first batch in which a polynomial argument left `[−1, 1]`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    acts: &Activations,
    batch: usize,
    stop_on_overflow: bool,
    label: &str,
    progress: &mut dyn Progress,
) -> Result<RunOutcome> {
    let mut ctx = ForwardCtx::new(model, acts)?;
    progress.begin(label, data.n as u64);
    let mut reported = 0;
    let report = evaluate_with(model, data, norm, batch, &mut ctx, |done| {
        progress.advance((done.evaluated - reported) as u64);
        reported = done.evaluated;
        if stop_on_overflow && done.stats.total_overflows() > 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    progress.end();
    let report = report?;
    Ok(RunOutcome {
        correct: report.correct,
        evaluated: report.total,
        stats: report.stats,
        overflow_batch: report.stopped_after,
        seconds: report.seconds,
    })
}

/// [`run`] with exact activations at every site: the reference every PANN is compared with.
pub fn run_exact(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    batch: usize,
    progress: &mut dyn Progress,
) -> Result<RunOutcome> {
    run(
        model,
        data,
        norm,
        &Activations::exact_for(model),
        batch,
        false,
        "exact",
        progress,
    )
}

/// The images of `data` at `order`, in that order.
pub fn reorder(data: &Dataset, order: &[usize]) -> Dataset {
    let len = data.image_len();
    let mut images = Vec::with_capacity(order.len() * len);
    let mut labels = Vec::with_capacity(order.len());
    for &i in order {
        images.extend_from_slice(data.image(i));
        labels.push(data.labels[i]);
    }
    Dataset {
        images,
        labels,
        n: order.len(),
        channels: data.channels,
        height: data.height,
        width: data.width,
        num_classes: data.num_classes,
    }
}
