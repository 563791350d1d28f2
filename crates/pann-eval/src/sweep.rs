//! The core workflow: a trained network evaluated exactly and as a PANN at each precision α.

use crate::depth::network_depth;
use crate::error::{Error, Result};
use crate::leak_correction::{leak_corrected_iterated, LeakCorrection};
use crate::plan::{plan, Bounds, ReluShift};
use crate::range::{calibrate, lee_layers, lee_search, LeeLayers, LeeSearch};
use crate::run::{run, run_exact, Progress};
use pann_approx::search::{cheapest_with_tables, ErrorTables, SearchConfig};
use pann_approx::CompositeSign;
use pann_data::{Dataset, Normalization};
use pann_nn::{Model, OverflowPolicy};
use serde::Serialize;
use std::time::Instant;

/// How the input bounds are chosen.
#[derive(Clone, Debug)]
pub enum RangeRule {
    /// Lee et al.'s global search.
    Lee(LeeSearch),
    /// Per-site bounds from the exact network on a calibration split, times a margin.
    Calibrate {
        /// Factor on the largest input seen.
        margin: f64,
    },
    /// One fixed global bound.
    Fixed(f64),
    /// Lee et al.'s rule per site from the calibrated bounds ([`crate::range::lee_layers`]): no input of the
    /// approximate network on the evaluated data leaves its site's bound.
    LeeLayers(LeeLayers),
}

impl RangeRule {
    /// Whether the rule starts from bounds calibrated on training images.
    pub fn calibrates(&self) -> bool {
        matches!(self, RangeRule::Calibrate { .. } | RangeRule::LeeLayers(_))
    }
}

/// What to evaluate.
#[derive(Clone, Debug)]
pub struct EvalConfig {
    /// Precisions.
    pub alphas: Vec<u32>,
    /// Input bounds.
    pub range: RangeRule,
    /// What an input outside its bound does (Lee's search always ends without any).
    pub overflow: OverflowPolicy,
    /// Images per batch.
    pub batch: usize,
    /// Shift of the polynomial ReLU's argument (`ReluShift::NONE` for Lee et al.'s `x/B`).
    pub relu_shift: ReluShift,
    /// Mean-leak correction ([`crate::leak_correction`]): per-channel offsets measured on the calibration data set, for every
    /// α and bound.
    pub leak_correction: bool,
    /// Passes of the mean-leak correction: 1 measures on the exact network's inputs (first order), each further
    /// one on the corrected approximate network's own inputs ([`crate::leak_correction::leak_corrected_iterated`]).
    pub leak_iterations: usize,
}

/// The exact network.
#[derive(Clone, Debug, Serialize)]
pub struct ExactRow {
    /// Top-1 accuracy in `[0, 1]`.
    pub accuracy: f64,
    /// Correct images.
    pub correct: usize,
    /// Images.
    pub total: usize,
    /// Largest `|x|` at any ReLU site.
    pub max_relu_input: f64,
    /// Seconds.
    pub seconds: f64,
}

/// One precision.
#[derive(Clone, Debug, Serialize)]
pub struct AlphaRow {
    /// Precision α.
    pub alpha: u32,
    /// Composite degrees.
    pub degrees: Vec<usize>,
    /// Top-1 accuracy in `[0, 1]`.
    pub accuracy: f64,
    /// Correct images.
    pub correct: usize,
    /// Images.
    pub total: usize,
    /// The global bound, or the largest per-site bound.
    #[serde(rename = "B")]
    pub bound: f64,
    /// The ReLU shift `η` used (0: none).
    pub relu_shift: f64,
    /// Per-ReLU-site bounds, when they differ by site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Vec<f64>>,
    /// With `lee-layers`: the calibrated per-ReLU-site bounds the rule started from (`bounds` is where it ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_bounds: Option<Vec<f64>>,
    /// With `--leak-correction`: the largest per-channel mean error `|m_c|` subtracted, over all sites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leak_correction_max: Option<f64>,
    /// Polynomial arguments outside `[−1, 1]`, all sites.
    pub overflows: u64,
    /// Overflows per ReLU site (site name, count), sites without any left out.
    pub overflow_sites: Vec<(String, u64)>,
    /// Depth of one polynomial ReLU.
    pub relu_depth: u32,
    /// Depth of the whole network (see [`crate::depth`]).
    pub network_depth: u32,
    /// Bounds tried by Lee's search, full passes of `lee-layers` (1 otherwise).
    pub range_tries: usize,
    /// Seconds, range search included.
    pub seconds: f64,
}

/// Exact accuracy and one row per α.
#[derive(Clone, Debug, Serialize)]
pub struct EvalSummary {
    /// Architecture, e.g. `resnet20`.
    pub arch: String,
    /// The exact network.
    pub exact: ExactRow,
    /// One row per α.
    pub rows: Vec<AlphaRow>,
}

/// Receives each finished row (the CLI prints as they come).
pub trait RowSink {
    /// The exact row is ready.
    fn exact(&mut self, _row: &ExactRow) {}
    /// A PANN row is ready.
    fn row(&mut self, _row: &AlphaRow) {}
}

impl RowSink for () {}

