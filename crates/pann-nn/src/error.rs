//! Errors of pann-nn.
//!
//! Weight-file errors name the file and, where there is one, the tensor; activation errors
//! name the site (`layer2.0.relu1`, `features.3`), so a failed run says where to look.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in pann-nn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (in the message, not a `source`, so that `{:#}` says it once).
        cause: std::io::Error,
    },
    /// The file is not in the safetensors format.
    #[error("{path}: not a safetensors file: {problem}")]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// Why not.
        problem: String,
    },
    /// The file is a safetensors file cut short (or with bytes missing or added).
    #[error("{path}: truncated safetensors file: {problem}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What is missing.
        problem: String,
    },
    /// The model needs a tensor the file does not hold.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor name (PyTorch state-dict name).
        name: String,
    },
    /// A tensor of the file has another shape than the model's parameter.
    #[error("{path}: tensor `{name}` has shape {found:?}, the model expects {expected:?}")]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The model's shape.
        expected: Vec<i64>,
        /// The file's shape.
        found: Vec<i64>,
    },
    /// The file holds a tensor the model has no parameter for.
    #[error("{path}: unexpected tensor `{name}` (the model has no such parameter)")]
    UnexpectedTensor {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
    },
    /// A tensor of a dtype that cannot become a float parameter.
    #[error("{path}: tensor `{name}` has unsupported dtype {dtype}")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The dtype found.
        dtype: String,
    },
    /// A tensor holds NaN or an infinity: such a network computes garbage, so it is refused at load.
    #[error("{path}: tensor `{name}` holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// Flat index of the first non-finite value.
        index: i64,
        /// That value (NaN, inf or -inf).
        value: f32,
    },
    /// The tensor names and shapes match no architecture this crate knows.
    #[error("{path}: cannot infer the architecture: {problem}")]
    UnknownArchitecture {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        problem: String,
    },
    /// An architecture name or parameter that is not supported.
    #[error("bad architecture {spec:?}: {problem}")]
    BadArchitecture {
        /// The name or parameters given.
        spec: String,
        /// What is wrong.
        problem: String,
    },
    /// An activation plan or polynomial that does not fit the model or is invalid.
    #[error("bad activation: {0}")]
    BadActivation(String),
    /// A polynomial activation saw inputs outside its domain under [`crate::OverflowPolicy::Error`].
    #[error(
        "activation site `{site}`: {count} polynomial inputs outside [-1, 1] \
         (largest |argument| {max_ratio:.4}, i.e. |x| up to {max_abs:.4})"
    )]
    Overflow {
        /// The site name.
        site: String,
        /// How many inputs of this call fell outside the domain.
        count: u64,
        /// Largest |polynomial argument| (|x|/B for ReLU, |a−b|/D for max).
        max_ratio: f64,
        /// Largest |input| of the site in this call.
        max_abs: f64,
    },
    /// An input tensor of the wrong shape, kind or device.
    #[error("bad input: {0}")]
    BadInput(String),
    /// A model file whose card ([`crate::ModelCard`]) is incomplete or does not parse.
    #[error("{path}: bad model card: {problem}")]
    BadCard {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// An error from libtorch.
    #[error(transparent)]
    Tch(#[from] tch::TchError),
    /// An error reading a dataset.
    #[error(transparent)]
    Data(#[from] pann_data::Error),
}
