//! Hybrid key switching: `c·s' ≈ d_0 + d_1·s (mod Q_ℓ)` for a polynomial `c` at level `ℓ`.
//!
//! 1. `c` goes to coefficient form and is cut into digits `[c]_(D_j)`, each extended to `Q_ℓ·P`
//!    ([`RingContext::mod_up_digit`]);
//! 2. the inner product `Σ_j ext_j · (b_j, a_j)` is accumulated in 128 bits and reduced once per coefficient;
//! 3. both halves are divided by `P` ([`RingContext::mod_down`]), which shrinks the key-switching noise by `P`.
//!
//! Cost: `ℓ+1` inverse NTTs, `(#digits)·(ℓ+1+K−|D_j|)` forward NTTs for the extensions, `2K` inverse and
//! `2(ℓ+1)` forward NTTs for the reductions.

use rayon::prelude::*;

use super::keys::SwitchingKey;
use super::params::Parameters;
use crate::ring::ntt::with_avx2;
use crate::ring::sampler::Sampler;
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
    let [a, b] = key_switch_decomposed_raw(params, dec, perm, key);
    let (d0, d1) = rayon::join(|| ring.mod_down(&a), || ring.mod_down(&b));
    [d0, d1]
}

/// [`key_switch_decomposed`] before its division by `P`: `(P·d_0, P·d_1)` over `Q_ℓ·P` (up to the key's noise).
/// Sums of such pairs (and of ciphertexts multiplied by `P`) need one reduction by `P` in all, not one each
/// ("double hoisting", Bossuat et al. 2021 §3.2).
pub fn key_switch_decomposed_raw(
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
    let mut out = [ring.zero(ext_basis, true), ring.zero(ext_basis, true)];
    let [o0, o1] = &mut out;
    // Row by row, both halves at once, every digit accumulated in a 128-bit register and reduced once: no
    // 128-bit arrays, one pass over the key and the digits.
    o0.data
        .par_chunks_exact_mut(n)
        .zip(o1.data.par_chunks_exact_mut(n))
        .enumerate()
        .for_each(|(r, (r0, r1))| {
            let kr = if r <= level { r } else { max_level + 1 + (r - level - 1) };
            let m = ring.modulus_of(ext_basis, r);
            let e: Vec<&[u64]> = dec.digits.iter().map(|d| d.row(r)).collect();
            let k0: Vec<&[u64]> = key.digits.iter().map(|d| d[0].row(kr)).collect();
            // A compressed key's masks, regenerated for this row (only the digits this level uses).
            let masks: Vec<Vec<u64>> = match &key.mask_seed {
                None => Vec::new(),
                Some(seed) => (0..e.len())
                    .map(|j| {
                        let mut row = vec![0u64; n];
                        Sampler::mask_row(
                            seed,
                            j,
                            ring.prime_index(Basis::extended(max_level), kr),
                            m.value(),
                            &mut row,
                        );
                        row
                    })
                    .collect(),
            };
            let k1: Vec<&[u64]> = match &key.mask_seed {
                None => key.digits.iter().map(|d| d[1].row(kr)).collect(),
                Some(_) => masks.iter().map(|v| v.as_slice()).collect(),
            };
            with_avx2(
                #[inline(always)]
                || {
                    for x in 0..n {
                        let px = perm.map_or(x, |p| p[x] as usize);
                        let (mut a0, mut a1) = (0u128, 0u128);
                        for j in 0..e.len() {
                            let u = e[j][px] as u128;
                            a0 += u * k0[j][x] as u128;
                            a1 += u * k1[j][x] as u128;
                        }
                        r0[x] = m.reduce_wide(a0);
                        r1[x] = m.reduce_wide(a1);
                    }
                },
            );
        });
    out
}

/// `(d_0, d_1)` with `d_0 + d_1·s ≈ c·s'` for the key from `s'` to `s`; `c` in NTT form at any level.
pub fn key_switch(params: &Parameters, c: &RnsPoly, key: &SwitchingKey) -> [RnsPoly; 2] {
    key_switch_decomposed(params, &decompose(params, c), None, key)
}