/// Evaluates `model` on `data` exactly and at every α of `cfg`; `calib` is needed by [`RangeRule::Calibrate`] and
/// by the mean-leak correction.
pub fn evaluate_pann(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    calib: Option<&Dataset>,
    cfg: &EvalConfig,
    progress: &mut dyn Progress,
    sink: &mut dyn RowSink,
) -> Result<EvalSummary> {
    if cfg.leak_correction && calib.is_none() {
        return Err(Error::Invalid(
            "the mean-leak correction needs a calibration data set".into(),
        ));
    }
    let leak_calib = if cfg.leak_correction { calib } else { None };
    if cfg.leak_correction && cfg.leak_iterations == 0 {
        return Err(Error::Invalid(
            "the mean-leak correction needs at least one iteration".into(),
        ));
    }
    let leak = leak_calib.map(|c| LeakCorrection {
        calib: c,
        iterations: cfg.leak_iterations,
    });
    if leak_calib.is_some_and(|c| c.n == 0) {
        return Err(Error::Invalid(
            "the mean-leak correction needs at least one calibration image".into(),
        ));
    }
    let t0 = Instant::now();
    let exact_out = run_exact(model, data, norm, cfg.batch, progress)?;
    let exact = ExactRow {
        accuracy: exact_out.accuracy(),
        correct: exact_out.correct,
        total: exact_out.evaluated,
        max_relu_input: exact_out.stats.max_relu_input(),
        seconds: t0.elapsed().as_secs_f64(),
    };
    sink.exact(&exact);
    let calibrated = match (&cfg.range, calib) {
        (RangeRule::Calibrate { margin }, Some(c)) => Some(calibrate(model, c, norm, cfg.batch, *margin, progress)?),
        (RangeRule::LeeLayers(r), Some(c)) => Some(calibrate(model, c, norm, cfg.batch, r.margin, progress)?),
        (RangeRule::Calibrate { .. } | RangeRule::LeeLayers(_), None) => {
            return Err(Error::Invalid(
                "per-layer calibration needs a calibration data set".into(),
            ))
        }
        _ => None,
    };
    let mut tables = ErrorTables::default();
    let mut rows = Vec::new();
    for &alpha in &cfg.alphas {
        let t = Instant::now();
        let sign = cheapest_with_tables(alpha, &SearchConfig::default(), &mut tables)?;
        let eta = cfg.relu_shift.eta(&sign)?;
        let mut start_bounds = None;
        let (bounds, out, tries, leak_max) = match &cfg.range {
            RangeRule::Lee(search) => {
                let r = lee_search(
                    model,
                    data,
                    norm,
                    &sign,
                    cfg.relu_shift,
                    cfg.batch,
                    search,
                    leak,
                    progress,
                )?;
                (Bounds::Global(r.bound), r.outcome, r.tried, r.leak_correction_max)
            }
            RangeRule::Fixed(b) => {
                let b = Bounds::Global(*b);
                let (out, leak) = planned_run(model, data, norm, leak_calib, &sign, &b, cfg, progress)?;
                (b, out, 1, leak)
            }
            RangeRule::Calibrate { .. } => {
                let b = calibrated.clone().expect("computed above");
                let (out, leak) = planned_run(model, data, norm, leak_calib, &sign, &b, cfg, progress)?;
                (b, out, 1, leak)
            }
            RangeRule::LeeLayers(rule) => {
                let start = calibrated.as_ref().expect("computed above");
                let r = lee_layers(
                    model,
                    data,
                    norm,
                    start,
                    &sign,
                    cfg.relu_shift,
                    cfg.batch,
                    rule,
                    leak,
                    progress,
                )?;
                // Safe by construction: the rule ends only on a pass without any overflow.
                assert_eq!(r.outcome.stats.total_overflows(), 0, "lee-layers ended with overflows");
                if let Bounds::PerSite { relu, .. } = &r.start {
                    start_bounds = Some(relu.clone());
                }
                (r.bounds, r.outcome, r.passes, r.leak_correction_max)
            }
        };
        let row = AlphaRow {
            alpha,
            degrees: sign.degrees.clone(),
            accuracy: out.accuracy(),
            correct: out.correct,
            total: out.evaluated,
            bound: bounds.max(),
            relu_shift: eta,
            bounds: match &bounds {
                Bounds::PerSite { relu, .. } => Some(relu.clone()),
                Bounds::Global(_) => None,
            },
            start_bounds,
            leak_correction_max: leak_max,
            overflows: out.stats.total_overflows(),
            overflow_sites: model
                .relu_sites()
                .iter()
                .zip(&out.stats.relu)
                .filter(|(_, s)| s.overflows > 0)
                .map(|(n, s)| (n.clone(), s.overflows))
                .collect(),
            relu_depth: sign.relu_depth(),
            network_depth: network_depth(model.architecture(), sign.relu_depth(), sign.relu_depth()),
            range_tries: tries,
            seconds: t.elapsed().as_secs_f64(),
        };
        sink.row(&row);
        rows.push(row);
    }
    Ok(EvalSummary {
        arch: model.architecture().to_string(),
        exact,
        rows,
    })
}

/// One pass with `sign` at every site under `bounds` and the configured overflow policy; with `leak_calib`, the
/// mean-leak correction measured on it first (and its largest `|m_c|` returned).
#[allow(clippy::too_many_arguments)]
fn planned_run(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    leak_calib: Option<&Dataset>,
    sign: &CompositeSign,
    bounds: &Bounds,
    cfg: &EvalConfig,
    progress: &mut dyn Progress,
) -> Result<(crate::run::RunOutcome, Option<f64>)> {
    let mut acts = plan(model, &[sign], bounds, cfg.overflow, cfg.relu_shift)?;
    let mut leak_max = None;
    if let Some(calib) = leak_calib {
        let (corrected, max) =
            leak_corrected_iterated(model, calib, norm, &acts, cfg.batch, cfg.leak_iterations, progress)?;
        acts = corrected;
        leak_max = Some(max);
    }
    let label = format!("α={} B≤{:.1}", sign.alpha, bounds.max());
    Ok((
        run(model, data, norm, &acts, cfg.batch, false, &label, progress)?,
        leak_max,
    ))
}
