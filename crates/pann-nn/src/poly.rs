//! Polynomial replacements of ReLU and max, as used by PANN.
//!
//! A composite polynomial `p = p_k ∘ … ∘ p_1` approximates `sign` on `[−1, 1]`; each component
//! is an odd polynomial given in the power basis, lowest degree first (`[c0, c1, c2, …]` means
//! `c0 + c1·t + c2·t² + …`; the even coefficients of an odd polynomial are zero, and the kernel
//! then evaluates only the odd ones, as `t·q(t²)`). From it:
//!
//! * ReLU with input bound `B`: `relu(x) ≈ x·(1 + p(x/B))/2`, valid while `|x| ≤ B`; with a shift
//!   `η ∈ [0, 0.5)` the argument becomes `t = (1 − η)·x/B − η` ([`PolyRelu::shift`]), which moves
//!   the composite's poor zone `|t| < ε` from around `x = 0` to small positive `x`;
//! * max of two values with divisor `D`: `max(a, b) ≈ ((a + b) + (a − b)·p((a − b)/D))/2`,
//!   valid while `|a − b| ≤ D`. A `k×k` max-pool is a pairwise tree of these over the window
//!   (row-major order), level `l` dividing by `D_l`; Lee et al. take
//!   `D_l = 2B·(1 + 2^(1−α))^l` so that every difference stays in `[−1, 1]`. The divisors are
//!   inputs here, not derived, so any schedule can be tried.
//!
//! What happens to an argument outside `[−1, 1]` is the [`OverflowPolicy`].

use crate::error::{Error, Result};

/// What to do with a polynomial argument outside `[−1, 1]`. It is counted in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OverflowPolicy {
    /// Count it and evaluate the polynomial there anyway (it usually explodes).
    #[default]
    Count,
    /// Count it and clamp the argument to `[−1, 1]` first.
    Clamp,
    /// Count it and make the forward pass fail with [`Error::Overflow`] naming the site.
    Error,
}

/// Polynomial ReLU `x·(1 + p(t))/2` with `t = (1 − η)·x/B − η` and
/// `p = components[k−1] ∘ … ∘ components[0]`; `η = 0` gives the usual `x·(1 + p(x/B))/2`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolyRelu {
    /// Odd components in the power basis, lowest degree first, applied first to last.
    pub components: Vec<Vec<f64>>,
    /// Input bound `B`: the polynomial is valid for `|x| ≤ B`.
    pub bound: f64,
    /// What to do with `|x| > B`.
    pub overflow: OverflowPolicy,
    /// Shift `η ∈ [0, 0.5)` of the argument: `t = (1 − η)·x/B − η`.
    ///
    /// For `x ∈ [−B, B]`, `t ∈ [−1, 1 − 2η]`, so overflow is still judged on `|x| ≤ B`, and
    /// every `x ≤ 0` has `t ≤ −η`: with `η` at least the composite's `ε`, `p` is within
    /// `2^(1−α)` of `−1` on all negative inputs (no leak there); the poorly approximated zone
    /// moves to `0 < x < 2ηB/(1 − η)`. Under CKKS it costs no depth: the factor `(1 − η)/B`
    /// folds into the previous linear layer and `−η` is a constant addition.
    pub shift: f64,
    /// Per-channel constants `o_c` subtracted from the output: `x·(1 + p(t))/2 − o_c` for an
    /// input of channel `c` (dimension 1 of the tensor: `C` of NCHW, the features of `[N, F]`).
    /// Empty: none. A mean-leak correction sets `o_c` to the mean error `E[e(x)]` of channel `c`
    /// on calibration data ([`crate::leak_meter`]), making the error zero-mean per channel. Under CKKS
    /// it costs no depth: a constant added to a ciphertext.
    pub offsets: Vec<f64>,
}

