//! CIFAR-10 and CIFAR-100 in the official binary layout.
//!
//! A CIFAR-10 record is 1 label byte followed by 3,072 pixel bytes (1,024 red, 1,024 green,
//! 1,024 blue, each a row-major 32×32 plane); files are `data_batch_1.bin` … `data_batch_5.bin`
//! and `test_batch.bin`, 10,000 records each. A CIFAR-100 record has 2 label bytes (coarse class
//! in `0..20`, fine class in `0..100`) before the same 3,072 pixel bytes; files are `train.bin`
//! and `test.bin`. Since the pixel layout already is CHW, records are copied as they are.
//!
//! Files are read in place; with a limit only the records needed are read, but the size of the
//! whole file is still checked so that a damaged file is reported even then.

use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, Split};
use crate::error::{Error, Result};
use crate::io::{file_len, read_prefix};

/// Pixel bytes of one CIFAR image (3 × 32 × 32).
pub const CIFAR_IMAGE_BYTES: usize = 3 * 32 * 32;

/// Which label of a CIFAR-100 record to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cifar100Label {
    /// The 20 superclasses (first label byte).
    Coarse,
    /// The 100 classes (second label byte).
    Fine,
}

/// How the records of one CIFAR flavour look.
struct RecordLayout {
    label_bytes: usize,
    label_index: usize,
    num_classes: usize,
}

/// Reads one CIFAR-10 batch file (`data_batch_N.bin` or `test_batch.bin`).
pub fn read_cifar10_batch(path: &Path, limit: Option<usize>) -> Result<Dataset> {
    let layout = RecordLayout {
        label_bytes: 1,
        label_index: 0,
        num_classes: 10,
    };
    read_records(path, &layout, limit)
}

/// Reads one CIFAR-100 file (`train.bin` or `test.bin`) with the chosen label.
pub fn read_cifar100_file(path: &Path, label: Cifar100Label, limit: Option<usize>) -> Result<Dataset> {
    let layout = match label {
        Cifar100Label::Coarse => RecordLayout {
            label_bytes: 2,
            label_index: 0,
            num_classes: 20,
        },
        Cifar100Label::Fine => RecordLayout {
            label_bytes: 2,
            label_index: 1,
            num_classes: 100,
        },
    };
    read_records(path, &layout, limit)
}

/// Loads CIFAR-10 from `dir` (the `cifar-10-batches-bin` directory): the five training batches
/// in order, or the test batch; at most `limit` images.
pub fn load_cifar10(dir: &Path, split: Split, limit: Option<usize>) -> Result<Dataset> {
    let files: Vec<PathBuf> = match split {
        Split::Train => (1..=5).map(|i| dir.join(format!("data_batch_{i}.bin"))).collect(),
        Split::Test => vec![dir.join("test_batch.bin")],
    };
    let mut all: Option<Dataset> = None;
    for file in files {
        let remaining = match (&all, limit) {
            (Some(d), Some(l)) => Some(l.saturating_sub(d.n)),
            (None, l) => l,
            (Some(_), None) => None,
        };
        // With `limit = Some(0)` the first file is still read (for its layout), yielding an empty set.
        if remaining == Some(0) && all.is_some() {
            break;
        }
        let part = read_cifar10_batch(&file, remaining)?;
        match &mut all {
            Some(d) => d.extend(part),
            None => all = Some(part),
        }
    }
    Ok(all.expect("at least one CIFAR-10 file is read"))
}

/// Loads CIFAR-100 from `dir` (the `cifar-100-binary` directory): `train.bin` or `test.bin`.
pub fn load_cifar100(dir: &Path, split: Split, label: Cifar100Label, limit: Option<usize>) -> Result<Dataset> {
    let name = match split {
        Split::Train => "train.bin",
        Split::Test => "test.bin",
    };
    read_cifar100_file(&dir.join(name), label, limit)
}

