//! The differentiable forward pass of SmallCNN (see [`crate::train_activation`]).

use tch::nn::ModuleT;
use tch::Tensor;

use super::{avg_pool, SmallCnn};
use crate::error::Result;
use crate::models::mixed;
use crate::train_activation::TrainActivation;

impl SmallCnn {
    /// Logits of `x` with BN in training mode if `train`, ReLUs from `act`, exact average pools.
    pub(crate) fn forward_t(&self, x: &Tensor, act: &TrainActivation, train: bool) -> Result<Tensor> {
        let y = self.bn1.forward_t(&self.conv1.forward_mixed(x)?, train);
        let y = avg_pool(&act.apply_at(0, &y, train)?)?;
        let y = self.bn2.forward_t(&self.conv2.forward_mixed(&y)?, train);
        let y = avg_pool(&act.apply_at(1, &y, train)?)?;
        mixed::linear(&self.fc, &y.f_flatten(1, -1)?)
    }
}
