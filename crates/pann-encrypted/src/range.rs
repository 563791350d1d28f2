//! The ReLU bounds of an encrypted run by the rules of `pann eval --range` ([`pann_eval::RangeRule`]).
//!
//! `calibrate` and a fixed number are computed by [`crate::EncryptedRun::prepare`] itself, on the `f64` mirror
//! ([`crate::calibrate`]). Lee et al.'s rules (`lee`: one global `B`; `lee-layers`: Lee's rule per ReLU site) are
//! defined on the *approximate* network over the evaluated images, so [`fit`] runs pann-eval's own functions
//! ([`pann_eval::range::lee_search`], [`pann_eval::lee_layers_bounds`]) on pann-eval's libtorch PANN of the same
//! model file, over the first `config.images` test images — the very images the run encrypts, as `pann eval`
//! fits them on the images it evaluates. The bounds it returns go into
//! [`crate::EncryptedInferenceConfig::fitted`]; they are exactly what `pann eval --range lee|lee-layers` finds
//! for that model, those images and that α, and no input of a polynomial ReLU leaves its bound there.

use pann_data::Dataset;
use pann_eval::{Bounds, Progress, RangeRule, ReluShift};
use pann_nn::Model;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{EncryptedInferenceConfig, Network};

/// Images per libtorch batch while fitting (`pann eval`'s default).
const BATCH: usize = 500;

/// Bounds fitted by a rule of pann-eval on the libtorch PANN ([`fit`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedBounds {
    /// One bound per ReLU site, in the order of [`Network::forward`]'s sites (pann-nn's `relu_sites`).
    pub bounds: Vec<f64>,
    /// `lee-layers`: the calibrated bounds it started from.
    pub start: Option<Vec<f64>>,
    /// Test images the bounds were fitted on (the first ones).
    pub images: usize,
    /// Training images the starting bounds were calibrated on (`lee-layers`; 0 for `lee`).
    pub calib_images: usize,
    /// Bounds tried (`lee`) or full passes (`lee-layers`).
    pub tries: usize,
    /// Polynomial inputs outside their bound in pann-eval's run at the bounds found (0 by construction).
    pub overflows: u64,
}

/// The rule as `--range` spells it: `calibrate`, `lee`, `lee-layers` or the number.
pub fn name(rule: &RangeRule) -> String {
    match rule {
        RangeRule::Calibrate { .. } => "calibrate".into(),
        RangeRule::Lee(_) => "lee".into(),
        RangeRule::LeeLayers(_) => "lee-layers".into(),
        RangeRule::Fixed(b) => b.to_string(),
    }
}

/// Whether the rule needs [`fit`] (the libtorch network and the test images) before the run is prepared.
pub fn needs_fit(rule: &RangeRule) -> bool {
    matches!(rule, RangeRule::Lee(_) | RangeRule::LeeLayers(_))
}

/// Fits the bounds of `config.range` when it is one of Lee et al.'s rules (`None` for the rules
/// [`crate::EncryptedRun::prepare`] computes itself): pann-eval's function on `model` (the libtorch PANN of the
/// file `net` was loaded from, at `config.alpha`) over the first `config.images` images of `test`, `lee-layers`
/// starting from bounds calibrated on the first `config.calib_images` of `calib`.
pub fn fit(
    config: &EncryptedInferenceConfig,
    model: &Model,
    net: &Network,
    test: &Dataset,
    calib: &Dataset,
    progress: &mut dyn Progress,
) -> Result<Option<FittedBounds>> {
    if !needs_fit(&config.range) {
        return Ok(None);
    }
    config.validate()?;
    crate::check_shape(net, test)?;
    crate::check_shape(net, calib)?;
    if model.architecture() != net.architecture() || !model.pool_sites().is_empty() {
        return Err(Error::Mismatch(format!(
            "the libtorch network is a {}, the encrypted one a {}",
            model.architecture(),
            net.architecture()
        )));
    }
    let sites = net.relu_layers();
    if model.relu_sites().len() != sites {
        return Err(Error::Mismatch(format!(
            "the libtorch network has {} ReLU sites, the encrypted one {sites}",
            model.relu_sites().len()
        )));
    }
    let first = |d: &Dataset, n: usize| pann_eval::run::reorder(d, &(0..n.min(d.n)).collect::<Vec<_>>());
    let data = first(test, config.images);
    if data.n == 0 {
        return Err(Error::config("images", "must be at least 1 (the test set is empty)"));
    }
    let sign = config.sign()?;
    let fitted = match &config.range {
        RangeRule::Lee(search) => {
            let r = pann_eval::range::lee_search(
                model,
                &data,
                &config.norm,
                &sign,
                ReluShift::NONE,
                BATCH,
                search,
                None,
                progress,
            )?;
            FittedBounds {
                bounds: vec![r.bound; sites],
                start: None,
                images: data.n,
                calib_images: 0,
                tries: r.tried,
                overflows: r.outcome.stats.total_overflows(),
            }
        }
        RangeRule::LeeLayers(rule) => {
            let calib = first(calib, config.calib_images);
            let r =
                pann_eval::lee_layers_bounds(model, &data, &calib, &config.norm, &sign, BATCH, rule, None, progress)?;
            let relu = |b: Bounds| match b {
                Bounds::PerSite { relu, .. } => relu,
                Bounds::Global(b) => vec![b; sites],
            };
            FittedBounds {
                bounds: relu(r.bounds),
                start: Some(relu(r.start)),
                images: data.n,
                calib_images: calib.n,
                tries: r.passes,
                overflows: r.outcome.stats.total_overflows(),
            }
        }
        RangeRule::Calibrate { .. } | RangeRule::Fixed(_) => unreachable!("needs_fit"),
    };
    Ok(Some(fitted))
}

/// What the bounds of a run were fitted on, in words (the report's `bounds_fitted_on`).
pub(crate) fn fitted_on(config: &EncryptedInferenceConfig, net: &Network, calib_images: usize) -> String {
    match (&config.fitted, &config.range) {
        (Some(f), RangeRule::Lee(_)) => format!(
            "Lee et al.'s global B on the libtorch PANN over the first {} test images (the images run), {} bounds tried",
            f.images, f.tries
        ),
        (Some(f), RangeRule::LeeLayers(r)) => format!(
            "Lee's rule per site ({} steps) from {} × the exact network's largest input on {} training images, on the \
             libtorch PANN over the first {} test images (the images run), {} passes",
            r.step, r.margin, f.calib_images, f.images, f.tries
        ),
        (Some(f), _) => format!("given ({} test images)", f.images),
        (None, RangeRule::Fixed(_)) => "fixed".into(),
        (None, RangeRule::Calibrate { margin }) if net.bootstraps() => format!(
            "{margin} × the exact network's largest input on {calib_images} training images (f64 mirror)"
        ),
        (None, RangeRule::Calibrate { margin }) => format!(
            "{margin} × the largest input on {calib_images} training images, layer by layer with the earlier \
             layers polynomial (f64 mirror)"
        ),
        (None, _) => "not fitted".into(),
    }
}
