//! The differentiable forward pass of the CIFAR ResNet (see [`crate::training`]).

use tch::nn::ModuleT;
use tch::Tensor;

use super::{Block, ResNet};
use crate::error::Result;
use crate::training::TrainActivation;

impl ResNet {
    /// Logits of `x` with BN in training mode if `train`, activations from `act`.
    pub(crate) fn forward_t(&self, x: &Tensor, act: &TrainActivation, train: bool) -> Result<Tensor> {
        let y = self.bn1.forward_t(&x.apply(&self.conv1), train);
        let mut y = act.apply(&y, train)?;
        for b in &self.blocks {
            y = b.forward_t(&y, act, train)?;
        }
        // Global average pooling: [N, 64, h, w] -> [N, 64].
        let y = y.f_mean_dim(&[2i64, 3][..], false, None)?;
        Ok(y.apply(&self.linear))
    }
}

impl Block {
    fn forward_t(&self, x: &Tensor, act: &TrainActivation, train: bool) -> Result<Tensor> {
        let y = self.bn1.forward_t(&x.apply(&self.conv1), train);
        let y = act.apply(&y, train)?;
        let y = self.bn2.forward_t(&y.apply(&self.conv2), train);
        let short = self.shortcut(x, train)?;
        act.apply(&y.f_add(&short)?, train)
    }
}
