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
    /// `(b_j, a_j)` per digit, over `Q_L·P`, NTT form.
    pub(crate) digits: Vec<[RnsPoly; 2]>,
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
    /// Bytes held by the key's residues: `dnum · 2 · rows · N · 8`.
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

    /// `(−a·s + e, a)` over `basis` with fresh uniform `a` and Gaussian `e`.
    fn rlwe_zero(&mut self, sk: &RnsPoly, basis: Basis) -> [RnsPoly; 2] {
        let ring = self.params.ring().clone();
        let a = self.sampler.uniform(&ring, basis);
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
        let ring = self.params.ring().clone();
        let top = self.top();
        let digits = self.params.digits_at(self.params.max_level());
        let p_values: Vec<u64> = self.params.p().to_vec();
        let digits = digits
            .into_iter()
            .map(|(lo, hi)| {
                let [mut b, a] = self.rlwe_zero(&sk.s, top);
                for i in lo..hi {
                    let m = *ring.q(i);
                    let p_mod = p_values.iter().fold(1u64, |acc, &p| m.mul(acc, m.reduce(p)));
                    let ps = m.shoup(p_mod);
                    let src = from.row(i);
                    for (x, &f) in b.row_mut(i).iter_mut().zip(src) {
                        *x = m.add(*x, m.mul_shoup(f, p_mod, ps));
                    }
                }
                [b, a]
            })
            .collect();
        SwitchingKey { digits }
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
            keys.insert(g, self.switching_key(&s_g, sk));
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
