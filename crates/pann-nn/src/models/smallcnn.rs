//! SmallCNN: a two-convolution CIFAR network small enough to run under CKKS.
//!
//! `conv1` (3×3, 3→c1, padding 1, no bias), BN `bn1`, ReLU, 2×2 average pool; `conv2` (3×3,
//! c1→c2, padding 1, no bias), BN `bn2`, ReLU, 2×2 average pool; flatten in PyTorch's
//! `(C, H, W)` order and a linear layer `fc` (with bias) to the classes. The default widths are
//! c1 = 8, c2 = 16 (the architecture `smallcnn`).
//!
//! Everything but the two ReLUs is linear: the average pools are additions and a scalar
//! multiplication by ¼ that folds into the next linear layer, so under homomorphic encryption
//! the network costs three plaintext multiplications and two polynomial ReLUs.
//!
//! Parameter names are those of a PyTorch module with attributes `conv1`, `bn1`, `conv2`,
//! `bn2`, `fc`: `conv1.weight`, `bn1.{weight,bias,running_mean,running_var}`, `conv2.weight`,
//! `bn2.*`, `fc.{weight,bias}`. The ReLU sites are `relu1` (after `bn1`) and `relu2` (after
//! `bn2`); there are no max-pool sites.
//!
//! # Shapes
//! Input `[N, 3, 32, 32]` (the input side is fixed by `fc`, which takes
//! `c2 · (32/4) · (32/4)` features), output logits `[N, num_classes]`.

use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::mixed::Conv;
use crate::error::Result;
use crate::forward::ForwardCtx;

mod differentiable;

/// Side of the square input the network is built for.
pub(crate) const INPUT_SIDE: i64 = 32;

/// Window and stride of both average pools.
pub(crate) const POOL: i64 = 2;

/// Features the linear layer takes for `c2` channels after the second conv.
pub(crate) fn fc_features(c2: i64) -> i64 {
    let side = INPUT_SIDE / (POOL * POOL);
    c2 * side * side
}

/// A SmallCNN built over an `nn::Path`.
pub(crate) struct SmallCnn {
    conv1: Conv,
    bn1: nn::BatchNorm,
    conv2: Conv,
    bn2: nn::BatchNorm,
    fc: nn::Linear,
}

fn conv3x3(p: nn::Path, cin: i64, cout: i64) -> Conv {
    Conv::new(p, cin, cout, 3, 1, 1, false)
}

/// The 2×2 stride-2 average pool (no padding, so every window has four inputs).
fn avg_pool(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_avg_pool2d([POOL, POOL], [POOL, POOL], [0, 0], false, true, None)?)
}

impl SmallCnn {
    /// Builds the network with widths `c1`, `c2`; returns it and its ReLU site names.
    pub(crate) fn new(p: &nn::Path, c1: i64, c2: i64, num_classes: i64) -> (Self, Vec<String>) {
        let net = Self {
            conv1: conv3x3(p / "conv1", 3, c1),
            bn1: super::batch_norm2d(p / "bn1", c1),
            conv2: conv3x3(p / "conv2", c1, c2),
            bn2: super::batch_norm2d(p / "bn2", c2),
            fc: nn::linear(p / "fc", fc_features(c2), num_classes, Default::default()),
        };
        (net, vec!["relu1".to_string(), "relu2".to_string()])
    }

    /// Logits of `x` (`[N, 3, 32, 32]`), running the activation sites through `ctx`.
    pub(crate) fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let y = self.bn1.forward_t(&x.apply(&self.conv1), false);
        let y = avg_pool(&ctx.relu(0, y)?)?;
        let y = self.bn2.forward_t(&y.apply(&self.conv2), false);
        let y = avg_pool(&ctx.relu(1, y)?)?;
        // [N, c2, 8, 8] -> [N, c2·64], channel-major as PyTorch's flatten.
        Ok(y.f_flatten(1, -1)?.apply(&self.fc))
    }
}
