//! Accuracy of a model on a dataset under an activation plan.
//!
//! Batched inference in `f32` under `tch::no_grad`, with libtorch's intra-op threads set to
//! the number of cores; the per-site statistics of all batches come back with the accuracy,
//! which is what range search and calibration loops need from one call.

use std::ops::{ControlFlow, Range};
use std::time::Instant;

use pann_data::{Dataset, Normalization};

use crate::activation::Activations;
use crate::error::{Error, Result};
use crate::forward::{ForwardCtx, SiteHook};
use crate::stats::ForwardStats;
use crate::tensor::{images_tensor, labels_tensor};
use crate::Model;

/// Result of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// Correctly classified images (top-1).
    pub correct: usize,
    /// Images evaluated (all of the dataset unless stopped early).
    pub total: usize,
    /// Input statistics of every activation site, over all batches.
    pub stats: ForwardStats,
    /// Wall-clock time of the evaluation.
    pub seconds: f64,
    /// The last batch evaluated, when [`evaluate_with`]'s callback stopped the run early.
    pub stopped_after: Option<Range<usize>>,
}

impl EvalReport {
    /// Top-1 accuracy in `[0, 1]`.
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }

    /// Images per second.
    pub fn throughput(&self) -> f64 {
        self.total as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }
}

/// Top-1 accuracy of `model` on `data` with `acts` at the activation sites.
///
/// With overflow policy `Error` at some site the first overflowing batch ends the run with
/// [`Error::Overflow`].
pub fn evaluate(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    batch_size: usize,
    acts: &Activations,
) -> Result<EvalReport> {
    evaluate_inner(model, data, norm, batch_size, acts, None)
}

/// [`evaluate`] with a hook that sees the input of every activation site.
pub fn evaluate_with_hook(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    batch_size: usize,
    acts: &Activations,
    hook: &mut dyn SiteHook,
) -> Result<EvalReport> {
    evaluate_inner(model, data, norm, batch_size, acts, Some(hook))
}

fn evaluate_inner(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    batch_size: usize,
    acts: &Activations,
    hook: Option<&mut dyn SiteHook>,
) -> Result<EvalReport> {
    let mut ctx = ForwardCtx::new(model, acts)?;
    if let Some(hook) = hook {
        ctx = ctx.with_hook(hook);
    }
    evaluate_with(model, data, norm, batch_size, &mut ctx, |_| ControlFlow::Continue(()))
}

/// Progress of [`evaluate_with`], reported after each batch.
#[derive(Debug)]
pub struct BatchDone<'a> {
    /// Images of the batch just evaluated (positions in the dataset).
    pub range: Range<usize>,
    /// Correct predictions so far.
    pub correct: usize,
    /// Images evaluated so far.
    pub evaluated: usize,
    /// Site statistics so far.
    pub stats: &'a ForwardStats,
}

/// The loop behind [`evaluate`], with a caller-made context (plan, hook) and a callback after
/// every batch, e.g. for a progress bar or to stop at the first overflow
/// (`ControlFlow::Break`). The report then covers the images evaluated so far, and
/// [`EvalReport::stopped_after`] names the last batch.
pub fn evaluate_with(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    batch_size: usize,
    ctx: &mut ForwardCtx<'_>,
    mut on_batch: impl FnMut(&BatchDone<'_>) -> ControlFlow<()>,
) -> Result<EvalReport> {
    if batch_size == 0 {
        return Err(Error::BadInput("batch size 0".into()));
    }
    // More outputs than classes is as wrong as fewer: a CIFAR-100 model scored on CIFAR-10
    // labels gives a number, but not an accuracy of anything.
    if data.num_classes != model.architecture().num_classes() {
        return Err(Error::BadInput(format!(
            "the dataset has {} classes, the model {} outputs",
            data.num_classes,
            model.architecture().num_classes()
        )));
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    tch::set_num_threads(threads as i32);
    let start = Instant::now();
    let (mut correct, mut evaluated, mut stopped_after) = (0usize, 0usize, None);
    tch::no_grad(|| -> Result<()> {
        for lo in (0..data.n).step_by(batch_size) {
            let range = lo..(lo + batch_size).min(data.n);
            let xs = images_tensor(data, range.clone(), norm)?;
            let logits = model.forward(&xs, ctx)?;
            let predicted = logits.f_argmax(-1, false)?;
            let hits = predicted.f_eq_tensor(&labels_tensor(data, range.clone()))?;
            correct += hits.f_sum(tch::Kind::Int64)?.int64_value(&[]) as usize;
            evaluated += range.len();
            let done = BatchDone {
                range: range.clone(),
                correct,
                evaluated,
                stats: ctx.stats(),
            };
            if on_batch(&done).is_break() {
                stopped_after = Some(range);
                break;
            }
        }
        Ok(())
    })?;
    Ok(EvalReport {
        correct,
        total: evaluated,
        stats: ctx.take_stats(),
        seconds: start.elapsed().as_secs_f64(),
        stopped_after,
    })
}
