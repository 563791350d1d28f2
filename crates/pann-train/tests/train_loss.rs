//! A few epochs on a small CIFAR-10 subset: the loss falls, and the model the run writes loads
//! back with `Model::load` and gives the same logits.

mod common;

use pann_nn::{Model, TrainActivation};
use pann_train::Trainer;
use tch::Tensor;

#[test]
fn loss_falls_and_model_round_trips() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = pann_train::TrainConfig {
        augment: false,
        ..common::small(256, 4)
    };
    let mut run = Trainer::new(cfg, common::opts(dir.path()))?;
    run.run(&mut ())?;
    let r = run.records();
    assert_eq!(r.len(), 4);
    assert!(
        r[3].train_loss < 0.8 * r[0].train_loss,
        "loss did not fall: {:?}",
        r.iter().map(|e| e.train_loss).collect::<Vec<_>>()
    );
    assert!(r[3].train_acc > r[0].train_acc);
    let csv = std::fs::read_to_string(dir.path().join("log.csv"))?;
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("log.json"))?)?;
    assert_eq!(json.as_array().map(Vec::len), Some(4));

    // train → save → Model::load → eval.
    let loaded = Model::load(&run.model_path())?;
    assert_eq!(loaded.architecture(), run.model().architecture());
    let xs = Tensor::randn([8, 3, 32, 32], (tch::Kind::Float, tch::Device::Cpu));
    let a = run.model().forward_exact(&xs)?;
    let b = loaded.forward_exact(&xs)?;
    assert!(a.equal(&b), "loaded model differs");
    // The differentiable path in inference mode agrees with the fused inference kernels.
    let c = tch::no_grad(|| loaded.forward_t(&xs, &TrainActivation::exact(), false))?;
    let diff = (a - c).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "forward_t differs from forward by {diff}");
    Ok(())
}
