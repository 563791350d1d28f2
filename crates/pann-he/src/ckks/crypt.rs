//! Encryption (public or secret key) and decryption with a wrap-around check.

use std::sync::Arc;

use super::ciphertext::{Ciphertext, Plaintext};
use super::encoder::{Complex, Encoder};
use super::params::Parameters;
use crate::error::{Error, Result};
use crate::ring::sampler::Sampler;
use crate::ring::{Basis, RnsPoly};
use crate::rlwe::keys::restrict;
use crate::rlwe::{PublicKey, SecretKey};

/// Encodes real values into slots `0..values.len()` at `level` and `scale` (no key involved).
pub fn encode_real(
    params: &Parameters,
    encoder: &Encoder,
    values: &[f64],
    level: usize,
    scale: f64,
) -> Result<Plaintext> {
    if level > params.max_level() {
        return Err(Error::LevelExhausted {
            op: "encode",
            needed: level,
            level: params.max_level(),
        });
    }
    let slots: Vec<Complex> = values.iter().map(|&re| Complex { re, im: 0.0 }).collect();
    let poly = encoder.encode(params.ring(), &slots, level, scale)?;
    Ok(Plaintext { poly, scale })
}

/// Encrypts under a public key (anyone) or a secret key (its owner; smaller noise).
pub struct Encryptor {
    params: Arc<Parameters>,
    encoder: Arc<Encoder>,
    sampler: Sampler,
}

impl Encryptor {
    /// An encryptor with randomness from the operating system.
    pub fn new(params: Arc<Parameters>, encoder: Arc<Encoder>) -> Self {
        Self {
            params,
            encoder,
            sampler: Sampler::from_entropy(),
        }
    }

    /// Deterministic randomness, for tests only.
    pub fn with_seed(params: Arc<Parameters>, encoder: Arc<Encoder>, seed: u64) -> Self {
        Self {
            params,
            encoder,
            sampler: Sampler::from_seed(seed),
        }
    }

    /// Encodes real values into slots `0..values.len()` at `level` and `scale`.
    pub fn encode(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext> {
        encode_real(&self.params, &self.encoder, values, level, scale)
    }

    fn gaussian_poly(&mut self, basis: Basis) -> RnsPoly {
        let ring = self.params.ring();
        let e = self.sampler.gaussian(ring.n());
        let mut p = ring.from_signed(&e, basis);
        ring.ntt(&mut p);
        p
    }

    /// `(b·u + e_0 + m, a·u + e_1)` with ternary `u`.
    pub fn encrypt_pk(&mut self, pt: &Plaintext, pk: &PublicKey) -> Ciphertext {
        let ring = self.params.ring().clone();
        let basis = Basis::level(pt.level());
        let u = self.sampler.ternary(ring.n());
        let mut u = ring.from_signed(&u, basis);
        ring.ntt(&mut u);
        let mut c0 = restrict(&pk.b, basis, self.params.max_level());
        let mut c1 = restrict(&pk.a, basis, self.params.max_level());
        ring.mul_assign(&mut c0, &u);
        ring.mul_assign(&mut c1, &u);
        ring.add_assign(&mut c0, &self.gaussian_poly(basis));
        ring.add_assign(&mut c1, &self.gaussian_poly(basis));
        ring.add_assign(&mut c0, &pt.poly);
        Ciphertext {
            c: [c0, c1],
            scale: pt.scale,
        }
    }

    /// `(−a·s + e + m, a)` with uniform `a`.
    pub fn encrypt_sk(&mut self, pt: &Plaintext, sk: &SecretKey) -> Ciphertext {
        let ring = self.params.ring().clone();
        let basis = Basis::level(pt.level());
        let a = self.sampler.uniform(&ring, basis);
        let mut c0 = self.gaussian_poly(basis);
        let mut as_ = a.clone();
        ring.mul_assign(&mut as_, &restrict(&sk.s, basis, self.params.max_level()));
        ring.sub_assign(&mut c0, &as_);
        ring.add_assign(&mut c0, &pt.poly);
        Ciphertext {
            c: [c0, a],
            scale: pt.scale,
        }
    }
}

/// Decrypts and decodes, refusing results that wrapped around the modulus.
pub struct Decryptor {
    params: Arc<Parameters>,
    encoder: Arc<Encoder>,
    sk: SecretKey,
}

impl Decryptor {
    /// A decryptor owning the secret key.
    pub fn new(params: Arc<Parameters>, encoder: Arc<Encoder>, sk: SecretKey) -> Self {
        Self { params, encoder, sk }
    }

    /// `c_0 + c_1·s` as a plaintext.
    pub fn decrypt(&self, ct: &Ciphertext) -> Plaintext {
        let ring = self.params.ring();
        let basis = Basis::level(ct.level());
        let mut m = ct.c[1].clone();
        ring.mul_assign(&mut m, &restrict(&self.sk.s, basis, self.params.max_level()));
        ring.add_assign(&mut m, &ct.c[0]);
        Plaintext {
            poly: m,
            scale: ct.scale,
        }
    }

    /// All `N/2` complex slots, with the wrap-around check of [`Self::decrypt_values`].
    pub fn decrypt_complex(&self, ct: &Ciphertext) -> Result<Vec<Complex>> {
        let pt = self.decrypt(ct);
        let ring = self.params.ring();
        let (coeffs, log_max) = self.encoder.coefficients(ring, &pt.poly, pt.scale);
        let log_q = self.params.log_q_at(ct.level());
        if log_max > log_q - 3.0 {
            return Err(Error::DecryptionFailure {
                log_max,
                log_q,
                log_scale: pt.scale.log2(),
                level: ct.level(),
            });
        }
        Ok(self.encoder.embed(&coeffs))
    }

    /// The real parts of the first `count` slots.
    ///
    /// # Errors
    /// [`Error::DecryptionFailure`] when a decrypted coefficient reaches `Q_ℓ/8`: a correct ciphertext's
    /// coefficients are orders of magnitude smaller, while the coefficients of a message that outgrew the
    /// modulus wrap around and spread over `(−Q/2, Q/2]` — all `N` of them below `Q/8` by chance has
    /// probability `4^-N`. A wrap confined to very few coefficients can escape this check; the circuits
    /// therefore also bound every polynomial input in plaintext beforehand.
    pub fn decrypt_values(&self, ct: &Ciphertext, count: usize) -> Result<Vec<f64>> {
        let pt = self.decrypt(ct);
        let ring = self.params.ring();
        let (coeffs, log_max) = self.encoder.coefficients(ring, &pt.poly, pt.scale);
        let log_q = self.params.log_q_at(ct.level());
        if log_max > log_q - 3.0 {
            return Err(Error::DecryptionFailure {
                log_max,
                log_q,
                log_scale: pt.scale.log2(),
                level: ct.level(),
            });
        }
        let slots = self.encoder.embed(&coeffs);
        Ok(slots.iter().take(count).map(|c| c.re).collect())
    }
}
