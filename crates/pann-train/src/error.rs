//! Errors of pann-train.
//!
//! Every error that concerns a file names it, so a failed or refused resume says which
//! checkpoint to look at; none of them panics.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A training option that cannot work (bad number, unknown name, inconsistent options).
    #[error("bad training option: {0}")]
    BadConfig(String),
    /// Reading or writing a file failed. (The I/O error is part of the message, not a separate
    /// `source`, so that `{:#}` chains print it once.)
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A checkpoint that cannot be read back: truncated, altered, or not a checkpoint at all.
    #[error("{path}: corrupt checkpoint: {problem}")]
    CorruptCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A resume whose options differ from those the checkpoint was made with.
    #[error("{path}: the run was started with {field} = {stored}, this command asks for {requested}")]
    ResumeMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The option that differs.
        field: String,
        /// Its value in the checkpoint.
        stored: String,
        /// Its value now.
        requested: String,
    },
    /// A branch whose options would not have trained the checkpoint's epochs as they were trained.
    #[error(
        "{path}: cannot branch after epoch {epoch}: {field} was {stored}, this command asks for {requested}; \
         a branch may change only what acts after epoch {epoch} (the schedule's later steps, --mixup-epochs)"
    )]
    BranchMismatch {
        /// The checkpoint branched from.
        path: PathBuf,
        /// Epochs in the checkpoint.
        epoch: usize,
        /// The option that differs.
        field: String,
        /// What it was in the checkpoint's run.
        stored: String,
        /// What the branch asks for.
        requested: String,
    },
    /// A branch that would train no epoch beyond its checkpoint.
    #[error("{path}: the checkpoint has {epochs_done} epochs done; a branch needs --epochs above that, not {epochs}")]
    BranchTooShort {
        /// The checkpoint branched from.
        path: PathBuf,
        /// Epochs in the checkpoint.
        epochs_done: usize,
        /// Epochs the branch asks for.
        epochs: usize,
    },
    /// The run has already finished all its epochs.
    #[error("{path}: the run already finished its {epochs} epochs")]
    AlreadyFinished {
        /// The checkpoint file.
        path: PathBuf,
        /// Epochs of the run.
        epochs: usize,
    },
    /// From the network layer (weights, shapes, activations).
    #[error(transparent)]
    Nn(#[from] pann_nn::Error),
    /// From the data readers.
    #[error(transparent)]
    Data(#[from] pann_data::Error),
    /// From the approximation engine.
    #[error(transparent)]
    Approx(#[from] pann_approx::Error),
    /// From the evaluation engine (per-site bounds, mean-leak offsets).
    #[error(transparent)]
    Eval(#[from] pann_eval::Error),
    /// From libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The loss became NaN or infinite.
    #[error("training diverged in epoch {epoch} (loss {loss}); lower --lr or check --bound")]
    Diverged {
        /// Epoch, from 1.
        epoch: usize,
        /// The loss seen.
        loss: f64,
    },
    /// The background batch thread died.
    #[error("the input pipeline stopped: {0}")]
    Pipeline(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error: source,
        }
    }
}