fn read_records(path: &Path, layout: &RecordLayout, limit: Option<usize>) -> Result<Dataset> {
    let record = layout.label_bytes + CIFAR_IMAGE_BYTES;
    let size = file_len(path)?;
    if size % record != 0 {
        return Err(Error::BadRecordSize {
            path: path.to_path_buf(),
            size,
            record,
        });
    }
    let n = limit.map_or(size / record, |l| l.min(size / record));
    let bytes = read_prefix(path, n * record)?;
    let mut images = Vec::with_capacity(n * CIFAR_IMAGE_BYTES);
    let mut labels = Vec::with_capacity(n);
    for (index, rec) in bytes.chunks_exact(record).enumerate() {
        let label = rec[layout.label_index];
        if label as usize >= layout.num_classes {
            return Err(Error::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
                num_classes: layout.num_classes,
            });
        }
        labels.push(label);
        images.extend_from_slice(&rec[layout.label_bytes..]);
    }
    Ok(Dataset {
        images,
        labels,
        n,
        channels: 3,
        height: 32,
        width: 32,
        num_classes: layout.num_classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn record(labels: &[u8], fill: u8) -> Vec<u8> {
        let mut r = labels.to_vec();
        r.extend(std::iter::repeat_n(fill, CIFAR_IMAGE_BYTES));
        r
    }

    #[test]
    fn reads_cifar10_records_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = record(&[3], 7);
        bytes.extend(record(&[9], 8));
        let p = write(dir.path(), "test_batch.bin", &bytes);
        let d = read_cifar10_batch(&p, None).unwrap();
        assert_eq!((d.n, d.labels.clone(), d.num_classes), (2, vec![3, 9], 10));
        assert!(d.image(1).iter().all(|&b| b == 8));
        let d = load_cifar10(dir.path(), Split::Test, Some(1)).unwrap();
        assert_eq!((d.n, d.images.len()), (1, CIFAR_IMAGE_BYTES));
    }

    #[test]
    fn train_split_concatenates_batches_up_to_limit() {
        let dir = tempfile::tempdir().unwrap();
        for i in 1..=5u8 {
            let mut bytes = record(&[i], i);
            bytes.extend(record(&[i], i));
            write(dir.path(), &format!("data_batch_{i}.bin"), &bytes);
        }
        let d = load_cifar10(dir.path(), Split::Train, None).unwrap();
        assert_eq!(d.labels, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        let d = load_cifar10(dir.path(), Split::Train, Some(3)).unwrap();
        assert_eq!(d.labels, vec![1, 1, 2]);
    }

    #[test]
    fn cifar100_coarse_and_fine() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "train.bin", &record(&[19, 99], 1));
        let fine = load_cifar100(dir.path(), Split::Train, Cifar100Label::Fine, None).unwrap();
        let coarse = load_cifar100(dir.path(), Split::Train, Cifar100Label::Coarse, None).unwrap();
        assert_eq!((fine.labels[0], fine.num_classes), (99, 100));
        assert_eq!((coarse.labels[0], coarse.num_classes), (19, 20));
    }

    #[test]
    fn missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_cifar10(dir.path(), Split::Test, None).unwrap_err();
        assert!(matches!(err, Error::MissingFile { .. }), "{err}");
        assert!(err.to_string().contains("test_batch.bin"), "{err}");
    }

    #[test]
    fn size_not_multiple_of_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "test_batch.bin", &record(&[1], 0)[..3000]);
        let err = read_cifar10_batch(&p, None).unwrap_err();
        assert!(matches!(
            err,
            Error::BadRecordSize {
                size: 3000,
                record: 3073,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(msg.contains("test_batch.bin") && msg.contains("3073"), "{msg}");
        // The size is checked even when a limit means fewer records are read.
        assert!(read_cifar10_batch(&p, Some(0)).is_err());
    }

    #[test]
    fn label_out_of_range() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = record(&[1], 0);
        bytes.extend(record(&[10], 0));
        let p = write(dir.path(), "b.bin", &bytes);
        let err = read_cifar10_batch(&p, None).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    num_classes: 10,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("b.bin"));
        let p = write(dir.path(), "c100.bin", &record(&[20, 5], 0));
        let err = read_cifar100_file(&p, Cifar100Label::Coarse, None).unwrap_err();
        assert!(matches!(err, Error::LabelOutOfRange { label: 20, .. }), "{err}");
    }
}
