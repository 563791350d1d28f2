//! Keys and their generation.
//!
//! - [`SecretKey`]: `s` with uniform ternary coefficients, kept over the extended basis `Q·P` in NTT form.
//! - [`PublicKey`]: `(b, a) = (−a·s + e, a)` over `Q`.
//! - [`SwitchingKey`] from `s'` to `s` (hybrid key switching, Han–Ki 2020): one pair per digit `D_j` of `K`
//!   consecutive ciphertext primes, `b_j = −a_j·s + e_j + P·[Q/D_j · (Q/D_j)^-1 mod D_j]·s'` over `Q·P`; modulo a
//!   ciphertext prime the gadget factor is `P` on the digit's own primes and 0 elsewhere, and 0 modulo `P`.
//! - [`RelinKey`]: the switching key from `s²`; [`GaloisKeys`]: from `s(X^g)` for each Galois element `g` needed.
//!
//! The secret key never leaves this module in printable form: its `Debug` prints only its size.

use rayon::prelude::*;

use super::params::Parameters;
use crate::ring::sampler::Sampler;
use crate::ring::{Basis, RnsPoly};
use std::collections::BTreeMap;
use std::fmt;

/// The secret key.
#[derive(Clone)]
pub struct SecretKey {
    /// `s` over `Q_L·P`, NTT form.
    pub(crate) s: RnsPoly,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(N = {}, <redacted>)", self.s.n())
    }
}

/// The public encryption key.
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub(crate) b: RnsPoly,
    pub(crate) a: RnsPoly,
}

/// A key that turns a ciphertext under `s'` into one under `s`.
#[derive(Clone, Debug)]
pub struct SwitchingKey {
    /// `(b_j, a_j)` per digit, over `Q_L·P`, NTT form. In a compressed key (`mask_seed` set) the `a_j` are
    /// empty placeholders: they are regenerated row by row from the seed when used.
    pub(crate) digits: Vec<[RnsPoly; 2]>,
    /// The public seed of the uniform masks `a_j` of a compressed key ([`Sampler::mask_row`]).
    pub(crate) mask_seed: Option<[u8; 32]>,
}

/// The relinearisation key (from `s²`).
#[derive(Clone, Debug)]
pub struct RelinKey(pub(crate) SwitchingKey);

/// Rotation keys by Galois element.
#[derive(Clone, Debug, Default)]
pub struct GaloisKeys {
    pub(crate) keys: BTreeMap<u64, SwitchingKey>,
}

impl GaloisKeys {
    /// The Galois elements present.
    pub fn elements(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys.keys().copied()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key for `g`.
    pub fn get(&self, g: u64) -> Option<&SwitchingKey> {
        self.keys.get(&g)
    }

    /// Bytes held by the keys' residues.
    pub fn bytes(&self) -> usize {
        self.keys.values().map(SwitchingKey::bytes).sum()
    }
}

impl SwitchingKey {
    /// Whether the masks `a_j` are regenerated from a seed rather than stored.
    pub fn is_compressed(&self) -> bool {
        self.mask_seed.is_some()
    }

    /// Bytes held by the key's residues: `dnum · 2 · rows · N · 8`, half that when compressed.
    pub fn bytes(&self) -> usize {
        self.digits
            .iter()
            .map(|[b, a]| (b.as_slice().len() + a.as_slice().len()) * 8)
            .sum()
    }
}

/// Generates keys for one parameter set.
pub struct KeyGenerator {
    params: Parameters,
    sampler: Sampler,
}

impl KeyGenerator {
    /// Randomness from the operating system. `params`: RLWE parameters or anything holding them (a
    /// `ckks::Parameters`, behind an `Arc` or not).
    pub fn new(params: impl AsRef<Parameters>) -> Self {
        Self {
            params: params.as_ref().clone(),
            sampler: Sampler::from_entropy(),
        }
    }

    /// Deterministic randomness, for tests and benchmarks only.
    pub fn with_seed(params: impl AsRef<Parameters>, seed: u64) -> Self {
        Self {
            params: params.as_ref().clone(),
            sampler: Sampler::from_seed(seed),
        }
    }

