//! Every model family trains: option-B ResNet, VGG (exact max-pool) and SmallCNN (exact average
//! pool) take a differentiable step with exact and with PANN activations, and their
//! inference-mode `forward_t` agrees with the fused inference path. SmallCNN also learns: SGD
//! steps through [`pann_train::step::train_step`] fit a tiny batch, and a short run of the
//! trainer on CIFAR-10 writes a model that loads back as `smallcnn`.

mod common;

use pann_nn::{Model, TrainActivation};
use pann_train::loader::Batch;
use pann_train::sgd::Sgd;
use pann_train::step::train_step;
use pann_train::{train_activation, TrainConfig, Trainer};
use tch::{Device, Kind, Tensor};

#[test]
fn resnet_b_vgg_and_smallcnn_train_and_agree_with_inference() -> anyhow::Result<()> {
    tch::manual_seed(11);
    let pann = train_activation(&TrainConfig {
        pann_alpha: Some(8),
        ..TrainConfig::default()
    })?;
    for arch in ["resnet20b", "vgg11", "smallcnn"] {
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

/// A fixed batch of `n` random images with random labels (one-hot targets), 10 classes.
fn random_batch(n: usize) -> Batch {
    let images = Vec::<f32>::try_from(Tensor::randn([n as i64 * 3 * 32 * 32], (Kind::Float, Device::Cpu))).unwrap();
    let labels: Vec<i64> = (0..n as i64).map(|i| (i * 7 + 3) % 10).collect();
    let mut targets = vec![0f32; n * 10];
    for (i, &l) in labels.iter().enumerate() {
        targets[i * 10 + l as usize] = 1.0;
    }
    Batch {
        images,
        targets,
        labels,
        n,
        lambda: None,
        partners: None,
    }
}

#[test]
fn smallcnn_steps_fit_a_tiny_batch_exactly_and_through_the_pann_relu() -> anyhow::Result<()> {
    let pann = train_activation(&TrainConfig {
        pann_alpha: Some(8),
        bound: 20.0,
        ..TrainConfig::default()
    })?;
    for act in [TrainActivation::exact(), pann] {
        tch::manual_seed(21);
        let model = Model::new("smallcnn".parse()?)?;
        let batch = random_batch(16);
        let mut sgd = Sgd::new(model.var_store(), 0.9, true, 5e-4, false)?;
        let losses: Vec<f64> = (0..40)
            .map(|_| train_step(&model, &mut sgd, &act, &batch, [3, 32, 32], 0.02).map(|r| r.loss))
            .collect::<Result<_, _>>()?;
        let (first, last) = (losses[0], *losses.last().unwrap());
        // Chance level is ln 10 ≈ 2.3; 16 random images are memorised well below it.
        assert!(first > 1.5 && last < 0.1 * first, "{:?}: {losses:?}", act.relu);
        // The loss is computed in training mode; inference with running statistics must fit too.
        let xs = Tensor::from_slice(&batch.images).view([16, 3, 32, 32]);
        let predicted = model.forward_exact(&xs)?.argmax(-1, false);
        let hits = predicted
            .eq_tensor(&Tensor::from_slice(&batch.labels))
            .sum(Kind::Int64)
            .int64_value(&[]);
        assert!(hits >= 12, "{hits} of 16 after training");
    }
    Ok(())
}

#[test]
fn smallcnn_trains_on_cifar10_and_loads_back() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = TrainConfig {
        arch: "smallcnn".into(),
        augment: false,
        ..common::small(512, 4)
    };
    let mut run = Trainer::new(cfg, common::opts(dir.path()))?;
    run.run(&mut ())?;
    let r = run.records();
    assert_eq!(r.len(), 4);
    assert!(
        r[3].train_loss < 0.7 * r[0].train_loss,
        "loss did not fall: {:?}",
        r.iter().map(|e| e.train_loss).collect::<Vec<_>>()
    );
    let loaded = Model::load(&run.model_path())?;
    assert_eq!(loaded.architecture().to_string(), "smallcnn");
    let xs = Tensor::randn([4, 3, 32, 32], (Kind::Float, Device::Cpu));
    assert!(run.model().forward_exact(&xs)?.equal(&loaded.forward_exact(&xs)?));
    Ok(())
}
