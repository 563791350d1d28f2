//! Sparse-secret encapsulation (Bossuat, Troncoso-Pastoriza, Hubaux, "Bootstrapping for approximate
//! homomorphic encryption with negligible failure-probability by using sparse-secret encapsulation", ACNS 2022,
//! eprint 2022/024; Lattigo's `EphemeralSecretWeight`).
//!
//! Why: ModRaise turns the level-0 ciphertext into `t = Δ'm + q_0·I`, and EvalMod must remove `q_0·I` over
//! `[−K, K]`. Under the dense (uniform ternary) secret, `I` is a sum of about `2N/3` uniform terms: `K ≈ 424`
//! at `N = 2^16`, seven double angles, and an error amplification of `K·q_0/Δ'·4^r`. Switching the level-0
//! ciphertext to an ephemeral secret `s'` of Hamming weight `h` first bounds `|I| ≤ (h + 1)/2` *surely*
//! (every term is below `1/2`): `K = 17` for `h = 32`, so no bootstrap can fail, EvalMod needs four levels
//! less, and its error is amplified about `2^12` times less. Right after ModRaise the ciphertext is switched
//! back to the dense secret, so every other key (rotations, relinearisation) stays dense.
//!
//! Security: the dense→sparse key is an RLWE encryption under the sparse `s'`, and it exists only modulo
//! `q_0·p_0` (two 60-bit primes, about 120 bits): the sparse domain is its own parameter set, and no key under
//! `s'` is ever generated at a larger modulus (a test checks it). Bossuat et al. (§6 of the paper) estimate this
//! instance — `N = 2^16`, `h = 32`, `log(q_0·p_0) ≈ 120` — above 128 bits with the lattice estimator, and
//! Lattigo's 128-bit presets use exactly it; pann did not re-run the estimator (it needs Sage). The
//! sparse→dense key is an ordinary key under the dense secret at the full `Q·P`, covered by the HE Standard's
//! bound like every other key. [`combinatorial_security_bits`] is a check of our own against the simplest
//! attack on a sparse secret, guessing it by meet-in-the-middle.

use crate::ckks::{Ciphertext, Parameters};
use crate::error::{Error, Result};
use crate::ring::{Basis, RingContext, RnsPoly};
use crate::rlwe::keyswitch::key_switch;
use crate::rlwe::{self, KeyGenerator, SecretKey, SwitchingKey};

/// The ephemeral sparse secret's two switching keys and the parameters of its domain.
#[derive(Clone, Debug)]
pub struct Encapsulation {
    /// RLWE parameters of the sparse domain: the ring of the main parameters over `q_0` and `p_0` only.
    pub(crate) sparse: rlwe::Parameters,
    /// Hamming weight `h` of the ephemeral secret.
    pub(crate) weight: usize,
    /// From the dense secret to the sparse one, over `q_0·p_0`.
    pub(crate) dense_to_sparse: SwitchingKey,
    /// From the sparse secret to the dense one, over the full `Q·P`.
    pub(crate) sparse_to_dense: SwitchingKey,
}

/// The EvalMod bound `K` that no bootstrap under an ephemeral secret of weight `h` can exceed:
/// `|t/q_0| ≤ |c_0/q_0| + Σ_(h terms) |c_1,j/q_0| + |Δ'm/q_0| < (h + 1)/2 + 1/2`.
pub fn k_for_weight(h: usize) -> f64 {
    (h as f64 + 1.0) / 2.0 + 0.5
}

/// `log2` of the cost of guessing a weight-`h` ternary secret of degree `n` by meet-in-the-middle:
/// `½·log2(C(n, h)·2^h)`. Not a lattice estimate: a floor that any claim must clear.
pub fn combinatorial_security_bits(n: usize, h: usize) -> f64 {
    let log2_binomial: f64 = (0..h).map(|i| ((n - i) as f64).log2() - ((i + 1) as f64).log2()).sum();
    (log2_binomial + h as f64) / 2.0
}

