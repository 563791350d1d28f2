//! Chebyshev bases with parity, evaluation and conversion to the power basis.
//!
//! An approximation of degree `n` with [`Symmetry`] `s` is `p(x) = Σ_j c_j T_{k_j}(x / R)` where `k_j` runs over all
//! indices `0..=n` (no symmetry), the even ones (even) or the odd ones (odd), and `R` is the largest `|x|` of the
//! domain. Chebyshev polynomials are bounded by 1 on `[-1, 1]`, which keeps the Remez linear systems well conditioned
//! up to degree 63 and beyond; monomials would lose about `n·log10(2.4)` digits.

use crate::real::Real;
use serde::{Deserialize, Serialize};

/// Parity imposed on an approximation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Symmetry {
    /// All powers.
    #[default]
    None,
    /// Even powers only: `p(-x) = p(x)`.
    Even,
    /// Odd powers only: `p(-x) = -p(x)`.
    Odd,
}

impl Symmetry {
    /// Chebyshev indices used for a polynomial of degree `degree` with this parity.
    pub fn indices(self, degree: usize) -> impl Iterator<Item = usize> {
        let (start, step) = match self {
            Symmetry::None => (0, 1),
            Symmetry::Even => (0, 2),
            Symmetry::Odd => (1, 2),
        };
        (start..=degree).step_by(step)
    }

    /// Number of basis functions for a polynomial of degree `degree`.
    pub fn len(self, degree: usize) -> usize {
        self.indices(degree).count()
    }

    /// Whether `degree` has the parity this symmetry requires.
    pub fn admits(self, degree: usize) -> bool {
        match self {
            Symmetry::None => true,
            Symmetry::Even => degree.is_multiple_of(2),
            Symmetry::Odd => !degree.is_multiple_of(2),
        }
    }
}

/// Writes `T_{k_j}(t)` for the basis of `symmetry` into `out` (its length is the number of basis functions).
pub fn basis_values<R: Real>(symmetry: Symmetry, t: R, out: &mut [R]) {
    let one = R::from_f64(1.0);
    let two = R::from_f64(2.0);
    match symmetry {
        Symmetry::None => {
            let mut prev = one;
            let mut cur = t;
            for (j, o) in out.iter_mut().enumerate() {
                if j == 0 {
                    *o = one;
                } else {
                    *o = cur;
                    let next = two * t * cur - prev;
                    prev = cur;
                    cur = next;
                }
            }
        }
        Symmetry::Even | Symmetry::Odd => {
            // T_{k+2} = 2·T_2·T_k − T_{k−2}, with T_2 = 2t² − 1.
            let u2 = two * (two * t * t - one);
            let (mut prev, mut cur) = if symmetry == Symmetry::Even {
                (two * t * t - one, one) // T_{-2} = T_2
            } else {
                (t, t) // T_{-1} = T_1
            };
            for o in out.iter_mut() {
                *o = cur;
                let next = u2 * cur - prev;
                prev = cur;
                cur = next;
            }
        }
    }
}

/// `Σ_j c_j T_{k_j}(t)` for the basis of `symmetry`.
pub fn evaluate<R: Real>(symmetry: Symmetry, coeffs: &[R], t: R) -> R {
    let one = R::from_f64(1.0);
    let two = R::from_f64(2.0);
    let mut acc = R::from_f64(0.0);
    match symmetry {
        Symmetry::None => {
            let (mut prev, mut cur) = (one, t);
            for (j, &c) in coeffs.iter().enumerate() {
                if j == 0 {
                    acc = c;
                } else {
                    acc = acc + c * cur;
                    let next = two * t * cur - prev;
                    prev = cur;
                    cur = next;
                }
            }
        }
        Symmetry::Even | Symmetry::Odd => {
            let t2 = two * t * t - one;
            let u2 = two * t2;
            let (mut prev, mut cur) = if symmetry == Symmetry::Even { (t2, one) } else { (t, t) };
            for &c in coeffs {
                acc = acc + c * cur;
                let next = u2 * cur - prev;
                prev = cur;
                cur = next;
            }
        }
    }
    acc
}

/// Power-basis coefficients (lowest degree first, length `degree + 1`) of `Σ_j c_j T_{k_j}(x / scale)`.
///
/// The Chebyshev-to-monomial conversion has integer coefficients up to about `2^(n−1)`; it runs in `R` so that
/// double-double runs convert exactly, and is rounded to `f64` only at the end.
pub fn to_power_basis<R: Real>(symmetry: Symmetry, coeffs: &[R], degree: usize, scale: f64) -> Vec<f64> {
    let zero = R::from_f64(0.0);
    let two = R::from_f64(2.0);
    // Monomial coefficients of T_k, built by T_{k+1} = 2x·T_k − T_{k−1}.
    let mut t_prev = vec![zero; degree + 1];
    let mut t_cur = vec![zero; degree + 1];
    t_prev[0] = R::from_f64(1.0);
    if degree >= 1 {
        t_cur[1] = R::from_f64(1.0);
    }
    let mut out = vec![zero; degree + 1];
    let indices: Vec<usize> = symmetry.indices(degree).collect();
    let mut next_j = 0;
    for k in 0..=degree {
        let tk = if k == 0 { &t_prev } else { &t_cur };
        if next_j < indices.len() && indices[next_j] == k {
            let c = coeffs[next_j];
            for (o, &m) in out.iter_mut().zip(tk.iter()) {
                *o = *o + c * m;
            }
            next_j += 1;
        }
        if k >= 1 && k < degree {
            let mut t_next = vec![zero; degree + 1];
            for i in 0..degree {
                t_next[i + 1] = two * t_cur[i];
            }
            for i in 0..=degree {
                t_next[i] = t_next[i] - t_prev[i];
            }
            t_prev = std::mem::replace(&mut t_cur, t_next);
        }
    }
    let inv = 1.0 / scale;
    let mut s = R::from_f64(1.0);
    out.iter()
        .map(|&c| {
            let v = (c * s).to_f64();
            s = s * R::from_f64(inv);
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_matches_cosine_definition() {
        for &sym in &[Symmetry::None, Symmetry::Even, Symmetry::Odd] {
            let idx: Vec<usize> = sym.indices(9).collect();
            let mut vals = vec![0.0; idx.len()];
            for &t in &[-0.93, -0.2, 0.0, 0.31, 0.77, 1.0] {
                basis_values(sym, t, &mut vals);
                for (v, &k) in vals.iter().zip(&idx) {
                    let exact = (k as f64 * f64::acos(t)).cos();
                    assert!((v - exact).abs() < 1e-12, "{sym:?} T_{k}({t}) = {v} vs {exact}");
                }
            }
        }
    }

    #[test]
    fn power_basis_conversion_matches_evaluation() {
        let coeffs = [0.3, -0.7, 0.11, 0.05, -0.02];
        let p = to_power_basis(Symmetry::Odd, &coeffs, 9, 2.0);
        assert_eq!(p.len(), 10);
        for (i, c) in p.iter().enumerate() {
            if i % 2 == 0 {
                assert_eq!(*c, 0.0);
            }
        }
        for &x in &[-2.0, -1.3, 0.0, 0.4, 1.9] {
            let horner = p.iter().rev().fold(0.0, |acc, c| acc * x + c);
            let cheb = evaluate(Symmetry::Odd, &coeffs, x / 2.0);
            assert!((horner - cheb).abs() < 1e-12);
        }
    }
}
