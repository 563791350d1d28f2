//! `pann._pann`: the compiled part of the `pann` Python package (python/pann/), over pann's pure-Rust crates
//! pann-approx (the approximations) and pann-he (CKKS). It never links libtorch: `pann.torch` is pure Python over
//! these kernels.
//!
//! - [`approx`]: `pann.approx(alpha)` / `pann.approx(degrees=[…])`, certified composites (cached);
//! - [`ops`] over [`kernel`]: `pann.relu`, `pann.sign`, `pann.max_pool`, `pann.relu_grad` on NumPy arrays;
//! - [`he`]: the `pann.he` submodule (context, keys, encryption, operations, bootstrapping, encrypted ReLU);
//! - [`error`]: `pann.PannError`, carrying the Rust message.

use pyo3::prelude::*;

pub mod approx;
pub mod error;
pub mod he;
pub mod kernel;
pub mod ops;

#[pymodule]
fn _pann(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("PannError", py.get_type::<error::PannError>())?;
    m.add("ALPHA_MIN", pann_approx::ALPHA_MIN)?;
    m.add("ALPHA_MAX", pann_approx::ALPHA_MAX)?;
    m.add_class::<approx::PyApprox>()?;
    m.add_function(wrap_pyfunction!(approx::approx, m)?)?;
    m.add_function(wrap_pyfunction!(ops::relu, m)?)?;
    m.add_function(wrap_pyfunction!(ops::sign, m)?)?;
    m.add_function(wrap_pyfunction!(ops::max_pool, m)?)?;
    m.add_function(wrap_pyfunction!(ops::relu_grad, m)?)?;
    let he = PyModule::new(py, "he")?;
    he.add_class::<he::PyContext>()?;
    he.add_class::<he::PyKeySet>()?;
    he.add_class::<he::PySecretKey>()?;
    he.add_class::<he::PyPublicKey>()?;
    he.add_class::<he::PyRelinKey>()?;
    he.add_class::<he::PyGaloisKeys>()?;
    he.add_class::<he::PyCiphertext>()?;
    he.add_class::<he::PyEvaluator>()?;
    m.add_submodule(&he)?;
    Ok(())
}
