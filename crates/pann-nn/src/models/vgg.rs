//! VGG-11/13/16/19 with batch normalisation for CIFAR (Simonyan & Zisserman, 2015, table 1
//! configurations A, B, D, E), in the common CIFAR form: 3×3 convolutions with bias, each
//! followed by BN and ReLU, 2×2 max-pools, and a single linear classifier on the 512 features
//! left after the fifth pool.
//!
//! Parameter names follow the usual PyTorch CIFAR definition where `features` is one
//! `nn.Sequential` of `Conv2d, BatchNorm2d, ReLU` triples and `MaxPool2d` layers, and
//! `classifier` is one `nn.Linear(512, num_classes)`: a convolution at index `i` is
//! `features.{i}.{weight,bias}`, its BN `features.{i+1}.*`, its ReLU is index `i+2`, a pool
//! takes one index; then `classifier.{weight,bias}`. Activation sites are named after those
//! module indices: the ReLU of a conv at `i` is site `features.{i+2}`, a pool at `j` is site
//! `features.{j}`.
//!
//! # Shapes
//! Input `[N, 3, 32, 32]`, output logits `[N, num_classes]`.

use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::mixed::Conv;
use crate::error::Result;
use crate::forward::ForwardCtx;

mod differentiable;

/// `Some(c)` is a 3×3 convolution to `c` channels, `None` a 2×2 max-pool.
pub(crate) fn config(depth: usize) -> Option<Vec<Option<i64>>> {
    let m = None;
    let c = Some;
    Some(match depth {
        11 => vec![
            c(64),
            m,
            c(128),
            m,
            c(256),
            c(256),
            m,
            c(512),
            c(512),
            m,
            c(512),
            c(512),
            m,
        ],
        13 => vec![
            c(64),
            c(64),
            m,
            c(128),
            c(128),
            m,
            c(256),
            c(256),
            m,
            c(512),
            c(512),
            m,
            c(512),
            c(512),
            m,
        ],
        16 => vec![
            c(64),
            c(64),
            m,
            c(128),
            c(128),
            m,
            c(256),
            c(256),
            c(256),
            m,
            c(512),
            c(512),
            c(512),
            m,
            c(512),
            c(512),
            c(512),
            m,
        ],
        19 => vec![
            c(64),
            c(64),
            m,
            c(128),
            c(128),
            m,
            c(256),
            c(256),
            c(256),
            c(256),
            m,
            c(512),
            c(512),
            c(512),
            c(512),
            m,
            c(512),
            c(512),
            c(512),
            c(512),
            m,
        ],
        _ => return None,
    })
}

// Built once per model; the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Layer {
    Conv { conv: Conv, bn: nn::BatchNorm, site: usize },
    Pool { site: usize },
}

/// A CIFAR VGG built over an `nn::Path`.
pub(crate) struct Vgg {
    layers: Vec<Layer>,
    classifier: nn::Linear,
}

/// Window and stride of every max-pool.
pub(crate) const POOL: i64 = 2;

impl Vgg {
    /// Builds the network; returns it with its ReLU and max-pool site names.
    pub(crate) fn new(p: &nn::Path, depth: usize, num_classes: i64) -> Option<(Self, Vec<String>, Vec<String>)> {
        let f = p / "features";
        let (mut layers, mut relus, mut pools) = (Vec::new(), Vec::new(), Vec::new());
        let (mut index, mut cin) = (0usize, 3i64);
        for entry in config(depth)? {
            match entry {
                Some(cout) => {
                    layers.push(Layer::Conv {
                        conv: Conv::new(&f / index, cin, cout, 3, 1, 1, true),
                        bn: super::batch_norm2d(&f / (index + 1), cout),
                        site: relus.len(),
                    });
                    relus.push(format!("features.{}", index + 2));
                    index += 3;
                    cin = cout;
                }
                None => {
                    layers.push(Layer::Pool { site: pools.len() });
                    pools.push(format!("features.{index}"));
                    index += 1;
                }
            }
        }
        let classifier = nn::linear(p / "classifier", cin, num_classes, Default::default());
        Some((Self { layers, classifier }, relus, pools))
    }

    /// Logits of `x` (`[N, 3, 32, 32]`), running the activation sites through `ctx`.
    pub(crate) fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let mut y = x.shallow_clone();
        for layer in &self.layers {
            y = match layer {
                Layer::Conv { conv, bn, site } => ctx.relu(*site, bn.forward_t(&y.apply(conv), false))?,
                Layer::Pool { site } => ctx.max_pool(*site, &y, POOL)?,
            };
        }
        // [N, 512, 1, 1] -> [N, 512].
        Ok(y.f_flatten(1, -1)?.apply(&self.classifier))
    }
}
