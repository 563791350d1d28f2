//! MNIST and Fashion-MNIST in the IDX format, plain or gzipped.
//!
//! An IDX file is a big-endian header, magic number then one `u32` per dimension, followed by
//! the bytes: labels have magic 2049 (`0x00000801`, one dimension `n`), images have magic 2051
//! (`0x00000803`, dimensions `n × rows × cols`). The file names are those of the official
//! distribution, `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
//! and `t10k-labels-idx1-ubyte`, each also accepted with a `.gz` suffix (Debian's
//! `dataset-fashion-mnist` installs the gzipped ones in `/usr/share/datasets/fashion-mnist`).
//! MNIST and Fashion-MNIST share this layout, so one loader serves both.

use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, Split};
use crate::error::{Error, Result};
use crate::io::read_maybe_gz;

/// Magic number of an IDX label file (unsigned bytes, one dimension).
pub const IDX_LABELS_MAGIC: u32 = 2049;
/// Magic number of an IDX image file (unsigned bytes, three dimensions).
pub const IDX_IMAGES_MAGIC: u32 = 2051;
/// Classes of MNIST and Fashion-MNIST.
const MNIST_CLASSES: usize = 10;

/// Images of an IDX image file: `n` images of `rows × cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub n: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `n × rows × cols` pixel bytes.
    pub pixels: Vec<u8>,
}

/// Loads MNIST or Fashion-MNIST from `dir`: images and labels of the split, at most `limit`.
pub fn load_mnist_like(dir: &Path, split: Split, limit: Option<usize>) -> Result<Dataset> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images_path = find_idx(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels_path = find_idx(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = read_idx_images(&images_path)?;
    let labels = read_idx_labels(&labels_path, MNIST_CLASSES)?;
    if images.n != labels.len() {
        return Err(Error::CountMismatch {
            images: images_path,
            n_images: images.n,
            labels: labels_path,
            n_labels: labels.len(),
        });
    }
    let mut data = Dataset {
        images: images.pixels,
        labels,
        n: images.n,
        channels: 1,
        height: images.rows,
        width: images.cols,
        num_classes: MNIST_CLASSES,
    };
    if let Some(limit) = limit {
        data.truncate(limit);
    }
    Ok(data)
}

/// Reads an IDX label file and checks every label is below `num_classes`.
pub fn read_idx_labels(path: &Path, num_classes: usize) -> Result<Vec<u8>> {
    let bytes = read_maybe_gz(path)?;
    let (dims, body) = parse_header(path, &bytes, IDX_LABELS_MAGIC, "labels", 1)?;
    check_body(path, body, dims[0])?;
    if let Some((index, &label)) = body.iter().enumerate().find(|(_, &l)| l as usize >= num_classes) {
        return Err(Error::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label,
            num_classes,
        });
    }
    Ok(body.to_vec())
}

/// Reads an IDX image file.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    let bytes = read_maybe_gz(path)?;
    let (dims, body) = parse_header(path, &bytes, IDX_IMAGES_MAGIC, "images", 3)?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    let len = n
        .checked_mul(rows)
        .and_then(|x| x.checked_mul(cols))
        .ok_or_else(|| bad(path, format!("dimensions {n}×{rows}×{cols} overflow")))?;
    check_body(path, body, len)?;
    Ok(IdxImages {
        n,
        rows,
        cols,
        pixels: body.to_vec(),
    })
}

/// The plain file if it exists, else the `.gz` one, else a [`Error::MissingFile`] naming both.
fn find_idx(dir: &Path, name: &str) -> Result<PathBuf> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if plain.is_file() {
        Ok(plain)
    } else if gz.is_file() {
        Ok(gz)
    } else {
        Err(Error::MissingFile {
            path: dir.join(format!("{name}[.gz]")),
        })
    }
}

