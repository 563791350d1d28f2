//! Plaintexts and ciphertexts: RNS polynomials in NTT form that carry their level (the number of primes left,
//! minus one) and their scale `Δ` exactly as an `f64`, so that every operation can check that it combines like
//! with like.

use crate::ring::RnsPoly;

/// An encoded message: `round(Δ·m)` over `Q_ℓ`, NTT form.
#[derive(Clone, Debug)]
pub struct Plaintext {
    pub(crate) poly: RnsPoly,
    pub(crate) scale: f64,
}

impl Plaintext {
    /// The level `ℓ`.
    pub fn level(&self) -> usize {
        self.poly.basis().q - 1
    }

    /// The scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// A CKKS ciphertext `(c_0, c_1)` with `c_0 + c_1·s ≈ Δ·m (mod Q_ℓ)`.
#[derive(Clone, Debug)]
pub struct Ciphertext {
    pub(crate) c: [RnsPoly; 2],
    pub(crate) scale: f64,
}

impl Ciphertext {
    /// The level `ℓ`: how many rescalings are left.
    pub fn level(&self) -> usize {
        self.c[0].basis().q - 1
    }

    /// The scale `Δ`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Ring degree.
    pub fn n(&self) -> usize {
        self.c[0].n()
    }

    /// Overrides the recorded scale, for callers that know the exact scale better than the product of factors
    /// (the error is then a relative value error of `|1 − recorded/true|`).
    pub fn set_scale(&mut self, scale: f64) {
        self.scale = scale;
    }
}
