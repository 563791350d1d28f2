//! Errors of the approximation engine: bad arguments, never numerical trouble (that comes back in reports).

/// Everything the approximation engine can refuse.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The domain is empty, reversed, overlapping, or not on the side its symmetry needs.
    #[error("invalid domain: {0}")]
    InvalidDomain(String),
    /// A degree that cannot be used (wrong parity, too large, zero).
    #[error("invalid degree: {0}")]
    InvalidDegree(String),
    /// α outside the supported range.
    #[error("precision α = {0} is outside the supported range {min}..={max}", min = crate::ALPHA_MIN, max = crate::ALPHA_MAX)]
    AlphaOutOfRange(i64),
    /// The input bound B is not a positive finite number.
    #[error("input bound B = {0} must be a positive finite number")]
    InvalidBound(f64),
    /// No degree list within the search limits reaches the requested precision.
    #[error("no composite of odd degrees ≤ {max_degree} and at most {max_components} components reaches ReLU error 2^-{alpha}")]
    Unreachable {
        /// Requested precision.
        alpha: u32,
        /// Largest component degree searched.
        max_degree: usize,
        /// Largest number of components searched.
        max_components: usize,
    },
    /// The given degree list cannot reach the requested precision.
    #[error("degrees {degrees:?} cannot reach ReLU error 2^-{alpha}{}", best_note(*.best_log2))]
    DegreesTooLow {
        /// The degrees given.
        degrees: Vec<usize>,
        /// Requested precision.
        alpha: u32,
        /// log2 of the best ReLU error these degrees reach; NaN when they do not even reach
        /// the sign error `2^(1−α)` for any `ε` of the searched range.
        best_log2: f64,
    },
    /// A parameter outside its range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// The tail of [`Error::DegreesTooLow`]'s message.
fn best_note(best_log2: f64) -> String {
    if best_log2.is_finite() {
        format!(" (best reachable: 2^{best_log2:.2})")
    } else {
        " (their sign error stays above 2^(1−α) for every ε searched)".to_string()
    }
}
