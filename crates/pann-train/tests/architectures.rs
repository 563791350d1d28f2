//! Every model family trains: option-B ResNet and VGG (exact max-pool) take a differentiable
//! step with exact and with PANN activations, and their inference-mode `forward_t` agrees with
//! the fused inference path.

use pann_nn::{Model, TrainActivation};
use pann_train::{train_activation, TrainConfig};
use tch::{Device, Kind, Tensor};

#[test]
fn resnet_b_and_vgg_train_and_agree_with_inference() -> anyhow::Result<()> {
    tch::manual_seed(11);
    let pann = train_activation(&TrainConfig {
        pann_alpha: Some(8),
        ..TrainConfig::default()
    })?;
    for arch in ["resnet20b", "vgg11"] {
        let model = Model::new(arch.parse()?)?;
        let xs = Tensor::randn([4, 3, 32, 32], (Kind::Float, Device::Cpu));
        for act in [TrainActivation::exact(), pann.clone()] {
            let loss = model.forward_train(&xs, &act)?.logsumexp([1], false).mean(Kind::Float);
            loss.backward();
            let grads = model
                .var_store()
                .trainable_variables()
                .iter()
                .filter(|v| v.grad().defined())
                .count();
            assert_eq!(grads, model.var_store().trainable_variables().len(), "{arch}");
        }
        let a = model.forward_exact(&xs)?;
        let b = tch::no_grad(|| model.forward_t(&xs, &TrainActivation::exact(), false))?;
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "{arch}: {diff}");
    }
    Ok(())
}
