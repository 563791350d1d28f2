//! Mixup as specified: one λ ~ Beta(α, α) per batch, inputs and targets mixed with weights λ
//! and 1 − λ against a permutation of the batch.

mod common;

use pann_data::{load_cifar10, Normalization, Split};
use pann_train::data::lookup_tables;
use pann_train::loader::{epoch_order, make_batch, EpochPlan};

#[test]
fn mixup_mixes_inputs_and_labels_with_lambda() -> anyhow::Result<()> {
    let data = load_cifar10(&common::cifar10(), Split::Train, Some(256))?;
    let luts = lookup_tables(&Normalization::imagenet(), 3)?;
    let plan = |mixup: f64| EpochPlan {
        seed: 3,
        epoch: 1,
        batch: 64,
        augment: false,
        mixup,
        smoothing: 0.0,
        luts: luts.clone(),
    };
    let order = epoch_order(data.n, 3, 1);
    let mut lambdas = Vec::new();
    for b in 0..4 {
        let plain = make_batch(&data, &plan(0.0), &order, b)?;
        let mixed = make_batch(&data, &plan(0.4), &order, b)?;
        let lambda = mixed.lambda.expect("mixup on");
        let perm = mixed.partners.clone().expect("mixup on");
        assert!(lambda > 0.0 && lambda < 1.0);
        lambdas.push(lambda);
        let (len, k) = (3 * 32 * 32, 10);
        let idx = &order[b * 64..(b + 1) * 64];
        for (i, &j) in perm.iter().enumerate() {
            let (yi, yj) = (data.labels[idx[i]] as usize, data.labels[idx[j]] as usize);
            let row = &mixed.targets[i * k..(i + 1) * k];
            for (c, &t) in row.iter().enumerate() {
                let want = lambda * f32::from(c == yi) + (1.0 - lambda) * f32::from(c == yj);
                assert!((t - want).abs() < 1e-6, "target {i},{c}: {t} vs {want}");
            }
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            for p in [0, 555, len - 1] {
                let want = lambda * plain.images[i * len + p] + (1.0 - lambda) * plain.images[j * len + p];
                assert!((mixed.images[i * len + p] - want).abs() < 1e-5);
            }
            let major = if lambda >= 0.5 { yi } else { yj };
            assert_eq!(mixed.labels[i], major as i64);
        }
        assert!(
            perm.iter().enumerate().any(|(i, &j)| i != j),
            "a permutation that moves something"
        );
    }
    assert!(lambdas.windows(2).any(|w| w[0] != w[1]), "one λ per batch: {lambdas:?}");
    Ok(())
}

#[test]
fn batches_are_reproducible_from_seed_and_epoch() -> anyhow::Result<()> {
    let data = load_cifar10(&common::cifar10(), Split::Train, Some(64))?;
    let plan = EpochPlan {
        seed: 9,
        epoch: 4,
        batch: 32,
        augment: true,
        mixup: 1.0,
        smoothing: 0.1,
        luts: lookup_tables(&Normalization::cifar(), 3)?,
    };
    let order = epoch_order(data.n, 9, 4);
    let (a, b) = (
        make_batch(&data, &plan, &order, 1)?,
        make_batch(&data, &plan, &order, 1)?,
    );
    assert_eq!(a.images, b.images);
    assert_eq!(a.targets, b.targets);
    Ok(())
}
