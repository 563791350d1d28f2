//! `--snapshots`: one weights file per epoch, kept across a resume.
//!
//! A test file of its own: training reseeds libtorch's global generator, so a second training
//! test in the same process would interleave with `resume.rs`'s bit-identity check.

mod common;

use pann_train::{TrainConfig, Trainer};
use tch::Tensor;

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// `snapshots` keeps one file per epoch, across a resume; the last equals `model.safetensors`.
#[test]
fn snapshots_keep_every_epoch_across_a_resume() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = TrainConfig {
        snapshots: true,
        ..common::small(96, 2)
    };
    Trainer::new(cfg.clone(), common::opts(dir.path()))?.run_epoch(&mut ())?;
    Trainer::resume(common::opts(dir.path()), Some(&cfg))?.run(&mut ())?;
    let load = |f: &str| pann_nn::Model::load(&dir.path().join(f));
    let (e1, e2, last) = (
        load(&pann_train::snapshot_file(1))?,
        load(&pann_train::snapshot_file(2))?,
        load("model.safetensors")?,
    );
    assert!(!dir.path().join(pann_train::snapshot_file(3)).exists());
    let w = |m: &pann_nn::Model| m.var_store().variables()["conv1.weight"].copy();
    assert!(w(&e2).equal(&w(&last)), "last snapshot is not the final model");
    assert!(max_diff(&w(&e1), &w(&e2)) > 0.0, "epoch 1 and 2 snapshots are the same");
    Ok(())
}
