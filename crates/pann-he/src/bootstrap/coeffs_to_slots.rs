//! CoeffsToSlots: `F^(−1)`, the inverse of the butterfly part of the special FFT (see
//! [`super::slots_to_coeffs`]), factored into sparse layers, with the factor `1/n` spread as `1/2` per stage so
//! every diagonal entry stays of size about 1 (plaintext rounding is relative to that size).
//!
//! The inverse stage `S_len^(−1)/2` maps each block pair `(a, b)` to `((a + b)/2, (a − b)·conj(W_j)/2)`.
//! After CoeffsToSlots the slots hold `P·w/Δ'`, `w = t_lo + i·t_hi` the raised coefficients; the real and
//! imaginary parts are then separated by conjugation: `Re = z + z̄` and `Im = −i·(z − z̄)` of `z = w/2`.

use super::lintrans::{compose, Diagonals};
use super::slots_to_coeffs::{group_stages, twiddle};
use crate::ckks::Complex;

/// The three diagonals of the inverse stage `S_len^(−1)` on `n` slots (including its factor 1/2).
pub fn inverse_stage(len: usize, n: usize) -> Diagonals {
    let h = len / 2;
    let mut d = Diagonals::new();
    let half = Complex { re: 0.5, im: 0.0 };
    let w: Vec<Complex> = (0..h)
        .map(|j| {
            let t = twiddle(j, len);
            Complex {
                re: 0.5 * t.re,
                im: -0.5 * t.im,
            }
        })
        .collect();
    let mut put = |k: i64, r: usize, v: Complex| {
        let k = k.rem_euclid(n as i64);
        let k = if k > n as i64 / 2 { k - n as i64 } else { k };
        let diag = d.entry(k).or_insert_with(|| vec![Complex::default(); n]);
        diag[r].re += v.re;
        diag[r].im += v.im;
    };
    for r in 0..n {
        let p = r % len;
        if p < h {
            put(0, r, half);
            put(h as i64, r, half);
        } else {
            let wj = w[p - h];
            put(-(h as i64), r, wj);
            put(0, r, Complex { re: -wj.re, im: -wj.im });
        }
    }
    d
}

/// The layers of `F^(−1)` in the order they are applied: stages `len = n, n/2, …, 2`, grouped consecutively.
pub fn coeffs_to_slots_layers(n: usize, layers: usize) -> Vec<Diagonals> {
    let stages = n.trailing_zeros() as usize;
    group_stages(stages, layers)
        .into_iter()
        .map(|g| {
            let mut acc: Option<Diagonals> = None;
            for s in g {
                // Stage s of the application order has len = n >> s.
                let st = inverse_stage(n >> s, n);
                acc = Some(match acc {
                    None => st,
                    Some(a) => compose(&st, &a, n),
                });
            }
            acc.expect("non-empty group")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::lintrans::apply_plain;
    use super::super::slots_to_coeffs::slots_to_coeffs_layers;
    use super::*;
    use crate::ckks::Encoder;

    fn bitrev(v: &[Complex]) -> Vec<Complex> {
        let bits = v.len().trailing_zeros();
        (0..v.len())
            .map(|i| v[crate::ring::ntt::bit_reverse(i, bits)])
            .collect()
    }

    #[test]
    fn the_layers_are_the_special_fft_and_its_inverse() {
        let n_ring = 64;
        let n = n_ring / 2;
        let enc = Encoder::new(n_ring);
        let coeffs: Vec<f64> = (0..n_ring).map(|i| ((i * 13 % 7) as f64 - 3.0) / 3.0).collect();
        let slots = enc.embed(&coeffs);
        let w: Vec<Complex> = (0..n)
            .map(|i| Complex {
                re: coeffs[i],
                im: coeffs[i + n],
            })
            .collect();
        for layers in 1..=5 {
            // F·P·w = the slots.
            let mut v = bitrev(&w);
            for l in slots_to_coeffs_layers(n, layers) {
                v = apply_plain(&l, &v);
            }
            for (a, b) in v.iter().zip(&slots) {
                assert!(
                    (a.re - b.re).abs() < 1e-12 && (a.im - b.im).abs() < 1e-12,
                    "{layers} layers"
                );
            }
            // F^(−1)·slots = P·w.
            let mut u = slots.clone();
            for l in coeffs_to_slots_layers(n, layers) {
                u = apply_plain(&l, &u);
            }
            for (a, b) in u.iter().zip(&bitrev(&w)) {
                assert!(
                    (a.re - b.re).abs() < 1e-12 && (a.im - b.im).abs() < 1e-12,
                    "{layers} layers"
                );
            }
        }
        // Merged stages keep the diagonal count at 2^(s+1) − 1 (fewer where offsets wrap around n): stages
        // len = 32, 16, 8 give the multiples of 4 modulo 32, stages 4, 2 the offsets −3 … 3.
        let l = coeffs_to_slots_layers(n, 2);
        assert_eq!((l[0].len(), l[1].len()), (8, 7));
    }
}
