//! The summary of a run: accuracies, agreement, logit error and timings over the images, and what was run.
//! Built from the per-image results alone (plus the run's set-up), so a resumed run that read earlier results
//! back reports exactly as one that ran them all.

use serde::{Deserialize, Serialize};

use crate::infer::ImageResult;
use crate::params::ParamsSummary;

/// What `pann he infer --json` prints. The CLI prints it through `serde_json::Value`, whose keys are sorted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Images run.
    pub images: usize,
    /// Accuracy of the decrypted predictions (a failed decryption counts as wrong).
    pub accuracy_encrypted: f64,
    /// Accuracy of the plaintext PANN.
    pub accuracy_plaintext_pann: f64,
    /// Accuracy of the exact network.
    pub accuracy_exact: f64,
    /// Fraction of images whose encrypted prediction is the plaintext PANN's.
    pub agreement: f64,
    /// Largest logit error over the images that decrypted (0 if none did: JSON has no infinity).
    pub max_logit_error: f64,
    /// Mean seconds of the encrypted circuit per image.
    pub seconds_per_image: f64,
    /// Seconds of key generation.
    pub keygen_seconds: f64,
    /// ReLU inputs of the plaintext PANN outside their bounds, over all images.
    pub relu_input_overflows: usize,
    /// `image i: why`, one per failed decryption.
    pub decryption_failures: Vec<String>,
    /// Precision α.
    pub alpha: u32,
    /// Degrees of the composite sign.
    pub degrees: Vec<usize>,
    /// Levels the circuit consumes.
    pub depth: usize,
    /// One ReLU bound per layer.
    pub bounds: Vec<f64>,
    /// The range rule of the bounds, as `--range` spells it (`calibrate`, `lee`, `lee-layers`, a number).
    pub range: String,
    /// What the bounds were fitted on, in words (which images, which network).
    pub bounds_fitted_on: String,
    /// The largest `|mean leak|` subtracted, if the leak correction was on.
    pub leak_correction: Option<f64>,
    /// Number of rotation keys.
    pub rotation_keys: usize,
    /// Threads of the rayon pool.
    pub threads: usize,
    /// The CKKS parameters.
    pub params: ParamsSummary,
    /// Bootstraps per image (0 for a network that fits the modulus).
    pub bootstraps_per_image: usize,
    /// Rotations (key switches) per image.
    pub rotations_per_image: usize,
    /// Bytes of the evaluation keys.
    pub keys_bytes: usize,
    /// Peak resident memory of the process so far (`VmHWM`; 0 where `/proc` has none).
    pub peak_rss_bytes: u64,
}

/// What a run was set up with: everything of the [`Report`] that does not come from the images. Also what an
/// [`crate::Observer`] sees before the first image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// The network's architecture name.
    pub network: String,
    /// Images the run will take.
    pub images: usize,
    /// Precision α.
    pub alpha: u32,
    /// Degrees of the composite sign.
    pub degrees: Vec<usize>,
    /// Depth of one polynomial ReLU.
    pub relu_depth: u32,
    /// Levels the circuit consumes.
    pub depth: usize,
    /// One ReLU bound per layer.
    pub bounds: Vec<f64>,
    /// The range rule of the bounds, as `--range` spells it.
    pub range: String,
    /// What the bounds were fitted on, in words.
    pub bounds_fitted_on: String,
    /// The mean leaks subtracted per layer and channel, if the leak correction was on.
    pub leaks: Option<Vec<Vec<f64>>>,
    /// `log2` of the whole modulus, unrounded.
    pub log_qp: f64,
    /// The CKKS parameters.
    pub params: ParamsSummary,
    /// Number of rotation keys.
    pub rotation_keys: usize,
    /// Seconds of key generation.
    pub keygen_seconds: f64,
    /// Threads of the rayon pool.
    pub threads: usize,
    /// Bootstraps per image.
    pub bootstraps_per_image: usize,
    /// Rotations (key switches) per image.
    pub rotations_per_image: usize,
    /// Bytes of the evaluation keys.
    pub keys_bytes: usize,
}

/// Peak resident memory of this process (`VmHWM` of `/proc/self/status`), 0 where unavailable: pann-he's reading,
/// the one the bootstrapping bench reports, so both count memory the same way.
pub use pann_he::bootstrap::bench::peak_rss_bytes;

impl Report {
    /// The report of `results` (in image order) for a run set up as `setup`.
    pub fn new(setup: &Setup, results: &[ImageResult]) -> Self {
        let n = results.len() as f64;
        let count = |f: &dyn Fn(&ImageResult) -> bool| results.iter().filter(|r| f(r)).count() as f64 / n;
        let eval_seconds: f64 = results.iter().map(|r| r.eval_seconds).sum();
        Self {
            images: results.len(),
            accuracy_encrypted: count(&|r| r.encrypted == Some(r.label)),
            accuracy_plaintext_pann: count(&|r| r.plaintext_pann == r.label),
            accuracy_exact: count(&|r| r.exact == r.label),
            agreement: count(&|r| r.encrypted == Some(r.plaintext_pann)),
            max_logit_error: results.iter().filter_map(|r| r.max_logit_error).fold(0f64, f64::max),
            seconds_per_image: eval_seconds / n,
            keygen_seconds: setup.keygen_seconds,
            relu_input_overflows: results.iter().map(|r| r.relu_input_overflows).sum(),
            decryption_failures: results
                .iter()
                .filter_map(|r| r.decryption_failure.as_ref().map(|e| format!("image {}: {e}", r.index)))
                .collect(),
            alpha: setup.alpha,
            degrees: setup.degrees.clone(),
            depth: setup.depth,
            bounds: setup.bounds.clone(),
            range: setup.range.clone(),
            bounds_fitted_on: setup.bounds_fitted_on.clone(),
            leak_correction: setup
                .leaks
                .as_ref()
                .map(|l| l.iter().flatten().fold(0f64, |m, v| m.max(v.abs()))),
            rotation_keys: setup.rotation_keys,
            threads: setup.threads,
            params: setup.params.clone(),
            bootstraps_per_image: setup.bootstraps_per_image,
            rotations_per_image: setup.rotations_per_image,
            keys_bytes: setup.keys_bytes,
            peak_rss_bytes: peak_rss_bytes(),
        }
    }
}