/// Polynomial max-pool: a pairwise tree of `((a+b) + (a−b)·p((a−b)/D_l))/2`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolyMax {
    /// Odd components in the power basis, lowest degree first, applied first to last.
    pub components: Vec<Vec<f64>>,
    /// Divisor `D_l` of each tree level `l` (level 0 compares window elements); at least
    /// `⌈log2(k²)⌉` of them for a `k×k` window.
    pub divisors: Vec<f64>,
    /// What to do with `|a − b| > D_l`.
    pub overflow: OverflowPolicy,
}

/// One component, prepared for evaluation.
#[derive(Debug, Clone)]
pub(crate) enum Component {
    /// `t·q(t²)` with `q`'s coefficients lowest first (the odd coefficients of the input).
    Odd(Vec<f64>),
    /// Plain Horner over all coefficients, lowest first.
    General(Vec<f64>),
}

/// A composite polynomial checked and prepared for the kernels.
#[derive(Debug, Clone)]
pub(crate) struct Composite {
    pub(crate) components: Vec<Component>,
}

impl Composite {
    /// Checks the coefficients and picks the cheaper odd form where it applies.
    pub(crate) fn new(components: &[Vec<f64>]) -> Result<Self> {
        if components.is_empty() {
            return Err(Error::BadActivation(
                "a composite polynomial needs at least one component".into(),
            ));
        }
        let mut out = Vec::with_capacity(components.len());
        for (i, c) in components.iter().enumerate() {
            if c.is_empty() || c.iter().any(|v| !v.is_finite()) {
                return Err(Error::BadActivation(format!(
                    "component {i} is empty or has a non-finite coefficient"
                )));
            }
            let odd = c.iter().step_by(2).all(|&v| v == 0.0) && c.len() > 1;
            out.push(if odd {
                Component::Odd(c.iter().skip(1).step_by(2).copied().collect())
            } else {
                Component::General(c.clone())
            });
        }
        Ok(Self { components: out })
    }

    /// `p(t)`, one value at a time (the kernels evaluate the same thing in blocks).
    pub(crate) fn eval(&self, mut t: f64) -> f64 {
        for c in &self.components {
            t = match c {
                Component::Odd(q) => {
                    let t2 = t * t;
                    t * q.iter().rev().fold(0.0, |acc, &a| acc * t2 + a)
                }
                Component::General(q) => q.iter().rev().fold(0.0, |acc, &a| acc * t + a),
            };
        }
        t
    }
}

impl PolyRelu {
    /// Checks the polynomial, the bound and the shift.
    pub(crate) fn prepare(&self) -> Result<Composite> {
        if !(self.bound.is_finite() && self.bound > 0.0) {
            return Err(Error::BadActivation(format!(
                "ReLU bound {} is not a positive finite number",
                self.bound
            )));
        }
        check_shift(self.shift)?;
        if let Some(o) = self.offsets.iter().find(|o| !o.is_finite()) {
            return Err(Error::BadActivation(format!("ReLU offset {o} is not finite")));
        }
        Composite::new(&self.components)
    }

    /// The approximation at one point, in `f64` (reference and plotting; the network uses the
    /// kernel), without the per-channel offsets. The overflow policy's clamping applies (to
    /// `x/B`, before the shift), its counting does not.
    pub fn eval(&self, x: f64) -> Result<f64> {
        let p = self.prepare()?;
        let mut u = x / self.bound;
        if self.overflow == OverflowPolicy::Clamp {
            u = u.clamp(-1.0, 1.0);
        }
        let t = (1.0 - self.shift) * u - self.shift;
        Ok(x * (1.0 + p.eval(t)) / 2.0)
    }
}

/// Checks that a ReLU shift `η` is in `[0, 0.5)`.
pub(crate) fn check_shift(shift: f64) -> Result<f64> {
    if (0.0..0.5).contains(&shift) {
        Ok(shift)
    } else {
        Err(Error::BadActivation(format!(
            "ReLU shift {shift} is not a number in [0, 0.5)"
        )))
    }
}

