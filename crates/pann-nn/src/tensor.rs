//! Dataset batches as tensors.
//!
//! pann-data hands out bytes and normalised `f32` buffers; this is the one place where they
//! become `tch` tensors, and where a tensor's memory layout (NCHW or channels-last) is decided.

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

/// The same `[N, C, H, W]` tensor stored channels-last (NHWC strides). libtorch's oneDNN
/// convolutions then run in NHWC and pass the layout on to every later layer (BN, ReLU, the
/// residual additions, their gradients), which on the 2-core machines here is faster than the
/// default NCHW for training and inference alike, with the same values up to the summation order
/// of the convolutions. tch-rs has no memory-format argument; a contiguous copy of the NHWC
/// permutation, permuted back, is exactly PyTorch's `channels_last` tensor.
pub fn to_channels_last(xs: &Tensor) -> Result<Tensor> {
    Ok(xs.f_permute([0, 2, 3, 1])?.f_contiguous()?.f_permute([0, 3, 1, 2])?)
}

/// Whether a 4-d tensor's values lie densely in NHWC order (what [`to_channels_last`] makes).
/// A tensor with one channel or one pixel per channel can be both this and NCHW-contiguous.
pub fn is_channels_last(x: &Tensor) -> bool {
    x.dim() == 4 && x.f_permute([0, 2, 3, 1]).is_ok_and(|t| t.is_contiguous())
}
