//! Errors of an encrypted run. A configuration error names the [`crate::EncryptedInferenceConfig`] field, so
//! that a front end can name its own flag instead (the CLI's flags are the field names with dashes).

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why an encrypted run could not be prepared or finished.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value out of range.
    #[error("{field} {problem}")]
    Config {
        /// The field of [`crate::EncryptedInferenceConfig`], e.g. `calib_images`.
        field: &'static str,
        /// What is wrong with it, starting with a verb or the value (`must be at least 1`, `10: …`).
        problem: String,
    },
    /// The images do not have the shape the network takes.
    #[error("images are {}×{}×{}, the model takes {}×{}×{}", got[0], got[1], got[2], want[0], want[1], want[2])]
    ImageShape {
        /// Channels, height, width of the images.
        got: [usize; 3],
        /// Channels, height, width the network takes.
        want: [usize; 3],
    },
    /// The data set has another number of classes than the network's outputs.
    #[error("the data set has {data} classes, the model {model} outputs")]
    Classes {
        /// Classes of the data set.
        data: usize,
        /// Outputs of the network.
        model: usize,
    },
    /// The libtorch network a range rule is fitted on is not the network run encrypted.
    #[error("{0}")]
    Mismatch(String),
    /// No 128-bit secure parameter set holds the depth.
    #[error("no 128-bit secure parameter set up to N = 2^16 holds {levels} levels of {log_scale} bits")]
    NoParameters {
        /// Levels the network needs.
        levels: usize,
        /// Bits per level.
        log_scale: u32,
    },
    /// The compiled program consumes another depth than the cost model charges: a bug in one of them.
    #[error("the {network} program consumes {program} levels, the cost model charges {cost_model}")]
    DepthMismatch {
        /// The network.
        network: &'static str,
        /// Levels the compiled program consumes.
        program: usize,
        /// Levels `pann_eval::depth` charges.
        cost_model: usize,
    },
    /// A per-image results file that cannot be read or written.
    #[error("{}: {problem}", path.display())]
    Results {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// From the scheme or the circuits (model files, layouts, levels).
    #[error(transparent)]
    He(#[from] pann_he::Error),
    /// From the approximation (an α without a composite).
    #[error(transparent)]
    Approx(#[from] pann_approx::Error),
    /// From pann-eval's range rules (a bound search that diverged, a calibration that saw no finite input).
    #[error(transparent)]
    Eval(#[from] pann_eval::Error),
    /// From the data (normalisation).
    #[error(transparent)]
    Data(#[from] pann_data::Error),
}

impl Error {
    pub(crate) fn config(field: &'static str, problem: impl Into<String>) -> Self {
        Self::Config {
            field,
            problem: problem.into(),
        }
    }
}
