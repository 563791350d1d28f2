//! Batched inference with progress reporting and early stop on the first polynomial overflow.

use crate::error::Result;
use pann_data::{Dataset, Normalization};
use pann_nn::tensor::{images_tensor, labels_tensor};
use pann_nn::{Activations, ForwardCtx, ForwardStats, Model};
use std::time::Instant;

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

/// Runs `model` with `acts` over `data` in batches of `batch` images.
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
    if batch == 0 {
        return Err(crate::Error::Invalid("batch size must be positive".into()));
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    tch::set_num_threads(threads as i32);
    let start = Instant::now();
    let mut ctx = ForwardCtx::new(model, acts)?;
    let (mut correct, mut evaluated, mut overflow_batch) = (0usize, 0usize, None);
    progress.begin(label, data.n as u64);
    let result = tch::no_grad(|| -> Result<()> {
        for lo in (0..data.n).step_by(batch) {
            let range = lo..(lo + batch).min(data.n);
            let xs = images_tensor(data, range.clone(), norm)?;
            let logits = model.forward(&xs, &mut ctx)?;
            let hits = logits
                .f_argmax(-1, false)?
                .f_eq_tensor(&labels_tensor(data, range.clone()))?;
            correct += hits.f_sum(tch::Kind::Int64)?.int64_value(&[]) as usize;
            evaluated += range.len();
            progress.advance(range.len() as u64);
            if stop_on_overflow && ctx.stats().total_overflows() > 0 {
                overflow_batch = Some(range);
                break;
            }
        }
        Ok(())
    });
    progress.end();
    result?;
    Ok(RunOutcome {
        correct,
        evaluated,
        stats: ctx.take_stats(),
        overflow_batch,
        seconds: start.elapsed().as_secs_f64(),
    })
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
