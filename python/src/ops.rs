//! `pann.relu`, `pann.sign`, `pann.max_pool` and `pann.relu_grad` on NumPy arrays of `float32` or `float64`,
//! any shape.
//!
//! A C-contiguous input is read in place (no copy); others are copied once into a contiguous buffer. The result
//! is a new array of the input's dtype, or `out=` (which may be the input itself: then the kernel runs in place).
//! The GIL is released while the kernel runs, so Python threads (a data loader) keep going.

use numpy::{Element, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

use crate::approx::{design, Design, PyApprox};
use crate::error::{approx_err, PannError};
use crate::kernel::{self, Elem, Op, Pool, Stats};

/// `alpha` as an integer or an `Approx` object.
fn resolve(py: Python<'_>, alpha: &Bound<'_, PyAny>) -> PyResult<Arc<Design>> {
    if let Ok(a) = alpha.cast::<PyApprox>() {
        return Ok(a.get().design.clone());
    }
    let a: i64 = alpha
        .extract()
        .map_err(|_| PyTypeError::new_err("alpha must be an integer precision or a pann.Approx"))?;
    design(py, Some(a), None)
}

fn check_bound(bound: f64) -> PyResult<f64> {
    pann_approx::ops::check_bound(bound).map_err(approx_err)
}

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("elements", s.elements)?;
    d.set_item("overflows", s.overflows)?;
    d.set_item("max_abs", s.max_abs)?;
    d.set_item("nans", s.nans)?;
    Ok(d)
}

/// The result, with the statistics if asked; without them, an error naming the function if any input was NaN
/// (with them, NaNs are counted as overflows and in `nans`: a range search must see a diverging network fail, not
/// stop on an exception).
fn finish<'py>(
    py: Python<'py>,
    name: &str,
    y: Bound<'py, PyAny>,
    s: &Stats,
    with: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if s.nans > 0 && !with {
        return Err(PannError::new_err(format!(
            "pann.{name}: {} of {} inputs are NaN",
            s.nans, s.elements
        )));
    }
    if with {
        Ok((y, stats_dict(py, s)?).into_pyobject(py)?.into_any())
    } else {
        Ok(y)
    }
}

/// `op` on an array of element type `T`.
fn unary_typed<'py, T: Elem + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyArrayDyn<T>>,
    out: Option<&Bound<'py, PyAny>>,
    p: &kernel::Composite,
    op: Op,
    bound: f64,
) -> PyResult<(Bound<'py, PyAny>, Stats)> {
    if let Some(o) = out {
        let o = o.cast::<PyArrayDyn<T>>().map_err(|_| {
            PyTypeError::new_err(format!(
                "out must be a NumPy array of the input's dtype ({})",
                std::any::type_name::<T>()
            ))
        })?;
        if o.shape() != x.shape() {
            return Err(PannError::new_err(format!(
                "out has shape {:?}, the input {:?}",
                o.shape(),
                x.shape()
            )));
        }
        if o.is(x) {
            let mut rw = x.try_readwrite().map_err(|e| PannError::new_err(e.to_string()))?;
            let s = rw
                .as_slice_mut()
                .map_err(|_| PannError::new_err("in-place evaluation needs a C-contiguous array"))?;
            let st = py.detach(|| kernel::unary_inplace(s, p, op, bound));
            return Ok((o.clone().into_any(), st));
        }
        let xr = x.try_readonly().map_err(|e| PannError::new_err(e.to_string()))?;
        let mut orw = o.try_readwrite().map_err(|e| PannError::new_err(e.to_string()))?;
        let os = orw
            .as_slice_mut()
            .map_err(|_| PannError::new_err("out must be C-contiguous"))?;
        let st = match xr.as_slice() {
            Ok(xs) => py.detach(|| kernel::unary(xs, os, p, op, bound)),
            Err(_) => {
                let owned = xr.as_array().as_standard_layout().into_owned();
                let xs = owned.as_slice().expect("standard layout");
                py.detach(|| kernel::unary(xs, os, p, op, bound))
            }
        };
        return Ok((o.clone().into_any(), st));
    }
    let y = PyArrayDyn::<T>::zeros(py, x.shape(), false);
    let st = {
        let xr = x.try_readonly().map_err(|e| PannError::new_err(e.to_string()))?;
        let mut yw = y.readwrite();
        let ys = yw.as_slice_mut().expect("a new array is contiguous");
        match xr.as_slice() {
            Ok(xs) => py.detach(|| kernel::unary(xs, ys, p, op, bound)),
            Err(_) => {
                let owned = xr.as_array().as_standard_layout().into_owned();
                let xs = owned.as_slice().expect("standard layout");
                py.detach(|| kernel::unary(xs, ys, p, op, bound))
            }
        }
    };
    Ok((y.into_any(), st))
}

