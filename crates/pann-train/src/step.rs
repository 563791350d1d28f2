//! One optimisation step on a prepared batch: forward in training mode, loss, backward, SGD.

use pann_nn::tensor::to_channels_last;
use pann_nn::{Model, TrainActivation};
use tch::Tensor;

use crate::error::Result;
use crate::loader::Batch;
use crate::loss::{correct, soft_cross_entropy};
use crate::sgd::Sgd;

/// Loss and correct predictions of one step.
#[derive(Debug, Clone, Copy)]
pub struct StepResult {
    /// Mean loss over the batch.
    pub loss: f64,
    /// Correct predictions (against the label of larger weight).
    pub correct: i64,
}

/// Image shape `[C, H, W]` of the batches.
pub type ImageShape = [i64; 3];

/// Trains on `b` with learning rate `lr`.
pub fn train_step(
    model: &Model,
    sgd: &mut Sgd,
    act: &TrainActivation,
    b: &Batch,
    shape: ImageShape,
    lr: f64,
) -> Result<StepResult> {
    let n = b.n as i64;
    // Channels-last: faster steps than NCHW for ResNet-20 here (539 against 438 images/s, results/bench/README.md).
    let xs = to_channels_last(&Tensor::from_slice(&b.images).f_view([n, shape[0], shape[1], shape[2]])?)?;
    let ts = Tensor::from_slice(&b.targets).f_view([n, -1])?;
    let ys = Tensor::from_slice(&b.labels);
    let logits = model.forward_train(&xs, act)?;
    let loss = soft_cross_entropy(&logits, &ts)?;
    sgd.zero_grad();
    loss.f_backward()?;
    sgd.step(lr)?;
    Ok(StepResult {
        loss: loss.double_value(&[]),
        correct: correct(&logits.detach(), &ys)?,
    })
}
