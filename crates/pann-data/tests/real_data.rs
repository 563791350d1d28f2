//! Reads the real datasets: CIFAR-10 from `../shared/data` (beside the repository) and
//! Fashion-MNIST from Debian's `dataset-fashion-mnist` package. Neither is part of the repository:
//! a missing one skips its test with a note, or fails it under CI ([`pann_data::test_utils::require`]).

use std::path::{Path, PathBuf};

use pann_data::test_utils::{cifar10_dir, require, FASHION_MNIST};
use pann_data::{load, load_cifar10, load_mnist_like, DatasetKind, Normalization, Split};

fn cifar_dir() -> Option<PathBuf> {
    let dir = cifar10_dir();
    require(
        &dir,
        "the bundled data, ../shared beside the repository, or $PANN_SHARED",
    )
    .then_some(dir)
}

fn fashion_dir() -> Option<&'static Path> {
    let dir = Path::new(FASHION_MNIST);
    require(dir, "apt-get install dataset-fashion-mnist").then_some(dir)
}

#[test]
fn cifar10_test_batch() {
    let Some(dir) = cifar_dir() else { return };
    let test = load_cifar10(&dir, Split::Test, None).unwrap();
    assert_eq!((test.n, test.channels, test.height, test.width), (10_000, 3, 32, 32));
    assert_eq!(test.class_counts(), vec![1000; 10]);
    // Per-channel mean of the CIFAR-10 test set on the [0, 1] scale (published statistics).
    let x = Normalization::none().normalize(&test, 0..test.n).unwrap();
    let plane = 32 * 32;
    for (c, want) in [0.4942f64, 0.4851, 0.4504].iter().enumerate() {
        let sum: f64 = x
            .chunks_exact(3 * plane)
            .flat_map(|img| &img[c * plane..(c + 1) * plane])
            .map(|&v| v as f64)
            .sum();
        let mean = sum / (test.n * plane) as f64;
        assert!((mean - want).abs() < 1e-3, "channel {c}: mean {mean}, want {want}");
    }
    let train = load_cifar10(&dir, Split::Train, Some(12_345)).unwrap();
    assert_eq!(train.n, 12_345);
}

#[test]
fn fashion_mnist_from_debian_package() {
    let Some(dir) = fashion_dir() else { return };
    let test = load_mnist_like(dir, Split::Test, None).unwrap();
    assert_eq!((test.n, test.channels, test.height, test.width), (10_000, 1, 28, 28));
    assert_eq!(test.class_counts(), vec![1000; 10]);
    let train = load_mnist_like(dir, Split::Train, Some(100)).unwrap();
    assert_eq!(train.n, 100);
    // As the networks take it: 3×32×32, the same labels.
    assert_eq!(DatasetKind::detect(dir), Some(DatasetKind::FashionMnist));
    let padded = load(DatasetKind::FashionMnist, dir, Split::Train, Some(100)).unwrap();
    assert_eq!(
        (padded.n, padded.channels, padded.height, padded.width),
        (100, 3, 32, 32)
    );
    assert_eq!(padded.labels, train.labels);
}

#[test]
fn a_zero_limit_gives_an_empty_set_not_a_panic() {
    let Some(dir) = cifar_dir() else { return };
    for split in [Split::Train, Split::Test] {
        let d = load_cifar10(&dir, split, Some(0)).unwrap();
        assert_eq!((d.n, d.images.len(), d.labels.len()), (0, 0, 0));
        assert_eq!((d.channels, d.height, d.width), (3, 32, 32));
    }
}
