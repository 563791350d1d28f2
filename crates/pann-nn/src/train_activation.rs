//! Activations for training: differentiable tensor ops instead of the inference kernels.
//!
//! The inference path ([`crate::Model::forward`]) runs activations through fused in-place
//! kernels that autograd cannot see. Training needs gradients, so
//! [`crate::Model::forward_t`] / [`crate::Model::forward_train`] run each ReLU site through a
//! [`TrainActivation`] built from ordinary `tch` ops:
//!
//! * [`TrainRelu::Exact`]: `max(x, 0)` (libtorch's `relu`).
//! * [`TrainRelu::Poly`]: the PANN ReLU `x·(1 + p(z))/2` with `z = clamp(x/B, −1, 1)` and `p`
//!   a composite of odd Chebyshev series `p_i(y) = Σ_j c_j T_{2j+1}(s_i·y)` (the form
//!   pann-approx certifies), evaluated by the three-term recurrence
//!   `T_{n+2} = (4t² − 2)·T_n − T_{n−2}` in tensor ops. The slope comes out of the same pass
//!   (`T'_{2j+1} = (2j+1)·U_{2j}`, and `U` obeys the same recurrence), and it reaches autograd as
//!   `f + (x − sg(x))·f'` (`sg` = stop-gradient): the forward value is exactly `f`, the
//!   gradient exactly `f'·upstream`. Why not let autograd record the recurrence: it would keep
//!   about four activation-sized tensors per Chebyshev term and site (gigabytes for ResNet-20 at
//!   batch 128); this keeps one. The clamp is a training-only guard: one input beyond `B` would
//!   otherwise send the polynomial, and the whole run, to infinity; beyond `B` the site acts
//!   like `x·(1 + p(±1))/2 ≈ relu(x)`.
//! * [`TrainActivation::neg_noise_std`]: in training mode, adds `N(0, σ²)` noise to the output
//!   wherever the input is negative, to imitate the polynomial's error there (see
//!   `pann-train`, `--neg-noise`). The noise is a constant for autograd and comes from
//!   libtorch's global generator (`tch::manual_seed` makes it reproducible).
//!
//! Max-pool sites always run the exact max-pool here.

use tch::Tensor;

use crate::error::{Error, Result};

/// One odd Chebyshev series `p(y) = Σ_j c_j T_{2j+1}(s·y)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChebyshevComponent {
    /// `s`.
    pub input_scale: f64,
    /// `c_0, c_1, …` for `T_1, T_3, …`.
    pub coefficients: Vec<f64>,
}

/// The PANN ReLU `x·(1 + p(x/B))/2` with `p` a composite of odd Chebyshev series.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPoly {
    /// Components, applied first to last.
    pub components: Vec<ChebyshevComponent>,
    /// Input bound `B` of every site without one of its own.
    pub bound: f64,
    /// Per-site bounds, indexed like [`crate::Model::relu_sites`] (empty: `bound` everywhere), so that training
    /// goes through the polynomial at the bounds the network will be evaluated with (calibrated or Lee's rule per
    /// layer) rather than one global `B`.
    pub site_bounds: Vec<f64>,
    /// Per-site, per-channel offsets `m_c` subtracted from the output (the mean-leak correction; empty: none, or
    /// an empty list for a site without).
    pub site_offsets: Vec<Vec<f64>>,
}

impl TrainPoly {
    /// The bound at ReLU site `site`.
    pub fn bound_at(&self, site: usize) -> f64 {
        self.site_bounds.get(site).copied().unwrap_or(self.bound)
    }
}

/// What the ReLU sites compute in a differentiable forward pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TrainRelu {
    /// `max(x, 0)`.
    #[default]
    Exact,
    /// The polynomial ReLU.
    Poly(TrainPoly),
}

/// The activation of every ReLU site in a differentiable forward pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainActivation {
    /// What each ReLU site computes.
    pub relu: TrainRelu,
    /// Standard deviation of the noise added where the input is negative (training mode only);
    /// `0` for none.
    pub neg_noise_std: f64,
}

impl TrainActivation {
    /// Exact ReLU, no noise.
    pub fn exact() -> Self {
        Self::default()
    }

