//! Errors of the dataset readers.
//!
//! Every variant that comes from a file carries that file's path, so a message such as
//! `data/test_batch.bin: size 3072 bytes is not a multiple of the record size 3073` tells the
//! user which file to look at and what is wrong with it, without a backtrace.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while reading a dataset.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file that the layout requires does not exist.
    #[error("{path}: file not found")]
    MissingFile {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file exists but reading it failed.
    #[error("{path}: cannot read: {cause}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error (in the message, not a `source`, so that `{:#}` says it once).
        cause: std::io::Error,
    },
    /// A fixed-record file (CIFAR) whose size is not a whole number of records.
    #[error("{path}: size {size} bytes is not a multiple of the record size {record} bytes")]
    BadRecordSize {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: usize,
        /// The expected record size in bytes.
        record: usize,
    },
    /// An IDX file whose magic number is not the expected one.
    #[error("{path}: bad IDX magic number {found} (0x{found:08x}), expected {expected} ({what})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found in the first four bytes.
        found: u32,
        /// The magic number expected.
        expected: u32,
        /// What kind of file was expected (`"labels"` or `"images"`).
        what: &'static str,
    },
    /// An IDX file whose header and body disagree, or that is too short to hold its header.
    #[error("{path}: {problem}")]
    BadIdx {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A label byte outside `0..num_classes`.
    #[error("{path}: record {index}: label {label} out of range 0..{num_classes}")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Index of the record within the file.
        index: usize,
        /// The label found.
        label: u8,
        /// The number of classes of the dataset.
        num_classes: usize,
    },
    /// An image file and a label file that hold different numbers of items.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Number of images in it.
        n_images: usize,
        /// The label file.
        labels: PathBuf,
        /// Number of labels in it.
        n_labels: usize,
    },
    /// A normalisation string that cannot be parsed, or that does not fit the data.
    #[error("normalisation {spec:?}: {problem}")]
    BadNormalization {
        /// The string or preset given.
        spec: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A data set name that is none of [`crate::DatasetKind`]'s.
    #[error("unknown data set {0:?}: expected cifar10, cifar100 or fashion-mnist")]
    UnknownDataset(String),
    /// A load that yielded no image (see [`crate::load`]).
    #[error("{}: no {split:?} images: {why}", dir.display())]
    NoImages {
        /// The data directory.
        dir: PathBuf,
        /// The split asked for.
        split: crate::Split,
        /// Why there are none.
        why: &'static str,
    },
    /// The bundled data and models were needed but their directory is unknown ([`crate::shared_dir`]).
    #[error(
        "cannot find the bundled data and models: {problem}; set PANN_SHARED to their directory (the one holding \
         data/ and models/), or give the files by flag (--data DIR, --model FILE)"
    )]
    NoSharedDir {
        /// What was looked for and not found.
        problem: String,
    },
    /// A data set without a bundled copy was asked for without a directory.
    #[error("no data directory for {kind}: only CIFAR-10 is bundled; pass --data DIR")]
    NoDefaultData {
        /// The data set's name.
        kind: &'static str,
    },
}

impl Error {
    /// Maps an I/O error on `path` to [`Error::MissingFile`] or [`Error::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile { path }
        } else {
            Error::Io { path, cause: source }
        }
    }
}
