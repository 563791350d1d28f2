//! Plaintexts and ciphertexts: RNS polynomials in NTT form that carry their level (the number of primes left,
//! minus one) and their scale `Δ` exactly as an `f64`, so that every operation can check that it combines like
//! with like.

use crate::ring::RnsPoly;

/// Largest relative change [`Ciphertext::set_scale`] accepts: far above the rounding of a few `f64` products
/// (about 2^-50 each), far below any real scale error (a wrong prime is a change of 2^-20 at least).
pub const SCALE_SNAP_TOLERANCE: f64 = 1e-9;

/// An encoded message: `round(Δ·m)` over `Q_ℓ`, NTT form.
#[derive(Clone, Debug)]
pub struct Plaintext {
    pub(crate) poly: RnsPoly,
    pub(crate) scale: f64,
}

impl Plaintext {
    /// A plaintext from an encoded polynomial (NTT form, over `Q_ℓ`) and the scale it was encoded at, e.g.
    /// complex slots from [`crate::ckks::Encoder::encode`].
    pub fn from_poly(poly: RnsPoly, scale: f64) -> Self {
        Self { poly, scale }
    }

    /// The level `ℓ`.
    pub fn level(&self) -> usize {
        self.poly.basis().q - 1
    }

    /// The scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The encoded polynomial (NTT form).
    pub fn poly(&self) -> &RnsPoly {
        &self.poly
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

    /// The two polynomials `(c_0, c_1)` (NTT form): for comparing results bit for bit.
    pub fn polys(&self) -> &[RnsPoly; 2] {
        &self.c
    }

    /// The scale `Δ`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Ring degree.
    pub fn n(&self) -> usize {
        self.c[0].n()
    }

    /// Replaces the recorded scale by the exact target `scale` a caller aimed at, removing the `f64` rounding that
    /// products of scale factors accumulate. Refused (a [`crate::Error::ScaleMismatch`]) unless the two agree to
    /// within [`SCALE_SNAP_TOLERANCE`] relatively: a larger change would be a silent value error of
    /// `|1 − recorded/true|`, which is exactly the drift that must not happen.
    pub fn set_scale(&mut self, scale: f64) -> crate::Result<()> {
        if !(scale.is_finite() && scale > 0.0 && (scale / self.scale - 1.0).abs() <= SCALE_SNAP_TOLERANCE) {
            return Err(crate::Error::ScaleMismatch {
                op: "set_scale",
                a: self.scale.log2(),
                b: scale.log2(),
            });
        }
        self.scale = scale;
        Ok(())
    }

    /// Halves the encrypted value at no cost: the slots are unchanged and the recorded scale doubles, so every
    /// later decryption or scale check sees `m/2`.
    pub fn halve(&mut self) {
        self.scale *= 2.0;
    }
}
