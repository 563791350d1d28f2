//! Rust errors as Python exceptions: `pann.PannError` (a `ValueError`) carrying the Rust message unchanged, so
//! a Python user reads the same sentence the `pann` command prints after `error:`.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

create_exception!(
    pann,
    PannError,
    PyValueError,
    "A refusal from pann's Rust side (bad α or bound, NaN input, wrong shape, a truncated or foreign file, \
     an exhausted level budget, ...); the message is the Rust one."
);

/// An approximation-engine error.
pub fn approx_err(e: pann_approx::Error) -> PyErr {
    PannError::new_err(e.to_string())
}

/// A CKKS-backend error.
pub fn he_err(e: pann_he::Error) -> PyErr {
    PannError::new_err(e.to_string())
}
