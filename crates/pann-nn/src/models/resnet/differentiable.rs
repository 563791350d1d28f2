//! The differentiable forward pass of the CIFAR ResNet (see [`crate::train_activation`]).

use tch::nn::ModuleT;
use tch::Tensor;

use super::{Block, ResNet};
use crate::error::Result;
use crate::models::mixed;
use crate::train_activation::TrainActivation;

impl ResNet {
    /// Logits of `x` with BN in training mode if `train`, activations from `act`.
    pub(crate) fn forward_t(&self, x: &Tensor, act: &TrainActivation, train: bool) -> Result<Tensor> {
        let y = self.bn1.forward_t(&self.conv1.forward_mixed(x)?, train);
        let mut y = act.apply_at(0, &y, train)?;
        for b in &self.blocks {
            y = b.forward_t(&y, act, train)?;
        }
        // Global average pooling: [N, 64, h, w] -> [N, 64].
        let y = y.f_mean_dim(&[2i64, 3][..], false, None)?;
        mixed::linear(&self.linear, &y)
    }
}

impl Block {
    fn forward_t(&self, x: &Tensor, act: &TrainActivation, train: bool) -> Result<Tensor> {
        let y = self.bn1.forward_t(&self.conv1.forward_mixed(x)?, train);
        let y = act.apply_at(self.site, &y, train)?;
        let y = self.bn2.forward_t(&self.conv2.forward_mixed(&y)?, train);
        let short = self.shortcut(x, train)?;
        act.apply_at(self.site + 1, &y.f_add(&short)?, train)
    }
}
