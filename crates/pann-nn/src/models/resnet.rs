//! CIFAR ResNets (He et al., 2016, §4.2): ResNet-20/32/44/56/110 and any depth `6n + 2`.
//!
//! A 3×3 convolution (3→16) with BN and ReLU, three stages of `n` basic blocks with 16, 32 and
//! 64 channels (the first block of stages 2 and 3 has stride 2), global average pooling and a
//! linear layer. A basic block is `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
//! Where a block changes shape the shortcut is
//! * option A: `x[:, :, ::2, ::2]` zero-padded by `planes/4` channels on each side (no
//!   parameters), as in the paper and akamaster's `pytorch_resnet_cifar10`;
//! * option B: a 1×1 stride-2 convolution `shortcut.0` and a BN `shortcut.1`.
//!
//! Parameter names are akamaster's state-dict names: `conv1.weight`, `bn1.*`,
//! `layer{1,2,3}.{i}.{conv1,bn1,conv2,bn2}.*`, `layer{s}.{i}.shortcut.{0,1}.*` (option B),
//! `linear.{weight,bias}`. ReLU sites are `relu` (after `bn1`), then `layer{s}.{i}.relu1` and
//! `layer{s}.{i}.relu2` for each block, in forward order.
//!
//! # Shapes
//! Input `[N, 3, H, W]` (CIFAR: 32×32), output logits `[N, num_classes]`.

use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::mixed::Conv;
use super::Shortcut;
use crate::error::Result;
use crate::forward::ForwardCtx;

mod differentiable;

/// The shortcut path of one block.
// Built once per model; the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Path {
    Identity,
    /// Option A: subsample and zero-pad `pad` channels on each side.
    Pad {
        pad: i64,
    },
    /// Option B: 1×1 stride-2 convolution and BN.
    Conv {
        conv: Conv,
        bn: nn::BatchNorm,
    },
}

struct Block {
    conv1: Conv,
    bn1: nn::BatchNorm,
    conv2: Conv,
    bn2: nn::BatchNorm,
    shortcut: Path,
    /// Index of `relu1`; `relu2` is the next one.
    site: usize,
}

/// A CIFAR ResNet built over an `nn::Path`.
pub(crate) struct ResNet {
    conv1: Conv,
    bn1: nn::BatchNorm,
    blocks: Vec<Block>,
    linear: nn::Linear,
}

fn conv3x3(p: nn::Path, cin: i64, cout: i64, stride: i64) -> Conv {
    Conv::new(p, cin, cout, 3, stride, 1, false)
}

fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    super::batch_norm2d(p, c)
}

impl ResNet {
    /// Builds the network with `n` blocks per stage; returns it and its ReLU site names.
    pub(crate) fn new(p: &nn::Path, n: usize, shortcut: Shortcut, num_classes: i64) -> (Self, Vec<String>) {
        let mut sites = vec!["relu".to_string()];
        let mut blocks = Vec::new();
        let mut cin = 16;
        for (stage, planes) in [16i64, 32, 64].into_iter().enumerate() {
            for i in 0..n {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                let q = p / format!("layer{}", stage + 1) / i;
                let path = if stride == 1 && cin == planes {
                    Path::Identity
                } else {
                    match shortcut {
                        Shortcut::A => Path::Pad { pad: planes / 4 },
                        Shortcut::B => {
                            let s = &q / "shortcut";
                            Path::Conv {
                                conv: Conv::new(&s / 0, cin, planes, 1, stride, 0, false),
                                bn: bn(&s / 1, planes),
                            }
                        }
                    }
                };
                let name = format!("layer{}.{i}", stage + 1);
                blocks.push(Block {
                    conv1: conv3x3(&q / "conv1", cin, planes, stride),
                    bn1: bn(&q / "bn1", planes),
                    conv2: conv3x3(&q / "conv2", planes, planes, 1),
                    bn2: bn(&q / "bn2", planes),
                    shortcut: path,
                    site: sites.len(),
                });
                sites.push(format!("{name}.relu1"));
                sites.push(format!("{name}.relu2"));
                cin = planes;
            }
        }
        let net = Self {
            conv1: conv3x3(p / "conv1", 3, 16, 1),
            bn1: bn(p / "bn1", 16),
            blocks,
            linear: nn::linear(p / "linear", 64, num_classes, Default::default()),
        };
        (net, sites)
    }

    /// Logits of `x` (`[N, 3, H, W]`), running the activation sites through `ctx`.
    pub(crate) fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let y = self.bn1.forward_t(&x.apply(&self.conv1), false);
        let mut y = ctx.relu(0, y)?;
        for b in &self.blocks {
            y = b.forward(&y, ctx)?;
        }
        // Global average pooling: [N, 64, h, w] -> [N, 64].
        let y = y.f_mean_dim(&[2i64, 3][..], false, None)?;
        Ok(y.apply(&self.linear))
    }
}

impl Block {
    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let y = self.bn1.forward_t(&x.apply(&self.conv1), false);
        let y = ctx.relu(self.site, y)?;
        let y = self.bn2.forward_t(&y.apply(&self.conv2), false);
        let short = self.shortcut(x, false)?;
        ctx.relu(self.site + 1, y.f_add(&short)?)
    }

    /// The shortcut branch: identity, option A (subsample, zero-pad channels) or option B (1×1 conv + BN, with BN
    /// in training mode when `train`). Shared by the inference and the training forward.
    fn shortcut(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(match &self.shortcut {
            Path::Identity => x.shallow_clone(),
            Path::Pad { pad } => x
                .f_slice(2, 0, None, 2)?
                .f_slice(3, 0, None, 2)?
                .f_constant_pad_nd([0, 0, 0, 0, *pad, *pad])?,
            Path::Conv { conv, bn } => bn.forward_t(&conv.forward_mixed(x)?, train),
        })
    }
}