fn unary<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    out: Option<&Bound<'py, PyAny>>,
    p: &kernel::Composite,
    op: Op,
    bound: f64,
) -> PyResult<(Bound<'py, PyAny>, Stats)> {
    if let Ok(a) = x.cast::<PyArrayDyn<f64>>() {
        unary_typed(py, a, out, p, op, bound)
    } else if let Ok(a) = x.cast::<PyArrayDyn<f32>>() {
        unary_typed(py, a, out, p, op, bound)
    } else {
        Err(PyTypeError::new_err(format!(
            "expected a float32 or float64 NumPy array, got {}",
            x.get_type().name()?
        )))
    }
}

/// relu(x, alpha, bound, *, out=None, return_stats=False)
/// --
///
/// The PANN ReLU `x·(1 + p(x/B))/2` elementwise; `alpha` is a precision (4..20) or a `pann.Approx`. Valid for
/// |x| ≤ bound; inputs beyond are evaluated anyway and counted (`return_stats=True` returns `(y, {"elements",
/// "overflows", "max_abs", "nans"})`). NaN inputs raise `pann.PannError` (with `return_stats`, they are counted).
#[pyfunction]
#[pyo3(signature = (x, alpha, bound, *, out=None, return_stats=false))]
pub fn relu<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    alpha: &Bound<'py, PyAny>,
    bound: f64,
    out: Option<&Bound<'py, PyAny>>,
    return_stats: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let bound = check_bound(bound)?;
    let d = resolve(py, alpha)?;
    let (y, s) = unary(py, x, out, &d.composite, Op::Relu, bound)?;
    finish(py, "relu", y, &s, return_stats)
}

/// sign(x, alpha, bound=1.0, *, out=None, return_stats=False)
/// --
///
/// The composite sign approximation `p(x/B)` elementwise (|p − sign| ≤ 2^(1−α) for ε ≤ |x/B| ≤ 1).
#[pyfunction]
#[pyo3(signature = (x, alpha, bound=1.0, *, out=None, return_stats=false))]
pub fn sign<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    alpha: &Bound<'py, PyAny>,
    bound: f64,
    out: Option<&Bound<'py, PyAny>>,
    return_stats: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let bound = check_bound(bound)?;
    let d = resolve(py, alpha)?;
    let (y, s) = unary(py, x, out, &d.composite, Op::Sign, bound)?;
    finish(py, "sign", y, &s, return_stats)
}