    /// Checks the polynomial, the bound and the noise level.
    pub fn validate(&self) -> Result<()> {
        if !(self.neg_noise_std.is_finite() && self.neg_noise_std >= 0.0) {
            return Err(Error::BadActivation(format!(
                "noise std {} is not a finite number ≥ 0",
                self.neg_noise_std
            )));
        }
        if let TrainRelu::Poly(p) = &self.relu {
            if let Some(b) = std::iter::once(&p.bound)
                .chain(&p.site_bounds)
                .find(|b| !(b.is_finite() && **b > 0.0))
            {
                return Err(Error::BadActivation(format!(
                    "ReLU bound {b} is not a positive finite number"
                )));
            }
            if p.site_offsets.iter().flatten().any(|o| !o.is_finite()) {
                return Err(Error::BadActivation("a mean-leak offset is not finite".into()));
            }
            if p.components.is_empty() {
                return Err(Error::BadActivation("a composite needs at least one component".into()));
            }
            for (i, c) in p.components.iter().enumerate() {
                let finite = c.input_scale.is_finite() && c.coefficients.iter().all(|v| v.is_finite());
                if c.coefficients.is_empty() || !finite {
                    return Err(Error::BadActivation(format!(
                        "component {i} is empty or has a non-finite coefficient"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether the activation can run on bf16 values: exact ReLU (with or without noise) can; a polynomial,
    /// whose composite needs far more than bf16's 8 significant bits, cannot.
    pub fn is_bf16_safe(&self) -> bool {
        matches!(self.relu, TrainRelu::Exact)
    }

    /// Applies the site activation to `x` with the global bound and no offsets; `train` switches the noise on.
    pub fn apply(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.apply_site(None, x, train)
    }

    /// [`TrainActivation::apply`] at ReLU site `site` (its own bound and offsets, if the polynomial has them).
    pub fn apply_at(&self, site: usize, x: &Tensor, train: bool) -> Result<Tensor> {
        self.apply_site(Some(site), x, train)
    }

    fn apply_site(&self, site: Option<usize>, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = match &self.relu {
            TrainRelu::Exact => x.f_relu()?,
            TrainRelu::Poly(p) => {
                let bound = site.map_or(p.bound, |s| p.bound_at(s));
                let y = poly_relu(x, p, bound)?;
                match site.and_then(|s| p.site_offsets.get(s)).filter(|o| !o.is_empty()) {
                    None => y,
                    Some(o) => {
                        // [C] -> [1, C, 1, …]: one offset per channel (dimension 1), a constant for autograd.
                        let mut shape = vec![1i64; x.dim()];
                        shape[1] = o.len() as i64;
                        let o = Tensor::from_slice(o).f_to_kind(x.kind())?.f_view(shape.as_slice())?;
                        y.f_sub(&o)?
                    }
                }
            }
        };
        if !(train && self.neg_noise_std > 0.0) {
            return Ok(y);
        }
        let noise = tch::no_grad(|| -> Result<Tensor> {
            let mask = x.f_lt(0.0)?.f_to_kind(x.kind())?;
            Ok(x.f_randn_like()?.f_mul_(&mask)?.f_mul_scalar_(self.neg_noise_std)?)
        })?;
        Ok(y.f_add(&noise)?)
    }
}

/// `x·(1 + p(z))/2`, `z = clamp(x/B, −1, 1)`, with its exact slope passed to autograd.
fn poly_relu(x: &Tensor, p: &TrainPoly, bound: f64) -> Result<Tensor> {
    let (f, slope) = tch::no_grad(|| value_and_slope(&x.detach(), p, bound))?;
    if !x.requires_grad() {
        return Ok(f);
    }
    // Zero in value, `slope` in gradient.
    let delta = x.f_sub(&x.detach())?.f_mul(&slope)?;
    Ok(f.f_add(&delta)?)
}

/// `(f(x), f'(x))` of the polynomial ReLU, without autograd.
fn value_and_slope(x: &Tensor, p: &TrainPoly, bound: f64) -> Result<(Tensor, Tensor)> {
    let scaled = x.f_div_scalar(bound)?;
    let inside = scaled.f_abs()?.f_le(1.0)?.f_to_kind(x.kind())?;
    let mut v = scaled.f_clamp(-1.0, 1.0)?;
    // dv/dz, the slope of the composite so far with respect to z.
    let mut dv: Option<Tensor> = None;
    for c in &p.components {
        let t = v.f_mul_scalar(c.input_scale)?;
        let (value, mut deriv) = odd_chebyshev(&t, &c.coefficients)?;
        let mut d = deriv.f_mul_scalar_(c.input_scale)?;
        dv = Some(match dv {
            None => d,
            Some(prev) => d.f_mul_(&prev)?,
        });
        v = value;
    }
    let dp = dv.expect("at least one component");
    // f = x(1 + p)/2; f' = (1 + p)/2 + x·p'(z)·[|x| ≤ B]/(2B).
    let half_one_plus_p = v.f_add_scalar(1.0)?.f_mul_scalar_(0.5)?;
    let f = x.f_mul(&half_one_plus_p)?;
    let slope = x
        .f_mul(&dp)?
        .f_mul_(&inside)?
        .f_mul_scalar_(0.5 / bound)?
        .f_add_(&half_one_plus_p)?;
    Ok((f, slope))
}

/// `Σ_j c_j T_{2j+1}(t)` and its derivative `Σ_j c_j (2j+1) U_{2j}(t)`, by the three-term
/// recurrence with step two (`X_{n+2} = (4t² − 2)X_n − X_{n−2}`, shared by `T` and `U`).
fn odd_chebyshev(t: &Tensor, coefficients: &[f64]) -> Result<(Tensor, Tensor)> {
    let u = t.f_square()?.f_mul_scalar_(4.0)?.f_sub_scalar_(2.0)?;
    // T_1 = t, T_{-1} = t; U_0 = 1, U_{-2} = −1.
    let (mut t_prev, mut t_cur) = (t.shallow_clone(), t.shallow_clone());
    let (mut u_prev, mut u_cur) = (t.f_full_like(-1.0)?, t.f_ones_like()?);
    let mut value = t.f_mul_scalar(coefficients[0])?;
    let mut deriv = t.f_full_like(coefficients[0])?;
    for (j, &c) in coefficients.iter().enumerate().skip(1) {
        let t_next = u.f_mul(&t_cur)?.f_sub_(&t_prev)?;
        let u_next = u.f_mul(&u_cur)?.f_sub_(&u_prev)?;
        value = value.f_add_(&t_next.f_mul_scalar(c)?)?;
        deriv = deriv.f_add_(&u_next.f_mul_scalar(c * (2 * j + 1) as f64)?)?;
        (t_prev, t_cur) = (t_cur, t_next);
        (u_prev, u_cur) = (u_cur, u_next);
    }
    Ok((value, deriv))
}
