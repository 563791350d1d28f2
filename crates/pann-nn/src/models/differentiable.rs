//! [`Model::forward_t`]: the differentiable forward pass used for training.

use tch::{Device, Kind, Tensor};

use super::{Model, Net};
use crate::error::{Error, Result};
use crate::train_activation::TrainActivation;

impl Model {
    /// Logits for a batch as tensor ops autograd can differentiate: BN in training mode (batch
    /// statistics, running statistics updated) if `train`, else in inference mode; every ReLU
    /// site runs `act` (see [`crate::train_activation`]), max-pools and average pools run exactly.
    ///
    /// With exact activations and `train = false` this computes the same logits as
    /// [`Model::forward`] up to float rounding (bf16 rounding with [`Model::set_bf16_training`]),
    /// but keeps the graph for `backward`.
    ///
    /// # Shapes
    /// `xs`: `[N, 3, H, W]` float (32×32 for VGG and SmallCNN); result `[N, num_classes]`.
    pub fn forward_t(&self, xs: &Tensor, act: &TrainActivation, train: bool) -> Result<Tensor> {
        let size = xs.size();
        let fixed = self.fixed_input_side();
        let ok =
            size.len() == 4 && size[1] == 3 && size[2] > 0 && size[3] > 0 && fixed.is_none_or(|s| size[2..] == [s, s]);
        if !ok || xs.kind() != Kind::Float || xs.device() != Device::Cpu {
            let want = match fixed {
                Some(s) => format!("[N, 3, {s}, {s}]"),
                None => "[N, 3, H, W]".into(),
            };
            return Err(Error::BadInput(format!(
                "{} expects a CPU float tensor {want}, got {:?} {size:?}",
                self.arch,
                xs.kind()
            )));
        }
        act.validate()?;
        let xs = if self.bf16_training {
            if !act.is_bf16_safe() {
                return Err(Error::BadActivation(
                    "polynomial activations need more precision than bf16 training gives; train them in f32".into(),
                ));
            }
            xs.f_to_kind(Kind::BFloat16)?
        } else {
            xs.shallow_clone()
        };
        match &self.net {
            Net::ResNet(n) => n.forward_t(&xs, act, train),
            Net::Vgg(n) => n.forward_t(&xs, act, train),
            Net::SmallCnn(n) => n.forward_t(&xs, act, train),
        }
    }

    /// [`Model::forward_t`] in training mode.
    pub fn forward_train(&self, xs: &Tensor, act: &TrainActivation) -> Result<Tensor> {
        self.forward_t(xs, act, true)
    }
}