    /// The sampler (shared with the encryptor of the key owner).
    pub fn sampler(&mut self) -> &mut Sampler {
        &mut self.sampler
    }

    fn top(&self) -> Basis {
        Basis::extended(self.params.max_level())
    }

    /// A fresh secret key.
    pub fn secret_key(&mut self) -> SecretKey {
        let ring = self.params.ring();
        let t = self.sampler.ternary(ring.n());
        let mut s = ring.from_signed(&t, self.top());
        ring.ntt(&mut s);
        SecretKey { s }
    }

    /// A key generator for other parameters (same ring degree), its randomness derived from this one's: the
    /// generator of the sparse-secret encapsulation domain `q_0·p_0` ([`crate::bootstrap::encapsulation`]).
    pub fn derived(&mut self, params: Parameters) -> KeyGenerator {
        KeyGenerator {
            params,
            sampler: Sampler::from_seed_bytes(self.sampler.seed()),
        }
    }

    /// The secret key with the given small signed coefficients, over these parameters' `Q_L·P`.
    pub(crate) fn secret_key_from_coefficients(&self, coeffs: &[i64]) -> SecretKey {
        let ring = self.params.ring();
        let mut s = ring.from_signed(coeffs, self.top());
        ring.ntt(&mut s);
        SecretKey { s }
    }

    /// The centred coefficients of `sk` (read modulo `q_0`, where they are exact: they are in `{−1, 0, 1}`).
    pub(crate) fn secret_coefficients(&self, sk: &SecretKey) -> Vec<i64> {
        let ring = self.params.ring();
        let mut row = restrict(&sk.s, Basis::level(0), self.params.max_level());
        ring.intt(&mut row);
        let q0 = *ring.q(0);
        row.row(0).iter().map(|&x| q0.centered(x)).collect()
    }

    /// `(−a·s + e, a)` over `basis` with fresh uniform `a` and Gaussian `e`.
    fn rlwe_zero(&mut self, sk: &RnsPoly, basis: Basis) -> [RnsPoly; 2] {
        let ring = self.params.ring().clone();
        let a = self.sampler.uniform(&ring, basis);
        self.rlwe_zero_with_mask(sk, basis, &a)
    }

    /// `(−a·s + e, a)` for a given uniform `a`.
    fn rlwe_zero_with_mask(&mut self, sk: &RnsPoly, basis: Basis, a: &RnsPoly) -> [RnsPoly; 2] {
        let ring = self.params.ring().clone();
        let a = a.clone();
        let e = self.sampler.gaussian(ring.n());
        let mut b = ring.from_signed(&e, basis);
        ring.ntt(&mut b);
        let mut as_ = a.clone();
        let s = restrict(sk, basis, self.params.max_level());
        ring.mul_assign(&mut as_, &s);
        ring.sub_assign(&mut b, &as_);
        [b, a]
    }

    /// The public key of `sk`.
    pub fn public_key(&mut self, sk: &SecretKey) -> PublicKey {
        let [b, a] = self.rlwe_zero(&sk.s, Basis::level(self.params.max_level()));
        PublicKey { b, a }
    }

    /// A switching key from `from` (over `Q_L·P`, NTT form) to `sk`.
    pub fn switching_key(&mut self, from: &RnsPoly, sk: &SecretKey) -> SwitchingKey {
        self.switching_key_with(from, sk, false)
    }

    /// A compressed switching key: the masks `a_j` come from a public seed (Sampler::mask_row) and are not
    /// stored, halving the key; every use regenerates them (one ChaCha8 stream per digit and row).
    pub fn switching_key_compressed(&mut self, from: &RnsPoly, sk: &SecretKey) -> SwitchingKey {
        self.switching_key_with(from, sk, true)
    }

