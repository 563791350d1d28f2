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
    /// `log2` of the CKKS scale (and the size of the rescaling primes; networks that bootstrap take the
    /// bootstrapping preset's).
    pub log_scale: u32,
    /// One α per ReLU site (from `pann analyze layerwise`), instead of [`Self::alpha`] everywhere; empty: uniform.
    pub site_alphas: Vec<u32>,
    /// One bound `B` for every ReLU site instead of calibrated ones (`pann eval --range fixed`).
    pub fixed_bound: Option<f64>,
    /// Rotation keys a bootstrapping network may add to the bootstrapper's (each is hundreds of megabytes at
    /// `N = 2^16`); its other rotations are composed from the keys.
    pub extra_rotation_keys: usize,
    /// Tests only (DISCLAIMER: not secure): bootstrap on pann-he's insecure ring `N = 2^log_n` instead of the
    /// 128-bit `N = 2^16` preset.
    pub insecure_bootstrap_log_n: Option<u32>,
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
            site_alphas: Vec::new(),
            fixed_bound: None,
            extra_rotation_keys: 8,
            insecure_bootstrap_log_n: None,
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
        if let Some(b) = self.fixed_bound {
            if !(b.is_finite() && b > 0.0) {
                return Err(Error::config(
                    "fixed_bound",
                    format!("must be a positive number, got {b}"),
                ));
            }
        }
        self.sign()?;
        for &a in &self.site_alphas {
            CompositeSign::for_alpha(a).map_err(|e| Error::config("site_alphas", format!("{a}: {e}")))?;
        }
        Ok(())
    }

    /// One composite sign per ReLU site of a network with `sites` sites (an error if the per-site list has
    /// another length).
    pub fn signs(&self, sites: usize) -> Result<Vec<CompositeSign>> {
        if self.site_alphas.is_empty() {
            return Ok(vec![self.sign()?; sites]);
        }
        if self.site_alphas.len() != sites {
            return Err(Error::config(
                "site_alphas",
                format!(
                    "has {} values, the network has {sites} ReLU sites",
                    self.site_alphas.len()
                ),
            ));
        }
        let mut cache: Vec<(u32, CompositeSign)> = Vec::new();
        self.site_alphas
            .iter()
            .map(|&a| {
                if let Some((_, s)) = cache.iter().find(|(b, _)| *b == a) {
                    return Ok(s.clone());
                }
                let s = CompositeSign::for_alpha(a)?;
                cache.push((a, s.clone()));
                Ok(s)
            })
            .collect()
    }

    /// The composite sign of precision α (an error says which α exist).
    pub fn sign(&self) -> Result<CompositeSign> {
        Ok(CompositeSign::for_alpha(self.alpha)?)
    }
}
