//! The data sets pann knows by name, one loader for all of them, and where the bundled data lives.
//!
//! Every command and the trainer name a data set by a [`DatasetKind`] and read it with [`load`], so
//! a network always sees the images in the same layout, whichever command feeds it: CIFAR images as
//! they are, Fashion-MNIST's grey 28×28 images as 3×32×32 ([`grey_to_rgb32`]), which every
//! architecture takes unchanged.
//!
//! The names (`cifar10`, `cifar100`, `fashion-mnist`) are those of the command line, of training
//! configs (`config.json`) and of model cards, all three: [`fmt::Display`] writes them and
//! [`FromStr`] reads them; the optional `clap` and `serde` features derive the same names.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::cifar::{load_cifar10, load_cifar100, Cifar100Label};
use crate::dataset::{Dataset, Split};
use crate::error::{Error, Result};
use crate::idx::load_mnist_like;

/// A data set pann reads: its file layout and what a network trained on it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum DatasetKind {
    /// CIFAR-10, official binary layout (`cifar-10-batches-bin`).
    Cifar10,
    /// CIFAR-100, official binary layout (`cifar-100-binary`), fine labels.
    Cifar100,
    /// Fashion-MNIST / MNIST, IDX files (grey 28×28, read as 3×32×32).
    FashionMnist,
}

impl DatasetKind {
    /// Every kind, in the order of the command line's help.
    pub const ALL: [DatasetKind; 3] = [Self::Cifar10, Self::Cifar100, Self::FashionMnist];

    /// The name of the command line, configs and model cards.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// Number of classes.
    pub fn num_classes(self) -> usize {
        match self {
            Self::Cifar100 => 100,
            Self::Cifar10 | Self::FashionMnist => 10,
        }
    }

    /// The image shape `[C, H, W]` a network trained on this data set takes (what [`load`] yields).
    pub fn input_shape(self) -> [usize; 3] {
        [3, 32, 32]
    }

    /// The kind whose files `dir` holds, if it holds one's: what `--data DIR` alone means.
    ///
    /// Looks for the files [`load`] reads (CIFAR-10's `test_batch.bin`, CIFAR-100's `test.bin`,
    /// the IDX `t10k-images-idx3-ubyte` plain or gzipped), so a directory of one data set is never
    /// read as another's.
    pub fn detect(dir: &Path) -> Option<DatasetKind> {
        let has = |name: &str| dir.join(name).is_file();
        if has("test_batch.bin") || has("data_batch_1.bin") {
            Some(Self::Cifar10)
        } else if has("test.bin") || has("train.bin") {
            Some(Self::Cifar100)
        } else if ["t10k-images-idx3-ubyte", "train-images-idx3-ubyte"]
            .iter()
            .any(|n| has(n) || has(&format!("{n}.gz")))
        {
            Some(Self::FashionMnist)
        } else {
            None
        }
    }

    /// Where this data set is read from when no `--data` is given: the bundled CIFAR-10 under
    /// [`shared_dir`]. The other data sets are not bundled, so they have no default.
    pub fn default_dir(self) -> Result<PathBuf> {
        match self {
            Self::Cifar10 => Ok(shared_dir()?.join("data/cifar-10-batches-bin")),
            other => Err(Error::NoDefaultData { kind: other.name() }),
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = Error;

    /// Parses the names [`DatasetKind::name`] writes.
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::UnknownDataset(s.to_string()))
    }
}

/// Loads `split` of the data set `kind` from `dir`, at most `limit` images, in the layout the
/// networks take (see the module doc).
///
/// An empty result is an error: every caller computes an accuracy, a bound or a gradient from the
/// images, and over none of them that would be a plausible-looking 0% or bound 1, not a failure.
pub fn load(kind: DatasetKind, dir: &Path, split: Split, limit: Option<usize>) -> Result<Dataset> {
    let data = match kind {
        DatasetKind::Cifar10 => load_cifar10(dir, split, limit)?,
        DatasetKind::Cifar100 => load_cifar100(dir, split, Cifar100Label::Fine, limit)?,
        DatasetKind::FashionMnist => grey_to_rgb32(&load_mnist_like(dir, split, limit)?),
    };
    if data.n == 0 {
        let why = if limit == Some(0) {
            "an image count of 0 was asked for; it must be at least 1"
        } else {
            "its files hold no images"
        };
        return Err(Error::NoImages {
            dir: dir.to_path_buf(),
            split,
            why,
        });
    }
    Ok(data)
}

/// A 1-channel data set as 3 identical channels, zero-padded to at least 32×32 (centred); any
/// other data set is returned as it is.
///
/// Fashion-MNIST's background is black (0), so the padding adds background; copying the grey
/// plane to three channels lets every architecture (all built for CIFAR's 3×32×32) take it.
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

/// The environment variable that names the directory of the bundled data and models.
pub const SHARED_ENV: &str = "PANN_SHARED";

/// The directory of the bundled data and models (`data/cifar-10-batches-bin`,
/// `models/resnet20-akamaster.safetensors`): `$PANN_SHARED` if set, else `../shared` relative
/// to the current directory if that exists (the layout of this repository's checkout, run from
/// its root).
///
/// Nothing here depends on where the program was built, so an installed `pann` behaves the same
/// from any directory; when neither is there, the error says what to set.
pub fn shared_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(SHARED_ENV) {
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            return Err(Error::NoSharedDir {
                problem: format!("${SHARED_ENV} is {}, which is not a directory", dir.display()),
            });
        }
        return Ok(dir);
    }
    // Kept relative, so that what a command prints (and results/ records) names no machine path.
    let beside = Path::new("../shared");
    if beside.is_dir() {
        return Ok(beside.to_path_buf());
    }
    Err(Error::NoSharedDir {
        problem: format!("${SHARED_ENV} is not set and ../shared (from the current directory) does not exist"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_errors() {
        for k in DatasetKind::ALL {
            assert_eq!(k.to_string().parse::<DatasetKind>().unwrap(), k);
        }
        assert_eq!(
            "fashion-mnist".parse::<DatasetKind>().unwrap(),
            DatasetKind::FashionMnist
        );
        let err = "mnist".parse::<DatasetKind>().unwrap_err().to_string();
        assert!(err.contains("mnist") && err.contains("fashion-mnist"), "{err}");
    }

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
        assert_eq!(r.labels, vec![3]);
    }

    #[test]
    fn detect_tells_layouts_apart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(DatasetKind::detect(dir.path()), None);
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), b"").unwrap();
        assert_eq!(DatasetKind::detect(dir.path()), Some(DatasetKind::FashionMnist));
        std::fs::write(dir.path().join("test_batch.bin"), b"").unwrap();
        assert_eq!(DatasetKind::detect(dir.path()), Some(DatasetKind::Cifar10));
    }

    #[test]
    fn an_empty_load_is_an_error_naming_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        // One CIFAR-10 record (label + 3072 bytes) in the test batch, then a limit of 0.
        std::fs::write(dir.path().join("test_batch.bin"), vec![0u8; 3073]).unwrap();
        let one = load(DatasetKind::Cifar10, dir.path(), Split::Test, None).unwrap();
        assert_eq!(one.n, 1);
        let err = load(DatasetKind::Cifar10, dir.path(), Split::Test, Some(0)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&dir.path().display().to_string()) && msg.contains("at least 1"),
            "{msg}"
        );
    }
}
