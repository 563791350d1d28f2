//! What an encrypted run is asked to do: the approximation, the calibration, the scheme's scale. The data and
//! the model are not here: the caller loads them ([`crate::Network::load`], pann-data) and hands them to
//! [`crate::run`].

use pann_approx::CompositeSign;
use pann_data::Normalization;

use crate::error::{Error, Result};

/// The settings of one encrypted run; [`Default`] gives `pann he infer`'s defaults.
#[derive(Clone, Debug)]
pub struct EncryptedInferenceConfig {
    /// Precision α of the ReLU approximation (error `2^-α`).
    pub alpha: u32,
    /// Test images to run encrypted: the first `images` of the test set given to [`crate::run`].
    pub images: usize,
    /// Training images that calibrate the per-layer ReLU bounds: the first `calib_images` of the calibration set.
    pub calib_images: usize,
    /// Factor on the calibrated bounds: inputs beyond a bound make the polynomial diverge, and the test images
    /// may reach further than the calibration images did.
    pub margin: f64,
    /// Input normalisation, as the model was trained with.
    pub norm: Normalization,
    /// Subtract each ReLU channel's mean approximation error, measured on the calibration images (the
    /// mean-leak correction of `pann eval --leak-correction`; free under encryption: it folds into biases).
    pub leak_correction: bool,
    /// `log2` of the CKKS scale (and the size of the rescaling primes).
    pub log_scale: u32,
}

impl Default for EncryptedInferenceConfig {
    fn default() -> Self {
        Self {
            alpha: 7,
            images: 10,
            calib_images: 2000,
            margin: 1.5,
            norm: Normalization::imagenet(),
            leak_correction: false,
            log_scale: 40,
        }
    }
}

impl EncryptedInferenceConfig {
    /// Checks every value before anything is loaded or computed; an error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.images == 0 {
            return Err(Error::config("images", "must be at least 1"));
        }
        if self.calib_images == 0 {
            return Err(Error::config("calib_images", "must be at least 1"));
        }
        if !(self.margin.is_finite() && self.margin >= 1.0) {
            return Err(Error::config(
                "margin",
                format!("must be a number ≥ 1, got {}", self.margin),
            ));
        }
        self.sign()?;
        Ok(())
    }

    /// The composite sign of precision α (an error says which α exist).
    pub fn sign(&self) -> Result<CompositeSign> {
        Ok(CompositeSign::for_alpha(self.alpha)?)
    }
}
