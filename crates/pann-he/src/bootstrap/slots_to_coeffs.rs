//! SlotsToCoeffs: the homomorphic special FFT `F` (the decoding map without its bit reversal), factored into
//! a chosen number of sparse layers.
//!
//! With `n = N/2` slots, slot `j` of a plaintext with coefficients `m_0 … m_(N−1)` is
//! `Σ_(k<n) (m_k + i·m_(k+n)) ζ^(5^j·k)` (because `ζ^(5^j·n) = i`), i.e. `A·w` with `w = m_lo + i·m_hi` and
//! `A = F·P`: `P` the bit-reversal permutation, `F = S_n ⋯ S_4·S_2` the butterfly stages of the special FFT
//! (Cheon–Kim–Kim–Song 2017; Chen–Chillotti–Song 2019 §3). Stage `S_len` has three diagonals, at offsets
//! `0, ±len/2`: in each block of `len` slots, `(u, v) ↦ (u + W_j·v, u − W_j·v)` with
//! `W_j = exp(2πi·(5^j mod 4·len)/(4·len))`. Merging `s` consecutive stages gives at most `2^(s+1) − 1`
//! diagonals; one layer of merged stages costs one level (Han–Ki 2020's level budget).
//!
//! Bootstrapping keeps slots in bit-reversed order between the transforms: CoeffsToSlots applies `F^(−1)`
//! (slots become `P·w`), EvalMod works slot by slot, and SlotsToCoeffs applies `F` (`F·P·w = A·w`).

use super::lintrans::{compose, Diagonals};
use crate::ckks::Complex;

/// `exp(2πi·k/den)`.
pub(crate) fn unit(k: u64, den: u64) -> Complex {
    let t = 2.0 * std::f64::consts::PI * k as f64 / den as f64;
    Complex {
        re: t.cos(),
        im: t.sin(),
    }
}

/// `W_j` of stage `len` for ring degree `N = 2n`.
pub(crate) fn twiddle(j: usize, len: usize) -> Complex {
    let lenq = 4 * len as u64;
    let mut g = 1u64;
    for _ in 0..j {
        g = g * 5 % lenq;
    }
    unit(g, lenq)
}

fn insert(d: &mut Diagonals, k: i64, n: usize, r: usize, v: Complex) {
    let k = k.rem_euclid(n as i64);
    let k = if k > n as i64 / 2 { k - n as i64 } else { k };
    let diag = d.entry(k).or_insert_with(|| vec![Complex::default(); n]);
    diag[r].re += v.re;
    diag[r].im += v.im;
}

/// The three diagonals of the forward butterfly stage `S_len` on `n` slots.
pub fn forward_stage(len: usize, n: usize) -> Diagonals {
    let h = len / 2;
    let mut d = Diagonals::new();
    // Powers of 5 modulo 4·len for j < len/2, computed incrementally.
    let w: Vec<Complex> = (0..h).map(|j| twiddle(j, len)).collect();
    let one = Complex { re: 1.0, im: 0.0 };
    for r in 0..n {
        let p = r % len;
        if p < h {
            insert(&mut d, 0, n, r, one);
            insert(&mut d, h as i64, n, r, w[p]);
        } else {
            let wj = w[p - h];
            insert(&mut d, -(h as i64), n, r, one);
            insert(&mut d, 0, n, r, Complex { re: -wj.re, im: -wj.im });
        }
    }
    d
}

/// Splits `stages` stage indices `0..stages` into `layers` consecutive groups, as even as possible (earlier
/// groups take the extra stage).
pub fn group_stages(stages: usize, layers: usize) -> Vec<std::ops::Range<usize>> {
    let layers = layers.clamp(1, stages.max(1));
    let (base, extra) = (stages / layers, stages % layers);
    let mut out = Vec::with_capacity(layers);
    let mut lo = 0;
    for i in 0..layers {
        let len = base + usize::from(i < extra);
        out.push(lo..lo + len);
        lo += len;
    }
    out
}

/// The layers of `F` in the order they are applied: layer `t` is the product of the stages `S_len`,
/// `len = 2^(s+1)` for `s` in its group, the smaller `len` applied first.
pub fn slots_to_coeffs_layers(n: usize, layers: usize) -> Vec<Diagonals> {
    let stages = n.trailing_zeros() as usize;
    group_stages(stages, layers)
        .into_iter()
        .map(|g| {
            let mut acc: Option<Diagonals> = None;
            for s in g {
                let st = forward_stage(2 << s, n);
                acc = Some(match acc {
                    None => st,
                    Some(a) => compose(&st, &a, n),
                });
            }
            acc.expect("non-empty group")
        })
        .collect()
}