impl Encapsulation {
    /// Draws an ephemeral secret of weight `weight` and generates both switching keys for `sk`.
    ///
    /// # Errors
    /// [`Error::InvalidParameters`] if `weight` is 0 or above `N`, or the parameters have no special prime.
    pub fn generate(kg: &mut KeyGenerator, sk: &SecretKey, params: &Parameters, weight: usize) -> Result<Self> {
        if weight == 0 || weight > params.n() {
            return Err(Error::InvalidParameters(format!(
                "ephemeral secret weight {weight} must be in 1..={}",
                params.n()
            )));
        }
        let p0 = *params
            .rlwe()
            .p()
            .first()
            .ok_or_else(|| Error::InvalidParameters("sparse-secret encapsulation needs a special prime".into()))?;
        let sparse = rlwe::Parameters::new(params.log_n(), vec![params.q()[0]], vec![p0])?;
        let dense_coeffs = kg.secret_coefficients(sk);
        let sparse_coeffs = kg.sampler().sparse_ternary(params.n(), weight);
        let mut small = kg.derived(sparse.clone());
        let sparse_sk = small.secret_key_from_coefficients(&sparse_coeffs);
        let dense_small = small.secret_key_from_coefficients(&dense_coeffs);
        let dense_to_sparse = small.switching_key(&dense_small.s, &sparse_sk);
        let sparse_big = kg.secret_key_from_coefficients(&sparse_coeffs);
        let sparse_to_dense = kg.switching_key(&sparse_big.s, sk);
        Ok(Self {
            sparse,
            weight,
            dense_to_sparse,
            sparse_to_dense,
        })
    }

    /// Hamming weight of the ephemeral secret.
    pub fn weight(&self) -> usize {
        self.weight
    }

    /// `log2` of the modulus every key under the sparse secret lives at (`q_0·p_0`).
    pub fn sparse_log_qp(&self) -> f64 {
        self.sparse.log_qp()
    }

    /// Bytes of both keys.
    pub fn bytes(&self) -> usize {
        self.dense_to_sparse.bytes() + self.sparse_to_dense.bytes()
    }

    /// A level-0 ciphertext under the dense secret, switched to the sparse one: its two polynomials in
    /// coefficient form modulo `q_0`, ready for ModRaise.
    pub fn to_sparse(&self, params: &Parameters, ct: &Ciphertext) -> Result<[Vec<u64>; 2]> {
        if ct.level() != 0 {
            return Err(Error::Incompatible(format!(
                "encapsulation switches level-0 ciphertexts, this one is at level {}",
                ct.level()
            )));
        }
        let main = params.ring();
        let small = self.sparse.ring();
        // Through coefficient form: the two rings share q_0 but not necessarily its NTT tables.
        let [c0, c1] = level0_coefficients(main, ct);
        let mut c1 = RnsPoly {
            n: params.n(),
            basis: Basis::level(0),
            data: c1,
            ntt: false,
        };
        small.ntt(&mut c1);
        let [mut d0, mut d1] = key_switch(&self.sparse, &c1, &self.dense_to_sparse);
        small.intt(&mut d0);
        small.intt(&mut d1);
        let q0 = *small.q(0);
        let c0: Vec<u64> = c0.iter().zip(d0.row(0)).map(|(&a, &b)| q0.add(a, b)).collect();
        Ok([c0, d1.row(0).to_vec()])
    }

    /// A raised ciphertext under the sparse secret, switched back to the dense one (same level and scale).
    pub fn to_dense(&self, params: &Parameters, ct: &Ciphertext) -> Ciphertext {
        let ring = params.ring();
        let [e0, e1] = key_switch(params.rlwe(), &ct.c[1], &self.sparse_to_dense);
        let mut c0 = ct.c[0].clone();
        ring.add_assign(&mut c0, &e0);
        Ciphertext {
            c: [c0, e1],
            scale: ct.scale,
        }
    }
}

/// The two polynomials of a level-0 ciphertext in coefficient form modulo `q_0` (what ModRaise lifts).
pub(crate) fn level0_coefficients(ring: &RingContext, ct: &Ciphertext) -> [Vec<u64>; 2] {
    let coefficients = |p: &RnsPoly| {
        let mut p = p.clone();
        ring.intt(&mut p);
        p.row(0).to_vec()
    };
    [coefficients(&ct.c[0]), coefficients(&ct.c[1])]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_bounds_every_raise_and_guessing_h32_costs_more_than_128_bits() {
        assert_eq!(k_for_weight(32), 17.0);
        // N = 2^16, h = 32: C(2^16, 32)·2^32 ≈ 2^426, its square root 2^213.
        let bits = combinatorial_security_bits(1 << 16, 32);
        assert!(bits > 128.0 && bits < 230.0, "{bits}");
        // A weight that the check rejects: h = 8 at N = 2^16 is guessed in about 2^57.
        assert!(combinatorial_security_bits(1 << 16, 8) < 128.0);
    }
}
