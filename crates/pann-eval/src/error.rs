//! Errors of the evaluation engine: those of the layers below, passed through with their context.

/// Everything a PANN evaluation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the network layer (weights, shapes, activations, overflow with policy `error`).
    #[error(transparent)]
    Nn(#[from] pann_nn::Error),
    /// From the approximation engine (α out of range, bad bound …).
    #[error(transparent)]
    Approx(#[from] pann_approx::Error),
    /// From libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// An argument of the evaluation that cannot work.
    #[error("{0}")]
    Invalid(String),
    /// Lee et al.'s range search did not settle below the cap.
    #[error("input-range search: inputs still exceed B = {bound} at α = {alpha} (cap {cap}); the approximate network diverges")]
    RangeDiverged {
        /// Precision.
        alpha: u32,
        /// Last bound tried.
        bound: f64,
        /// The cap.
        cap: f64,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