impl PolyMax {
    /// Checks the polynomial and that there are enough positive divisors for `window` values.
    pub(crate) fn prepare(&self, window: usize) -> Result<Composite> {
        let levels = tree_levels(window);
        if self.divisors.len() < levels {
            return Err(Error::BadActivation(format!(
                "max over {window} values needs {levels} divisors, got {}",
                self.divisors.len()
            )));
        }
        if let Some(d) = self.divisors.iter().find(|d| !(d.is_finite() && **d > 0.0)) {
            return Err(Error::BadActivation(format!(
                "max divisor {d} is not a positive finite number"
            )));
        }
        Composite::new(&self.components)
    }
}

/// Levels of a pairwise tree over `n` values: `⌈log2 n⌉`.
pub(crate) fn tree_levels(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_form_matches_general_horner() {
        let c = vec![0.0, 1.5, 0.0, -0.5];
        let odd = Composite::new(std::slice::from_ref(&c)).unwrap();
        assert!(matches!(odd.components[0], Component::Odd(_)));
        let general = Composite {
            components: vec![Component::General(c)],
        };
        for t in [-1.0, -0.3, 0.0, 0.7, 1.0] {
            assert!((odd.eval(t) - general.eval(t)).abs() < 1e-15);
        }
        // p∘p with p(t) = 1.5t − 0.5t³ maps 0.5 to p(0.6875).
        let twice = Composite::new(&vec![vec![0.0, 1.5, 0.0, -0.5]; 2]).unwrap();
        let p = |t: f64| 1.5 * t - 0.5 * t * t * t;
        assert!((twice.eval(0.5) - p(p(0.5))).abs() < 1e-15);
    }

    #[test]
    fn relu_formula_and_clamp() {
        let r = PolyRelu {
            components: vec![vec![0.0, 1.5, 0.0, -0.5]],
            bound: 2.0,
            overflow: OverflowPolicy::Count,
            shift: 0.0,
            offsets: Vec::new(),
        };
        // x = 2: t = 1, p(1) = 1, relu ≈ 2.
        assert!((r.eval(2.0).unwrap() - 2.0).abs() < 1e-15);
        assert!((r.eval(-2.0).unwrap()).abs() < 1e-15);
        let clamped = PolyRelu {
            overflow: OverflowPolicy::Clamp,
            ..r.clone()
        };
        // x = 4 clamps t to 1: 4·(1 + 1)/2 = 4; unclamped p(2) = −1 gives 0.
        assert!((clamped.eval(4.0).unwrap() - 4.0).abs() < 1e-15);
        assert!((r.eval(4.0).unwrap()).abs() < 1e-15);
    }

    #[test]
    fn invalid_polynomials_are_rejected() {
        assert!(Composite::new(&[]).is_err());
        assert!(Composite::new(&[vec![]]).is_err());
        assert!(Composite::new(&[vec![0.0, f64::NAN]]).is_err());
        let r = PolyRelu {
            components: vec![vec![0.0, 1.0]],
            bound: 0.0,
            overflow: OverflowPolicy::Count,
            shift: 0.0,
            offsets: Vec::new(),
        };
        assert!(r.prepare().is_err());
        let nan_offset = PolyRelu {
            bound: 1.0,
            offsets: vec![0.0, f64::NAN],
            ..r.clone()
        };
        assert!(nan_offset.prepare().is_err());
        for bad in [-0.1, 0.5, 0.7, f64::NAN, f64::INFINITY] {
            let r = PolyRelu {
                bound: 1.0,
                shift: bad,
                ..r.clone()
            };
            assert!(r.prepare().is_err(), "shift {bad} accepted");
        }
        let ok = PolyRelu {
            bound: 1.0,
            shift: 0.49,
            ..r.clone()
        };
        assert!(ok.prepare().is_ok());
        let m = PolyMax {
            components: vec![vec![0.0, 1.0]],
            divisors: vec![1.0],
            overflow: OverflowPolicy::Count,
        };
        assert!(m.prepare(2).is_ok());
        assert!(m.prepare(4).is_err());
        assert_eq!((tree_levels(1), tree_levels(4), tree_levels(9)), (0, 2, 4));
    }
}
