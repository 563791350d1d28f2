//! Errors of the CKKS backend: every refusal names what was wrong, so a caller never decrypts garbage silently.

use std::path::PathBuf;

/// Everything the CKKS backend can refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter literal that cannot make a ring or a scheme.
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    /// Parameters below 128-bit security by the Homomorphic Encryption Standard's table, not explicitly allowed.
    #[error(
        "insecure parameters: log2(QP) = {log_qp} exceeds {max} allowed for N = 2^{log_n} at 128-bit security \
         (HE Standard, ternary secret); use fewer or smaller primes, a larger N, or mark them insecure explicitly"
    )]
    Insecure {
        /// log2 N.
        log_n: u32,
        /// Total modulus bits.
        log_qp: u32,
        /// Largest total modulus bits allowed.
        max: u32,
    },
    /// An operation needs a level the ciphertext no longer has.
    #[error("level budget exhausted: {op} needs level ≥ {needed}, the ciphertext is at level {level}")]
    LevelExhausted {
        /// The operation.
        op: &'static str,
        /// Level needed.
        needed: usize,
        /// Level available.
        level: usize,
    },
    /// Two operands whose scales differ: adding them would silently mis-scale one.
    #[error("scale mismatch in {op}: 2^{a:.6} against 2^{b:.6}")]
    ScaleMismatch {
        /// The operation.
        op: &'static str,
        /// log2 of the first scale.
        a: f64,
        /// log2 of the second scale.
        b: f64,
    },
    /// The scale has outgrown the modulus at this level: the next decryption would wrap around.
    #[error("scale budget exceeded in {op}: scale 2^{log_scale:.1} leaves too little of the 2^{log_q:.1} modulus at level {level}")]
    ScaleOverflow {
        /// The operation.
        op: &'static str,
        /// log2 of the scale.
        log_scale: f64,
        /// log2 of the modulus at this level.
        log_q: f64,
        /// Level.
        level: usize,
    },
    /// Decrypted coefficients close to ±Q/2: the message wrapped around the modulus.
    #[error(
        "decryption failure: the decrypted polynomial reaches 2^{log_max:.1} of the 2^{log_q:.1} modulus at level {level} \
         (values times scale 2^{log_scale:.1} overflowed); results would be garbage"
    )]
    DecryptionFailure {
        /// log2 of the largest centred coefficient.
        log_max: f64,
        /// log2 of the modulus.
        log_q: f64,
        /// log2 of the scale.
        log_scale: f64,
        /// Level.
        level: usize,
    },
    /// No key for the operation (relinearisation, a rotation).
    #[error("missing key: {0}")]
    MissingKey(String),
    /// Operands made under different parameters or of incompatible shapes.
    #[error("incompatible operands: {0}")]
    Incompatible(String),
    /// A value that cannot be encoded (NaN, infinite, too many slots, too large for the modulus).
    #[error("cannot encode: {0}")]
    Encode(String),
    /// A file that cannot be read as what it claims to be.
    #[error("{path}: {problem}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A network that this backend cannot run (unknown layers, wrong shapes, no slot layout).
    #[error("model: {0}")]
    Model(String),
    /// Reading or writing a file.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (in the message, not a `source`, so that `{:#}` says it once).
        cause: std::io::Error,
    },
}

/// Results of the CKKS backend.
pub type Result<T> = std::result::Result<T, Error>;
