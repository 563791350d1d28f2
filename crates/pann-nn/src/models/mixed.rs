//! bfloat16 mixed precision for the training forward pass ([`super::Model::set_bf16_training`]).
//!
//! The scheme of PyTorch's CPU autocast, except that the linear head stays `f32`: parameters stay `f32` (the optimiser updates `f32` master weights),
//! each convolution casts its input (already bf16 after the first one) and its weight to bf16 and returns bf16,
//! BatchNorm takes the bf16 activations with its `f32` parameters and statistics, and the linear head runs in
//! `f32`. oneDNN's bf16 convolutions use the CPU's AVX-512 BF16 instructions where there are any. The casts are
//! autograd ops, so gradients reach the `f32` weights. Which layers run in which precision is decided by the
//! activation's kind alone: in `f32` every function here is the plain layer.

use tch::{nn, Kind, Tensor};

use crate::error::Result;

/// A 2-d convolution (zero padding, no dilation or groups, as every model here has) that keeps its stride and
/// padding, which `tch`'s `Conv2D` does not expose, so that it can also run on bf16 input.
#[derive(Debug)]
pub(crate) struct Conv {
    inner: nn::Conv2D,
    stride: i64,
    padding: i64,
}

impl Conv {
    /// A `k×k` convolution from `cin` to `cout` channels under `p` (weights `p/weight`, `p/bias` if `bias`).
    pub(crate) fn new<'a>(
        p: impl std::borrow::Borrow<nn::Path<'a>>,
        cin: i64,
        cout: i64,
        k: i64,
        stride: i64,
        padding: i64,
        bias: bool,
    ) -> Self {
        let cfg = nn::ConvConfig {
            stride,
            padding,
            bias,
            ..Default::default()
        };
        Self {
            inner: nn::conv2d(p, cin, cout, k, cfg),
            stride,
            padding,
        }
    }

    /// The convolution of `x`, in bf16 if `x` is bf16 (its weights cast for the call).
    pub(crate) fn forward_mixed(&self, x: &Tensor) -> Result<Tensor> {
        if x.kind() != Kind::BFloat16 {
            return Ok(x.apply(&self.inner));
        }
        let ws = self.inner.ws.f_to_kind(Kind::BFloat16)?;
        let bs = self
            .inner
            .bs
            .as_ref()
            .map(|b| b.f_to_kind(Kind::BFloat16))
            .transpose()?;
        Ok(x.f_conv2d(
            &ws,
            bs.as_ref(),
            [self.stride, self.stride],
            [self.padding, self.padding],
            [1, 1],
            1,
        )?)
    }
}

impl nn::Module for Conv {
    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.apply(&self.inner)
    }
}

/// `l` applied to `x` in `f32` (the logits the loss sees stay `f32`).
pub(crate) fn linear(l: &nn::Linear, x: &Tensor) -> Result<Tensor> {
    Ok(x.f_to_kind(Kind::Float)?.apply(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bf16_input_runs_the_convolution_in_bf16() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        for (stride, padding, bias) in [(1, 1, false), (2, 1, true), (2, 0, false)] {
            let c = Conv::new(
                vs.root() / format!("c{stride}{padding}{bias}"),
                3,
                8,
                3,
                stride,
                padding,
                bias,
            );
            let x = Tensor::randn([2, 3, 9, 9], (Kind::Float, tch::Device::Cpu));
            let full = c.forward_mixed(&x).unwrap();
            let half = c.forward_mixed(&x.to_kind(Kind::BFloat16)).unwrap();
            assert_eq!(half.kind(), Kind::BFloat16);
            assert_eq!(half.size(), full.size(), "stride {stride} padding {padding}");
            let diff = (half.to_kind(Kind::Float) - &full).abs().max().double_value(&[]);
            let scale = full.abs().max().double_value(&[]);
            assert!(
                diff <= 0.05 * scale,
                "stride {stride} padding {padding}: {diff} vs {scale}"
            );
        }
    }
}
