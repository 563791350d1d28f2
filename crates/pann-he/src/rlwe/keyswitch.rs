//! Hybrid key switching: `c·s' ≈ d_0 + d_1·s (mod Q_ℓ)` for a polynomial `c` at level `ℓ`.
//!
//! 1. `c` goes to coefficient form and is cut into digits `[c]_(D_j)`, each extended to `Q_ℓ·P`
//!    ([`RingContext::mod_up_digit`]);
//! 2. the inner product `Σ_j ext_j · (b_j, a_j)` is accumulated in 128 bits and reduced once per row;
//! 3. both halves are divided by `P` ([`RingContext::mod_down`]), which shrinks the key-switching noise by `P`.
//!
//! Cost: `ℓ+1` inverse NTTs, `(#digits)·(ℓ+1+K−|D_j|)` forward NTTs for the extensions, `2K` inverse and
//! `2(ℓ+1)` forward NTTs for the reductions.

use rayon::prelude::*;

use super::keys::SwitchingKey;
use super::params::Parameters;
use crate::ring::ntt::with_avx2;
use crate::ring::{Basis, RnsPoly};

/// A polynomial cut into key-switching digits, each extended to `Q_ℓ·P` in NTT form: the expensive half of
/// key switching (one inverse NTT per row, then `dnum·(ℓ+1+K−|D_j|)` forward NTTs), done once and shared by every
/// automorphism applied to the same ciphertext (hoisting, Halevi–Shoup 2018; Bossuat et al. 2021 §3).
///
/// Why it commutes: an automorphism `φ_g` permutes the NTT slots of every row the same way, and the fast basis
/// extension of `φ_g(c)` differs from `φ_g` of the extension of `c` only by multiples of the digit modulus, which
/// the gadget annihilates. So `Σ_j φ_g(ext_j)·key_j` is a valid key switch of `φ_g(c)`.
#[derive(Clone, Debug)]
pub struct Decomposed {
    level: usize,
    digits: Vec<RnsPoly>,
}

impl Decomposed {
    /// The level of the decomposed polynomial.
    pub fn level(&self) -> usize {
        self.level
    }
}

/// Cuts `c` (NTT form, level `ℓ`) into its extended digits.
pub fn decompose(params: &Parameters, c: &RnsPoly) -> Decomposed {
    let ring = params.ring();
    let level = c.basis().q - 1;
    let mut c_coef = c.clone();
    ring.intt(&mut c_coef);
    let digits = params
        .digits_at(level)
        .into_iter()
        .map(|(lo, hi)| ring.mod_up_digit(&c_coef, c, lo, hi))
        .collect();
    Decomposed { level, digits }
}

/// `(d_0, d_1)` with `d_0 + d_1·s ≈ φ_g(c)·s'` for the key from `s'` to `s`, where `dec` is the decomposition of
/// `c` and `perm` the NTT-slot permutation of `φ_g` (`None`: the identity).
pub fn key_switch_decomposed(
    params: &Parameters,
    dec: &Decomposed,
    perm: Option<&[u32]>,
    key: &SwitchingKey,
) -> [RnsPoly; 2] {
    let ring = params.ring();
    let level = dec.level;
    let max_level = params.max_level();
    let n = ring.n();
    let ext_basis = Basis::extended(level);
    let rows = ring.rows(ext_basis);
    let mut acc = vec![vec![0u128; rows * n], vec![0u128; rows * n]];
    for (j, ext) in dec.digits.iter().enumerate() {
        for (half, acc_half) in acc.iter_mut().enumerate() {
            let k = &key.digits[j][half];
            acc_half.par_chunks_exact_mut(n).enumerate().for_each(|(r, a)| {
                let kr = if r <= level { r } else { max_level + 1 + (r - level - 1) };
                let (e, kk) = (ext.row(r), k.row(kr));
                match perm {
                    None => with_avx2(
                        #[inline(always)]
                        || {
                            for ((x, &u), &v) in a.iter_mut().zip(e).zip(kk) {
                                *x += u as u128 * v as u128;
                            }
                        },
                    ),
                    Some(perm) => {
                        for ((x, &p), &v) in a.iter_mut().zip(perm).zip(kk) {
                            *x += e[p as usize] as u128 * v as u128;
                        }
                    }
                }
            });
        }
    }
    let out: Vec<RnsPoly> = acc
        .into_iter()
        .map(|a| {
            let mut p = ring.zero(ext_basis, true);
            p.data
                .par_chunks_exact_mut(n)
                .zip(a.par_chunks_exact(n))
                .enumerate()
                .for_each(|(r, (o, s))| {
                    let m = ring.modulus_of(ext_basis, r);
                    with_avx2(
                        #[inline(always)]
                        || {
                            for (x, &v) in o.iter_mut().zip(s) {
                                *x = m.reduce_wide(v);
                            }
                        },
                    );
                });
            ring.mod_down(&p)
        })
        .collect();
    let [d0, d1]: [RnsPoly; 2] = out.try_into().expect("two halves");
    [d0, d1]
}

/// `(d_0, d_1)` with `d_0 + d_1·s ≈ c·s'` for the key from `s'` to `s`; `c` in NTT form at any level.
pub fn key_switch(params: &Parameters, c: &RnsPoly, key: &SwitchingKey) -> [RnsPoly; 2] {
    key_switch_decomposed(params, &decompose(params, c), None, key)
}
