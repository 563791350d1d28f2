//! Training and test sets as the models take them: 3 channels, 32×32 for VGG.
//!
//! CIFAR images are used as they are. Fashion-MNIST's grey 28×28 images become 3×32×32: the
//! grey plane is copied to the three channels and padded by 2 black pixels on each side (the
//! background of Fashion-MNIST is black), so every architecture takes them unchanged.

use std::path::Path;

use pann_data::{load_cifar10, load_cifar100, load_mnist_like, Cifar100Label, Dataset, Normalization, Split};

use crate::config::DatasetKind;
use crate::error::Result;

/// Loads `split` of a data set from `dir`, at most `limit` images, in model layout.
pub fn load(kind: DatasetKind, dir: &Path, split: Split, limit: Option<usize>) -> Result<Dataset> {
    Ok(match kind {
        DatasetKind::Cifar10 => load_cifar10(dir, split, limit)?,
        DatasetKind::Cifar100 => load_cifar100(dir, split, Cifar100Label::Fine, limit)?,
        DatasetKind::FashionMnist => grey_to_rgb32(&load_mnist_like(dir, split, limit)?),
    })
}

/// A 1-channel data set as 3 identical channels, zero-padded to at least 32×32 (centred).
pub fn grey_to_rgb32(d: &Dataset) -> Dataset {
    if d.channels != 1 {
        return d.clone();
    }
    let (h, w) = (d.height.max(32), d.width.max(32));
    let (top, left) = ((h - d.height) / 2, (w - d.width) / 2);
    let mut images = vec![0u8; d.n * 3 * h * w];
    for i in 0..d.n {
        let src = d.image(i);
        for c in 0..3 {
            let plane = &mut images[(i * 3 + c) * h * w..(i * 3 + c + 1) * h * w];
            for (r, row) in src.chunks_exact(d.width).enumerate() {
                let at = (r + top) * w + left;
                plane[at..at + d.width].copy_from_slice(row);
            }
        }
    }
    Dataset {
        images,
        labels: d.labels.clone(),
        n: d.n,
        channels: 3,
        height: h,
        width: w,
        num_classes: d.num_classes,
    }
}

/// Per-channel lookup tables byte → normalised `f32`, exactly the values
/// [`Normalization::normalize`] produces (they are computed by it, on the 256 byte values).
pub fn lookup_tables(norm: &Normalization, channels: usize) -> Result<Vec<[f32; 256]>> {
    let ramp = Dataset {
        images: (0..channels).flat_map(|_| 0..=255u8).collect(),
        labels: vec![0],
        n: 1,
        channels,
        height: 1,
        width: 256,
        num_classes: 1,
    };
    let values = norm.normalize(&ramp, 0..1)?;
    Ok(values
        .chunks_exact(256)
        .map(|c| std::array::from_fn(|v| c[v]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_becomes_padded_rgb() {
        let d = Dataset {
            images: (0..28 * 28).map(|v| (v % 251) as u8 + 1).collect(),
            labels: vec![3],
            n: 1,
            channels: 1,
            height: 28,
            width: 28,
            num_classes: 10,
        };
        let r = grey_to_rgb32(&d);
        assert_eq!((r.channels, r.height, r.width), (3, 32, 32));
        let img = r.image(0);
        assert_eq!(img[0], 0);
        assert_eq!(img[2 * 32 + 2], d.images[0]);
        assert_eq!(img[1024 + 2 * 32 + 2], d.images[0]);
        assert_eq!(img[2048 + 29 * 32 + 29], d.images[28 * 28 - 1]);
    }

    #[test]
    fn tables_match_normalize() {
        let t = lookup_tables(&Normalization::cifar(), 3).unwrap();
        assert_eq!(t[1][0], (0.0f32 / 255.0 - 0.4822) / 0.2435);
        assert_eq!(t[2][255], (255.0f32 / 255.0 - 0.4465) / 0.2616);
    }
}
