//! A run killed after an epoch and resumed continues from exactly the state it saved, and ends
//! bit-identical to a run that never stopped. Augmentation, mixup, label smoothing and negative-input
//! noise are all on, so every source of randomness is covered.
//!
//! Compared are the tensors, not the files: a safetensors header holds its metadata map in
//! hash order, so two files with identical tensors can differ in their header bytes.

mod common;

use pann_train::checkpoint::{load, CHECKPOINT_FILE};
use pann_train::{TrainConfig, Trainer};
use tch::Tensor;

fn recipe() -> TrainConfig {
    TrainConfig {
        mixup: 0.4,
        label_smoothing: 0.1,
        neg_noise: 1.0,
        noise_alpha: Some(6),
        ..common::small(192, 3)
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn resume_is_bit_identical_to_uninterrupted_run() -> anyhow::Result<()> {
    let whole = tempfile::tempdir()?;
    Trainer::new(recipe(), common::opts(whole.path()))?.run(&mut ())?;

    let parts = tempfile::tempdir()?;
    {
        let mut first = Trainer::new(recipe(), common::opts(parts.path()))?;
        first.run_epoch(&mut ())?;
        // Dropped here, as if killed after the first checkpoint.
    }
    let saved = load(&parts.path().join(CHECKPOINT_FILE))?;
    let mut rest = Trainer::resume(common::opts(parts.path()), Some(&recipe()))?;
    assert_eq!(rest.epochs_done(), 1);
    for (name, var) in rest.model().var_store().variables() {
        assert!(var.equal(&saved.model[&name]), "{name} not restored bit-exactly");
    }
    rest.run_epoch(&mut ())?;
    drop(rest);
    let mut last = Trainer::resume(common::opts(parts.path()), None)?;
    last.run(&mut ())?;

    let (a, b) = (
        load(&whole.path().join(CHECKPOINT_FILE))?,
        load(&parts.path().join(CHECKPOINT_FILE))?,
    );
    assert_eq!(a.state.step, b.state.step);
    assert_eq!(a.state.records.len(), 3);
    let mut worst = (0.0f64, String::new());
    let pairs = a.model.iter().map(|(n, t)| (n, t, &b.model[n]));
    for (name, t, other) in pairs.chain(a.momentum.iter().map(|(n, t)| (n, t, &b.momentum[n]))) {
        let d = max_diff(t, other) / (1.0 + t.abs().max().double_value(&[]));
        if d > worst.0 {
            worst = (d, name.clone());
        }
    }
    let (d, at) = worst;
    assert!(
        d == 0.0,
        "resumed run differs from the uninterrupted one by {d:e} (relative) at {at}"
    );
    for (x, y) in a.state.records.iter().zip(&b.state.records) {
        assert_eq!(x.train_loss, y.train_loss);
    }
    Ok(())
}