    fn switching_key_with(&mut self, from: &RnsPoly, sk: &SecretKey, compressed: bool) -> SwitchingKey {
        let ring = self.params.ring().clone();
        let top = self.top();
        let digits = self.params.digits_at(self.params.max_level());
        let mask_seed = compressed.then(|| self.sampler.seed());
        let digits = digits
            .into_iter()
            .enumerate()
            .map(|(j, (lo, hi))| {
                let [mut b, a] = match mask_seed {
                    None => self.rlwe_zero(&sk.s, top),
                    Some(seed) => {
                        let mut a = ring.zero(top, true);
                        let n = ring.n();
                        a.data.par_chunks_exact_mut(n).enumerate().for_each(|(r, row)| {
                            let prime = ring.prime_index(top, r);
                            Sampler::mask_row(&seed, j, prime, ring.modulus_of(top, r).value(), row);
                        });
                        let [b, _] = self.rlwe_zero_with_mask(&sk.s, top, &a);
                        [b, RnsPoly::zero(n, top, 0, true)]
                    }
                };
                for i in lo..hi {
                    let m = *ring.q(i);
                    let p_mod = ring.special_product_mod_q(i);
                    let ps = m.shoup(p_mod);
                    let src = from.row(i);
                    for (x, &f) in b.row_mut(i).iter_mut().zip(src) {
                        *x = m.add(*x, m.mul_shoup(f, p_mod, ps));
                    }
                }
                [b, a]
            })
            .collect();
        SwitchingKey { digits, mask_seed }
    }

    /// The relinearisation key of `sk`.
    pub fn relin_key(&mut self, sk: &SecretKey) -> RelinKey {
        let ring = self.params.ring().clone();
        let mut s2 = sk.s.clone();
        ring.mul_assign(&mut s2, &sk.s);
        RelinKey(self.switching_key(&s2, sk))
    }

    /// Rotation keys for left rotations by each of `steps` slots (negative: right), deduplicated.
    pub fn galois_keys(&mut self, sk: &SecretKey, steps: &[i64]) -> GaloisKeys {
        let ring = self.params.ring().clone();
        let elements: Vec<u64> = steps.iter().map(|&k| ring.galois_element(k)).collect();
        self.galois_keys_for_elements(sk, &elements)
    }

    /// Keys for the automorphisms `X → X^g` of each odd `g` in `elements` (`2N − 1` is complex conjugation),
    /// deduplicated; `g = 1` needs none.
    pub fn galois_keys_for_elements(&mut self, sk: &SecretKey, elements: &[u64]) -> GaloisKeys {
        self.galois_keys_with(sk, elements, false)
    }

    /// [`Self::galois_keys_for_elements`] as compressed keys ([`Self::switching_key_compressed`]): half the
    /// memory, a ChaCha8 regeneration of the masks at every use.
    pub fn galois_keys_compressed(&mut self, sk: &SecretKey, elements: &[u64]) -> GaloisKeys {
        self.galois_keys_with(sk, elements, true)
    }

    fn galois_keys_with(&mut self, sk: &SecretKey, elements: &[u64], compressed: bool) -> GaloisKeys {
        let ring = self.params.ring().clone();
        let mut keys = BTreeMap::new();
        for &g in elements {
            assert!(
                g % 2 == 1 && g < 2 * ring.n() as u64,
                "Galois element {g} must be odd and below 2N"
            );
            if g == 1 || keys.contains_key(&g) {
                continue;
            }
            let perm = ring.automorphism_permutation(g);
            let s_g = ring.automorphism_ntt(&sk.s, &perm);
            keys.insert(g, self.switching_key_with(&s_g, sk, compressed));
        }
        GaloisKeys { keys }
    }
}

/// The rows of a top-level extended polynomial that belong to `basis` (a prefix of the ciphertext primes, and
/// the special primes if `basis.special`).
pub(crate) fn restrict(p: &RnsPoly, basis: Basis, max_level: usize) -> RnsPoly {
    let n = p.n();
    let mut data = Vec::with_capacity(n * (basis.q + if basis.special { p.rows() - max_level - 1 } else { 0 }));
    data.extend_from_slice(&p.data[..basis.q * n]);
    if basis.special {
        data.extend_from_slice(&p.data[(max_level + 1) * n..]);
    }
    RnsPoly {
        n,
        basis,
        data,
        ntt: p.ntt,
    }
}