fn pool_typed<'py, T: Elem + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyArrayDyn<T>>,
    d: &Design,
    bound: f64,
    k: usize,
) -> PyResult<(Bound<'py, PyAny>, Stats)> {
    let shape = x.shape().to_vec();
    if shape.len() < 2 {
        return Err(PannError::new_err(format!(
            "max_pool needs an array of shape (..., H, W), got shape {shape:?}"
        )));
    }
    let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    if k < 2 || h < k || w < k {
        return Err(PannError::new_err(format!(
            "max_pool: a {k}×{k} window does not fit planes of {h}×{w} (kernel_size ≥ 2, ≤ H and W)"
        )));
    }
    let tree = pann_approx::MaxTree::new(k * k, bound, d.sign.alpha).map_err(approx_err)?;
    let mut out_shape = shape.clone();
    let n = out_shape.len();
    out_shape[n - 2] = h / k;
    out_shape[n - 1] = w / k;
    let y = PyArrayDyn::<T>::zeros(py, out_shape, false);
    let g = Pool {
        p: &d.composite,
        divisors: &tree.divisors,
        h,
        w,
        k,
    };
    let st = {
        let xr = x.try_readonly().map_err(|e| PannError::new_err(e.to_string()))?;
        let mut yw = y.readwrite();
        let ys = yw.as_slice_mut().expect("a new array is contiguous");
        match xr.as_slice() {
            Ok(xs) => py.detach(|| kernel::max_pool(&g, xs, ys)),
            Err(_) => {
                let owned = xr.as_array().as_standard_layout().into_owned();
                let xs = owned.as_slice().expect("standard layout");
                py.detach(|| kernel::max_pool(&g, xs, ys))
            }
        }
    };
    Ok((y.into_any(), st))
}

/// max_pool(x, alpha, bound, kernel_size=2, *, return_stats=False)
/// --
///
/// The polynomial k×k max-pool (stride k, no padding) over the last two axes of `x` (..., H, W): a tree of
/// `max(a, b) ≈ ((a + b) + (a − b)·p((a − b)/D_l))/2` whose divisors `D_l = 2B(1 + 2^(1−α))^l` keep every argument
/// in [−1, 1] when the inputs are in [−B, B]. `overflows` counts pairwise arguments beyond 1.
#[pyfunction]
#[pyo3(signature = (x, alpha, bound, kernel_size=2, *, return_stats=false))]
pub fn max_pool<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    alpha: &Bound<'py, PyAny>,
    bound: f64,
    kernel_size: usize,
    return_stats: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let bound = check_bound(bound)?;
    let d = resolve(py, alpha)?;
    let (y, s) = if let Ok(a) = x.cast::<PyArrayDyn<f64>>() {
        pool_typed(py, a, &d, bound, kernel_size)?
    } else if let Ok(a) = x.cast::<PyArrayDyn<f32>>() {
        pool_typed(py, a, &d, bound, kernel_size)?
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected a float32 or float64 NumPy array, got {}",
            x.get_type().name()?
        )));
    };
    finish(py, "max_pool", y, &s, return_stats)
}

fn slope_typed<'py, T: Elem + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyArrayDyn<T>>,
    d: &Design,
    bound: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let y = PyArrayDyn::<T>::zeros(py, x.shape(), false);
    {
        let xr = x.try_readonly().map_err(|e| PannError::new_err(e.to_string()))?;
        let mut yw = y.readwrite();
        let ys = yw.as_slice_mut().expect("a new array is contiguous");
        match xr.as_slice() {
            Ok(xs) => py.detach(|| kernel::relu_slope(&d.sign, xs, ys, bound)),
            Err(_) => {
                let owned = xr.as_array().as_standard_layout().into_owned();
                let xs = owned.as_slice().expect("standard layout");
                py.detach(|| kernel::relu_slope(&d.sign, xs, ys, bound))
            }
        }
    }
    Ok(y.into_any())
}

/// relu_grad(x, alpha, bound)
/// --
///
/// The derivative of `pann.relu` with respect to x: `(1 + p(t))/2 + t·p'(t)/2`, `t = x/B` (the backward pass of
/// `pann.torch.PolyReLU`).
#[pyfunction]
pub fn relu_grad<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    alpha: &Bound<'py, PyAny>,
    bound: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let bound = check_bound(bound)?;
    let d = resolve(py, alpha)?;
    if let Ok(a) = x.cast::<PyArrayDyn<f64>>() {
        slope_typed(py, a, &d, bound)
    } else if let Ok(a) = x.cast::<PyArrayDyn<f32>>() {
        slope_typed(py, a, &d, bound)
    } else {
        Err(PyTypeError::new_err(format!(
            "expected a float32 or float64 NumPy array, got {}",
            x.get_type().name()?
        )))
    }
}
