//! `pann.approx`: a certified composite approximation of `sign`, designed by pann-approx, with what a Python user
//! needs from it (degrees, coefficients in both bases, depth, ε, errors, the `pann approx --json` text).
//!
//! Designs are cached per `(α, degrees)`: a network has dozens of polynomial sites at one α, and designing costs
//! milliseconds to a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use pann_approx::{ApproxSummary, CompositeSign};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{approx_err, PannError};
use crate::kernel::Composite;

/// A designed composite and its kernel form.
pub struct Design {
    /// The composite, as pann-approx designed and certified it.
    pub sign: CompositeSign,
    /// The form the kernels evaluate.
    pub composite: Composite,
}

type Key = (Option<u32>, Option<Vec<usize>>);

fn cache() -> &'static Mutex<HashMap<Key, Arc<Design>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Design>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Checks α from Python (any integer) with pann-approx's own message.
fn check_alpha(alpha: i64) -> PyResult<u32> {
    pann_approx::sign::check_alpha(alpha).map_err(approx_err)
}

/// The largest α in the engine's range that `degrees` reach (as `pann approx --degrees` does).
fn best_alpha_for(degrees: &[usize]) -> pann_approx::Result<CompositeSign> {
    let mut last = None;
    for a in (pann_approx::ALPHA_MIN..=pann_approx::ALPHA_MAX).rev() {
        match CompositeSign::with_degrees(a, degrees) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("the α range is non-empty"))
}

/// The design for `alpha` and/or `degrees`, from the cache or designed now (without the GIL).
pub fn design(py: Python<'_>, alpha: Option<i64>, degrees: Option<Vec<usize>>) -> PyResult<Arc<Design>> {
    let alpha = alpha.map(check_alpha).transpose()?;
    let key: Key = (alpha, degrees.clone());
    if let Some(d) = cache().lock().expect("cache poisoned").get(&key) {
        return Ok(d.clone());
    }
    let sign = py
        .detach(|| match (alpha, &degrees) {
            (Some(a), None) => CompositeSign::for_alpha(a),
            (Some(a), Some(d)) => CompositeSign::with_degrees(a, d),
            (None, Some(d)) => best_alpha_for(d),
            (None, None) => Err(pann_approx::Error::InvalidArgument(
                "give alpha, degrees or both (e.g. pann.approx(9) or pann.approx(degrees=[15, 15]))".into(),
            )),
        })
        .map_err(approx_err)?;
    let composite = Composite::new(&sign);
    let d = Arc::new(Design { sign, composite });
    cache().lock().expect("cache poisoned").insert(key, d.clone());
    Ok(d)
}

/// A composite minimax approximation `p = p_k ∘ … ∘ p_1` of `sign(x)` on `[−1, 1]`, certified: ReLU error
/// `x·|1 − p(x)|/2 ≤ 2^-α` on `[−1, 1]`.
#[pyclass(name = "Approx", module = "pann", frozen)]
pub struct PyApprox {
    pub(crate) design: Arc<Design>,
    summary: ApproxSummary,
}

impl PyApprox {
    pub(crate) fn new(design: Arc<Design>) -> Self {
        let summary = ApproxSummary::from(&design.sign);
        Self { design, summary }
    }
}

#[pymethods]
impl PyApprox {
    /// Precision α: ReLU error ≤ 2^-α on [−1, 1].
    #[getter]
    fn alpha(&self) -> u32 {
        self.summary.alpha
    }

    /// Component degrees, first applied first.
    #[getter]
    fn degrees(&self) -> Vec<usize> {
        self.summary.degrees.clone()
    }

    /// Power-basis coefficients of each component, lowest degree first (the published form).
    #[getter]
    fn coefficients(&self) -> Vec<Vec<f64>> {
        self.summary.coefficient_lists()
    }

    /// Each component in the odd Chebyshev basis: `{"input_scale": s, "coefficients": [c0, c1, …]}` meaning
    /// `Σ_j c_j T_{2j+1}(s·y)`, the form that stays accurate at high degrees.
    #[getter]
    fn chebyshev<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.design
            .sign
            .components
            .iter()
            .map(|c| {
                let d = PyDict::new(py);
                d.set_item("input_scale", c.chebyshev.input_scale)?;
                d.set_item("coefficients", c.chebyshev.coefficients.clone())?;
                Ok(d)
            })
            .collect()
    }

    /// Multiplicative depth of the sign approximation under CKKS.
    #[getter]
    fn depth(&self) -> u32 {
        self.summary.depth
    }

    /// Multiplicative depth of the ReLU `x·(1 + p(x/B))/2` (one more product).
    #[getter]
    fn relu_depth(&self) -> u32 {
        self.summary.relu_depth
    }

    /// Non-scalar multiplications of the sign approximation.
    #[getter]
    fn nonscalar_mults(&self) -> usize {
        self.summary.nonscalar_mults
    }

    /// ε: from |x| = ε on, |p(x) − sign(x)| ≤ 2^(1−α) (measured).
    #[getter]
    fn epsilon(&self) -> f64 {
        self.summary.epsilon
    }

    /// Certified max |p − sign| on ±[ε_design, 1].
    #[getter]
    fn max_sign_error(&self) -> f64 {
        self.summary.max_sign_error
    }

    /// Certified max |x(1 + p(x))/2 − ReLU(x)| on [−1, 1].
    #[getter]
    fn max_relu_error(&self) -> f64 {
        self.summary.max_relu_error
    }

    /// The ReLU error when the power-basis coefficients are evaluated by Horner's rule in f64.
    #[getter]
    fn max_relu_error_power_basis(&self) -> f64 {
        self.summary.max_relu_error_power_basis
    }

    /// Which form `pann.relu` evaluates: "power" (pann eval's arithmetic) or "chebyshev" (where the power basis
    /// loses accuracy).
    #[getter]
    fn evaluates(&self) -> &'static str {
        if self.design.composite.is_power() {
            "power"
        } else {
            "chebyshev"
        }
    }

    /// The stable JSON of `pann approx --json`.
    fn json(&self) -> PyResult<String> {
        serde_json::to_string(&self.summary).map_err(|e| PannError::new_err(e.to_string()))
    }

    /// p(x) at one point (the Chebyshev form).
    fn __call__(&self, x: f64) -> f64 {
        self.design.sign.eval(x)
    }

    fn __repr__(&self) -> String {
        format!(
            "Approx(alpha={}, degrees={:?}, depth={}, relu_depth={}, epsilon={:.3e}, max_relu_error=2^{:.2})",
            self.summary.alpha,
            self.summary.degrees,
            self.summary.depth,
            self.summary.relu_depth,
            self.summary.epsilon,
            self.summary.max_relu_error.log2()
        )
    }
}

/// approx(alpha=None, degrees=None)
/// --
///
/// The cheapest certified composite for precision `alpha` (4..20), the composite with the given odd `degrees`
/// designed for `alpha`, or — degrees alone — the largest α those degrees reach.
#[pyfunction]
#[pyo3(signature = (alpha=None, degrees=None))]
pub fn approx(py: Python<'_>, alpha: Option<i64>, degrees: Option<Vec<usize>>) -> PyResult<PyApprox> {
    Ok(PyApprox::new(design(py, alpha, degrees)?))
}
