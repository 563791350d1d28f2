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
        cutout: 0,
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
        cutout: 0,
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

#[test]
fn cutout_blanks_one_clipped_square_per_image_and_changes_nothing_else() -> anyhow::Result<()> {
    let data = load_cifar10(&common::cifar10(), Split::Train, Some(64))?;
    let plan = |cutout: usize| EpochPlan {
        seed: 5,
        epoch: 2,
        batch: 32,
        augment: true,
        cutout,
        mixup: 0.0,
        smoothing: 0.0,
        luts: lookup_tables(&Normalization::imagenet(), 3).unwrap(),
    };
    let order = epoch_order(data.n, 5, 2);
    let plain = make_batch(&data, &plan(0), &order, 1)?;
    let cut = make_batch(&data, &plan(8), &order, 1)?;
    assert_eq!(plain.labels, cut.labels);
    let (len, plane) = (3 * 32 * 32, 32 * 32);
    let mut sizes = Vec::new();
    for i in 0..32 {
        let (a, b) = (
            &plain.images[i * len..(i + 1) * len],
            &cut.images[i * len..(i + 1) * len],
        );
        // Positions that changed, or that are 0 in the cut image and at the same place in every channel.
        let blank: Vec<usize> = (0..plane)
            .filter(|&p| (0..3).all(|c| b[c * plane + p] == 0.0))
            .collect();
        for p in 0..len {
            if !blank.contains(&(p % plane)) {
                assert_eq!(a[p], b[p], "image {i}: pixel {p} outside the square changed");
            }
        }
        // One axis-aligned square of side 8, clipped: a rectangle of 4..=8 by 4..=8 pixels.
        let (rows, cols): (Vec<usize>, Vec<usize>) = blank.iter().map(|p| (p / 32, p % 32)).unzip();
        let (r0, r1) = (*rows.iter().min().unwrap(), *rows.iter().max().unwrap());
        let (c0, c1) = (*cols.iter().min().unwrap(), *cols.iter().max().unwrap());
        let (hgt, wid) = (r1 - r0 + 1, c1 - c0 + 1);
        assert!(
            (4..=8).contains(&hgt) && (4..=8).contains(&wid),
            "image {i}: {hgt}×{wid}"
        );
        assert_eq!(blank.len(), hgt * wid, "image {i}: a filled rectangle");
        sizes.push(blank.len());
    }
    assert!(sizes.contains(&64), "most squares lie inside the image: {sizes:?}");
    Ok(())
}

#[test]
fn mixup_epochs_limits_mixing_to_the_first_epochs() {
    let cfg = pann_train::TrainConfig {
        epochs: 10,
        mixup: 0.5,
        mixup_epochs: Some(8),
        ..Default::default()
    };
    cfg.validate().expect("a valid config");
    let alphas: Vec<f64> = (0..10).map(|e| cfg.mixup_at(e)).collect();
    assert_eq!(alphas, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0]);
    let every = pann_train::TrainConfig {
        mixup_epochs: None,
        ..cfg.clone()
    };
    assert!((0..10).all(|e| every.mixup_at(e) == 0.5));
    // Older configs (checkpoints written before the option existed) read as "every epoch".
    let mut json = serde_json::to_value(&cfg).unwrap();
    json.as_object_mut().unwrap().remove("mixup_epochs");
    let old: pann_train::TrainConfig = serde_json::from_value(json).unwrap();
    assert_eq!(old.mixup_epochs, None);
}
