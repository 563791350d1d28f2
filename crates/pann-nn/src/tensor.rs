//! Dataset batches as tensors.
//!
//! pann-data hands out bytes and normalised `f32` buffers; this is the one place where they
//! become `tch` tensors.

use std::ops::Range;

use pann_data::{Dataset, Normalization};
use tch::Tensor;

use crate::error::Result;

/// Normalised images `range` of `data` as a `[n, C, H, W]` float tensor.
pub fn images_tensor(data: &Dataset, range: Range<usize>, norm: &Normalization) -> Result<Tensor> {
    let n = range.len() as i64;
    let values = norm.normalize(data, range)?;
    let shape = [n, data.channels as i64, data.height as i64, data.width as i64];
    Ok(Tensor::from_slice(&values).f_view(shape)?)
}

/// Labels `range` of `data` as an `[n]` int64 tensor.
pub fn labels_tensor(data: &Dataset, range: Range<usize>) -> Tensor {
    let labels: Vec<i64> = data.labels[range].iter().map(|&l| l as i64).collect();
    Tensor::from_slice(&labels)
}
