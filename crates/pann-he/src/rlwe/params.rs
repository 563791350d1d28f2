//! Ring-LWE parameters: the ring, the ciphertext primes `Q = q_0⋯q_L`, the special primes `P = p_0⋯p_(K−1)` and
//! the key-switching digits. Nothing here knows about slots or scales; [`crate::ckks::Parameters`] wraps this
//! (and dereferences to it), as Lattigo's `rlwe.Parameters` sits under `ckks.Parameters`.
//!
//! Digits (hybrid key switching, Han–Ki 2020): the ciphertext primes are cut into `dnum = ⌈(L+1)/K⌉` groups of
//! `K` consecutive primes, `K` the number of special primes, so that every digit modulus `D_j < P` and the
//! key-switching noise `≈ dnum·D_j·N·σ/P` stays below the rounding noise.

use std::sync::Arc;

use crate::error::Result;
use crate::ring::RingContext;

/// The primes and ring of an RLWE parameter set.
#[derive(Clone, Debug)]
pub struct Parameters {
    log_n: u32,
    q: Vec<u64>,
    p: Vec<u64>,
    ring: Arc<RingContext>,
}

impl AsRef<Parameters> for Parameters {
    fn as_ref(&self) -> &Parameters {
        self
    }
}

impl Parameters {
    /// The ring of degree `2^log_n` over the given (distinct, NTT-friendly) primes.
    pub fn new(log_n: u32, q: Vec<u64>, p: Vec<u64>) -> Result<Self> {
        let ring = Arc::new(RingContext::new(log_n, &q, &p)?);
        Ok(Self { log_n, q, p, ring })
    }

    /// The ring.
    pub fn ring(&self) -> &Arc<RingContext> {
        &self.ring
    }

    /// `log2 N`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    /// `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }

    /// Highest level `L`: the number of rescalings a fresh ciphertext allows.
    pub fn max_level(&self) -> usize {
        self.q.len() - 1
    }

    /// Ciphertext primes `q_0 … q_L`.
    pub fn q(&self) -> &[u64] {
        &self.q
    }

    /// Special primes.
    pub fn p(&self) -> &[u64] {
        &self.p
    }

    /// Total modulus size `log2(Q·P)`, measured on the primes.
    pub fn log_qp(&self) -> f64 {
        self.q.iter().chain(&self.p).map(|&x| (x as f64).log2()).sum()
    }

    /// `log2 Q_ℓ`.
    pub fn log_q_at(&self, level: usize) -> f64 {
        self.q[..=level].iter().map(|&x| (x as f64).log2()).sum()
    }

    /// Digit size of key switching (the number of special primes).
    pub fn digit_size(&self) -> usize {
        self.p.len()
    }

    /// The ciphertext-prime ranges `[lo, hi)` of the key-switching digits at `level`.
    pub fn digits_at(&self, level: usize) -> Vec<(usize, usize)> {
        let k = self.digit_size();
        (0..=level).step_by(k).map(|lo| (lo, (lo + k).min(level + 1))).collect()
    }

    /// Number of digits of a switching key (at the top level).
    pub fn digit_count(&self) -> usize {
        self.digits_at(self.max_level()).len()
    }

    /// Bytes of one switching key at the top level: `dnum · 2 · (L+1+K) · N · 8`.
    pub fn switching_key_bytes(&self) -> usize {
        self.digit_count() * 2 * (self.q.len() + self.p.len()) * self.n() * 8
    }

    /// A 64-bit fingerprint of `N` and every prime: files written under other parameters are refused.
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a over log N and the primes.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |x: u64| {
            for b in x.to_le_bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(self.log_n as u64);
        for &x in self.q.iter().chain(&self.p) {
            eat(x);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlwe_does_not_import_ckks() {
        // The layering rule ring → rlwe → ckks, checked on the sources of this module.
        for (name, src) in [
            ("keys.rs", include_str!("keys.rs")),
            ("keyswitch.rs", include_str!("keyswitch.rs")),
            ("mod.rs", include_str!("mod.rs")),
        ] {
            let uses = src
                .lines()
                .filter(|l| l.trim_start().starts_with("use ") && l.contains("ckks"));
            assert_eq!(uses.count(), 0, "rlwe/{name} imports ckks");
        }
    }

    #[test]
    fn digits_and_key_bytes() {
        let q = crate::ring::primes::ntt_primes_near(40, 5, 5, &[]).unwrap();
        let p = crate::ring::primes::ntt_primes_near(45, 5, 2, &q).unwrap();
        let params = Parameters::new(5, q, p).unwrap();
        assert_eq!(params.digits_at(4), vec![(0, 2), (2, 4), (4, 5)]);
        assert_eq!(params.switching_key_bytes(), 3 * 2 * 7 * 32 * 8);
    }
}
