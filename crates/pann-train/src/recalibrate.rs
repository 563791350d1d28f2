//! BatchNorm recalibration on a training set (see [`pann_nn::bn_recalibration`] for why).
//!
//! The statistics are re-estimated on training images without mixup, with the activation the
//! network will be evaluated with, and — a measured choice, see results/train/README.md — with
//! the crop, flip and cutout of training: a network learns with the statistics of padded and
//! blanked crops, and the statistics of plain images cost it 2–3 points.

use pann_data::{Dataset, Normalization};
use pann_nn::{recalibrate_batch_norm, Model, Recalibration, TrainActivation};
use tch::Tensor;

use crate::data::lookup_tables;
use crate::error::{Error, Result};
use crate::loader::{batches_per_epoch, make_batch, EpochPlan};

/// Which training images a recalibration averages over, and how they are prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecalibrationInputs {
    /// Images per batch (the training batch keeps the statistics comparable).
    pub batch: usize,
    /// Use the first N training images (`None`: all).
    pub images: Option<usize>,
    /// Random crop and flip, as in training.
    pub crop_flip: bool,
    /// Cutout square side (0: off).
    pub cutout: usize,
    /// Seed of the crops, flips and cutout squares.
    pub seed: u64,
}

/// Re-estimates every BN layer's running statistics of `model` on `data`, normalised with
/// `norm`, in file order and never mixed.
pub fn recalibrate_on(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    inputs: RecalibrationInputs,
    act: &TrainActivation,
) -> Result<Recalibration> {
    if inputs.batch < 2 {
        return Err(Error::BadConfig(format!(
            "BN recalibration batch {}: need at least 2 images per batch for a variance",
            inputs.batch
        )));
    }
    let n = inputs.images.unwrap_or(data.n).min(data.n);
    if n < 2 {
        return Err(Error::BadConfig(format!(
            "BN recalibration needs at least 2 training images, got {n}"
        )));
    }
    let plan = EpochPlan {
        seed: inputs.seed,
        epoch: 0,
        batch: inputs.batch,
        augment: inputs.crop_flip,
        cutout: inputs.cutout,
        mixup: 0.0,
        smoothing: 0.0,
        luts: lookup_tables(norm, data.channels)?,
    };
    let order: Vec<usize> = (0..n).collect();
    let shape = [data.channels as i64, data.height as i64, data.width as i64];
    // `batches_per_epoch` drops a last batch of a single image: it would have no variance.
    let batches = (0..batches_per_epoch(n, inputs.batch)).map(|b| -> pann_nn::Result<Tensor> {
        let batch = make_batch(data, &plan, &order, b).map_err(|e| pann_nn::Error::BadInput(e.to_string()))?;
        Ok(Tensor::from_slice(&batch.images).f_view([batch.n as i64, shape[0], shape[1], shape[2]])?)
    });
    Ok(recalibrate_batch_norm(model, act, batches)?)
}