/// Checks the magic number and returns the dimensions and the bytes after the header.
fn parse_header<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: u32,
    what: &'static str,
    ndims: usize,
) -> Result<(Vec<usize>, &'a [u8])> {
    let header = 4 * (1 + ndims);
    if bytes.len() < header {
        return Err(bad(
            path,
            format!(
                "{} bytes is too short for an IDX {what} header ({header} bytes)",
                bytes.len()
            ),
        ));
    }
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
    let found = word(0);
    if found != magic {
        return Err(Error::BadMagic {
            path: path.to_path_buf(),
            found,
            expected: magic,
            what,
        });
    }
    let dims = (1..=ndims).map(|i| word(i) as usize).collect();
    Ok((dims, &bytes[header..]))
}

fn check_body(path: &Path, body: &[u8], expected: usize) -> Result<()> {
    if body.len() != expected {
        let problem = if body.len() < expected {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(bad(
            path,
            format!(
                "{problem}: header announces {expected} data bytes, file holds {}",
                body.len()
            ),
        ));
    }
    Ok(())
}

fn bad(path: &Path, problem: String) -> Error {
    Error::BadIdx {
        path: path.to_path_buf(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    fn write_gz(path: &Path, bytes: &[u8]) {
        let f = std::fs::File::create(path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    }

    #[test]
    fn reads_plain_and_gzipped_split() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..3 * 2 * 2).collect();
        std::fs::write(
            dir.path().join("t10k-images-idx3-ubyte"),
            idx(2051, &[3, 2, 2], &pixels),
        )
        .unwrap();
        write_gz(
            &dir.path().join("t10k-labels-idx1-ubyte.gz"),
            &idx(2049, &[3], &[7, 0, 9]),
        );
        let d = load_mnist_like(dir.path(), Split::Test, None).unwrap();
        assert_eq!((d.n, d.channels, d.height, d.width), (3, 1, 2, 2));
        assert_eq!(d.labels, vec![7, 0, 9]);
        assert_eq!(d.image(2), &[8, 9, 10, 11]);
        let d = load_mnist_like(dir.path(), Split::Test, Some(2)).unwrap();
        assert_eq!((d.n, d.images.len()), (2, 8));
    }

    #[test]
    fn bad_magic_is_reported_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels");
        // An image file given where labels are expected.
        std::fs::write(&p, idx(2051, &[1, 1, 1], &[0])).unwrap();
        let err = read_idx_labels(&p, 10).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadMagic {
                    found: 2051,
                    expected: 2049,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("labels"), "{err}");
    }

    #[test]
    fn truncated_and_short_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        std::fs::write(&p, idx(2051, &[2, 2, 2], &[0; 7])).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        std::fs::write(&p, [0u8, 0, 8]).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        std::fs::write(&p, idx(2051, &[1, 1, 1], &[0, 0])).unwrap();
        assert!(read_idx_images(&p).unwrap_err().to_string().contains("trailing"));
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gz");
        std::fs::write(&p, b"\x1f\x8bnot really gzip").unwrap();
        let err = read_idx_labels(&p, 10).unwrap_err();
        assert!(err.to_string().contains("x.gz"), "{err}");
    }

    #[test]
    fn label_out_of_range_and_count_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        std::fs::write(&p, idx(2049, &[2], &[1, 10])).unwrap();
        let err = read_idx_labels(&p, 10).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{err}"
        );

        std::fs::write(
            dir.path().join("train-images-idx3-ubyte"),
            idx(2051, &[2, 1, 1], &[0, 0]),
        )
        .unwrap();
        std::fs::write(dir.path().join("train-labels-idx1-ubyte"), idx(2049, &[1], &[0])).unwrap();
        let err = load_mnist_like(dir.path(), Split::Train, None).unwrap_err();
        assert!(
            matches!(
                err,
                Error::CountMismatch {
                    n_images: 2,
                    n_labels: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn missing_split_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_mnist_like(dir.path(), Split::Train, None).unwrap_err();
        assert!(matches!(err, Error::MissingFile { .. }));
        assert!(err.to_string().contains("train-images-idx3-ubyte"), "{err}");
    }
}
