//! bfloat16 mixed-precision training (`--bf16`): the forward pass computes nearly the f32 logits, gradients
//! reach the f32 weights, a short run learns, resume stays bit-identical, and the polynomial ReLU is refused.

mod common;

use pann_nn::{Model, TrainActivation};
use pann_train::checkpoint::{load, CHECKPOINT_FILE};
use pann_train::{TrainConfig, Trainer};
use tch::{Device, Kind, Tensor};

#[test]
fn bf16_forward_is_close_to_f32_and_trains_f32_weights() -> anyhow::Result<()> {
    for arch in ["resnet20", "resnet20b", "vgg11", "smallcnn"] {
        tch::manual_seed(11);
        let mut model = Model::new(arch.parse()?)?;
        let xs = Tensor::randn([16, 3, 32, 32], (Kind::Float, Device::Cpu));
        let exact = TrainActivation::exact();
        let f32_logits = model.forward_t(&xs, &exact, true)?;
        model.set_bf16_training(true);
        let bf16_logits = model.forward_t(&xs, &exact, true)?;
        assert_eq!(bf16_logits.kind(), Kind::Float, "{arch}: the loss must see f32 logits");
        // bf16 keeps 8 significant bits (relative rounding 2^-9 per value): through a network that is a few percent.
        let diff = (&f32_logits - &bf16_logits).abs().max().double_value(&[]);
        let scale = f32_logits.abs().max().double_value(&[]);
        assert!(diff <= 0.1 * scale, "{arch}: bf16 logits off by {diff} (scale {scale})");
        assert!(diff > 0.0, "{arch}: bf16 changed nothing");
        bf16_logits.sum(Kind::Float).backward();
        for (name, v) in model.var_store().trainable_variables().iter().enumerate() {
            assert_eq!(v.kind(), Kind::Float, "{arch}: parameter {name}");
            let g = v.grad();
            assert!(
                g.defined() && g.kind() == Kind::Float,
                "{arch}: parameter {name} has no f32 gradient"
            );
        }
    }
    Ok(())
}

fn recipe() -> TrainConfig {
    TrainConfig {
        bf16: true,
        mixup: 0.4,
        neg_noise: 1.0,
        noise_alpha: Some(6),
        ..common::small(256, 3)
    }
}

#[test]
fn bf16_run_learns_and_resumes_bit_identically() -> anyhow::Result<()> {
    let whole = tempfile::tempdir()?;
    let mut run = Trainer::new(
        TrainConfig {
            mixup: 0.0,
            neg_noise: 0.0,
            noise_alpha: None,
            augment: false,
            ..recipe()
        },
        common::opts(whole.path()),
    )?;
    run.run(&mut ())?;
    let losses: Vec<f64> = run.records().iter().map(|r| r.train_loss).collect();
    assert!(losses[2] < 0.85 * losses[0], "loss did not fall in bf16: {losses:?}");

    let a = tempfile::tempdir()?;
    Trainer::new(recipe(), common::opts(a.path()))?.run(&mut ())?;
    let b = tempfile::tempdir()?;
    Trainer::new(recipe(), common::opts(b.path()))?.run_epoch(&mut ())?;
    Trainer::resume(common::opts(b.path()), Some(&recipe()))?.run(&mut ())?;
    let (x, y) = (
        load(&a.path().join(CHECKPOINT_FILE))?,
        load(&b.path().join(CHECKPOINT_FILE))?,
    );
    assert!(x.state.config.bf16 && y.state.config.bf16);
    for (name, t) in &x.model {
        assert!(t.equal(&y.model[name]), "{name}: resumed bf16 run differs");
    }
    Ok(())
}

#[test]
fn bf16_model_refuses_a_polynomial_activation() -> anyhow::Result<()> {
    let mut model = Model::new("resnet20".parse()?)?;
    model.set_bf16_training(true);
    let poly = TrainConfig {
        pann_alpha: Some(8),
        ..TrainConfig::default()
    };
    let act = pann_train::trainer::train_activation(&poly)?;
    let xs = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let err = model.forward_t(&xs, &act, true).unwrap_err().to_string();
    assert!(err.contains("bf16"), "{err}");
    model.set_bf16_training(false);
    assert!(model.forward_t(&xs, &act, true).is_ok());
    Ok(())
}

#[test]
fn bf16_refuses_the_polynomial_relu() {
    let cfg = TrainConfig {
        pann_alpha: Some(8),
        ..recipe()
    };
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("--bf16") && err.contains("--pann-alpha"), "{err}");
}
