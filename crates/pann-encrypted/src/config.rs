//! What an encrypted run is asked to do: the approximation, the calibration, the scheme's scale. The data and
//! the model are not here: the caller loads them ([`crate::Network::load`], pann-data) and hands them to
//! [`crate::run`].

use pann_approx::CompositeSign;
use pann_data::Normalization;
use pann_eval::RangeRule;

use crate::error::{Error, Result};
use crate::range::FittedBounds;

/// The settings of one encrypted run; [`Default`] gives `pann he infer`'s defaults.
#[derive(Clone, Debug)]
pub struct EncryptedInferenceConfig {
    /// Precision α of the ReLU approximation (error `2^-α`).
    pub alpha: u32,
    /// Test images to run encrypted: the first `images` of the test set given to [`crate::run`].
    pub images: usize,
    /// Training images that calibrate the per-layer ReLU bounds (`calibrate`, the start of `lee-layers`, the
    /// mean leaks): the first `calib_images` of the calibration set.
    pub calib_images: usize,
    /// How the ReLU bounds are chosen: `pann eval --range`'s rules. `Calibrate { margin }` (the default, margin
    /// 1.5: inputs beyond a bound make the polynomial diverge, and the test images may reach further than the
    /// calibration images did) and `Fixed` are computed on the `f64` mirror when the run is prepared; `Lee` and
    /// `LeeLayers` are fitted on the test images run by [`crate::range::fit`] into [`Self::fitted`] first.
    pub range: RangeRule,
    /// Bounds fitted by [`crate::range::fit`] (one per ReLU site); when set they are the run's bounds.
    pub fitted: Option<FittedBounds>,
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
            range: RangeRule::Calibrate { margin: 1.5 },
            fitted: None,
            norm: Normalization::imagenet(),
            leak_correction: false,
            log_scale: 40,
            site_alphas: Vec::new(),
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
        let margin = |m: f64| {
            if m.is_finite() && m >= 1.0 {
                Ok(())
            } else {
                Err(Error::config("margin", format!("must be a number ≥ 1, got {m}")))
            }
        };
        let rule = crate::range::name(&self.range);
        match &self.range {
            RangeRule::Calibrate { margin: m } => margin(*m)?,
            RangeRule::LeeLayers(r) => {
                margin(r.margin)?;
                r.step.check().map_err(|e| Error::config("layer_step", e.to_string()))?;
            }
            RangeRule::Lee(s) => {
                if !(s.start > 0.0 && s.step > 0.0 && s.cap.is_finite() && s.cap >= s.start) {
                    return Err(Error::config(
                        "range",
                        format!(
                            "lee: start {} and step {} must be positive, cap {} ≥ start",
                            s.start, s.step, s.cap
                        ),
                    ));
                }
            }
            RangeRule::Fixed(b) => {
                if !(b.is_finite() && *b > 0.0) {
                    return Err(Error::config("range", format!("must be a positive number, got {b}")));
                }
            }
        }
        if crate::range::needs_fit(&self.range) {
            // pann-eval's Lee rules take one approximation and no correction inside the search.
            if !self.site_alphas.is_empty() {
                return Err(Error::config(
                    "site_alphas",
                    format!("cannot be combined with range {rule} yet (the rule takes one α: use --alpha)"),
                ));
            }
            if self.leak_correction {
                return Err(Error::config(
                    "leak_correction",
                    format!("cannot be combined with range {rule} yet (its bounds hold the uncorrected network)"),
                ));
            }
        }
        if let Some(f) = &self.fitted {
            if let Some(b) = f.bounds.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
                return Err(Error::config("fitted", format!("bound {b} is not a positive number")));
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
