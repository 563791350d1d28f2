//! Helpers shared by the test files: the bundled data and small run configurations.
#![allow(dead_code)]

use std::path::PathBuf;

use pann_train::{RunOptions, TrainConfig};

/// `../shared` beside the repository (or `PANN_SHARED`).
pub fn shared() -> PathBuf {
    pann_data::test_utils::shared_dir()
}

/// The bundled CIFAR-10 directory.
pub fn cifar10() -> PathBuf {
    shared().join("data/cifar-10-batches-bin")
}

/// A run on the first `images` training images, evaluated on 200 test images.
pub fn small(images: usize, epochs: usize) -> TrainConfig {
    TrainConfig {
        train_images: Some(images),
        epochs,
        batch: 32,
        lr: 0.05,
        seed: 7,
        ..TrainConfig::default()
    }
}

/// Options for a run in `dir`.
pub fn opts(dir: &std::path::Path) -> RunOptions {
    RunOptions {
        dir: dir.to_path_buf(),
        data_dir: cifar10(),
        test_images: Some(200),
        eval_batch: 100,
        eval_lee_layers: false,
    }
}
