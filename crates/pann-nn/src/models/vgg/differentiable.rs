//! The differentiable forward pass of the CIFAR VGG (see [`crate::train_activation`]).

use tch::nn::ModuleT;
use tch::Tensor;

use super::{Layer, Vgg, POOL};
use crate::error::Result;
use crate::models::mixed;
use crate::train_activation::TrainActivation;

impl Vgg {
    /// Logits of `x` with BN in training mode if `train`, ReLUs from `act`, exact max-pools.
    pub(crate) fn forward_t(&self, x: &Tensor, act: &TrainActivation, train: bool) -> Result<Tensor> {
        let mut y = x.shallow_clone();
        for layer in &self.layers {
            y = match layer {
                Layer::Conv { conv, bn, site } => {
                    act.apply_at(*site, &bn.forward_t(&conv.forward_mixed(&y)?, train), train)?
                }
                Layer::Pool { .. } => y.f_max_pool2d([POOL, POOL], [POOL, POOL], [0, 0], [1, 1], false)?,
            };
        }
        // [N, 512, 1, 1] -> [N, 512].
        mixed::linear(&self.classifier, &y.f_flatten(1, -1)?)
    }
}
