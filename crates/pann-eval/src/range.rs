//! Choosing the input bound `B` of the polynomial sites.
//!
//! - **Lee et al.**: one global `B`; start at 50 and, while any input of a polynomial site of the *approximate*
//!   network falls outside `[−B, B]` on the evaluated data, add 5 and start again. Low α can need a larger `B`
//!   than the exact network's range, because approximation errors grow the activations layer after layer.
//!   pann makes the same decisions faster: a pass stops at the first batch that overflows, and the images of that
//!   batch go first in the next pass, so a failing `B` usually costs one batch instead of the whole data set.
//! - **Calibrate**: per-site bounds, the exact network's largest `|x|` at each site over a calibration split
//!   (training images), times a margin.
//! - **Fixed**: a given number.

use crate::error::{Error, Result};
use crate::leak_correction::{leak_corrected_iterated, LeakCorrection};
use crate::plan::{plan, Bounds, ReluShift};
use crate::run::{reorder, run, Progress, RunOutcome};
use pann_approx::CompositeSign;
use pann_data::{Dataset, Normalization};
use pann_nn::{Activations, Model, OverflowPolicy};

/// Parameters of Lee et al.'s global search.
#[derive(Clone, Debug)]
pub struct LeeSearch {
    /// First `B` tried (50 in Lee et al.).
    pub start: f64,
    /// Increment (5 in Lee et al.).
    pub step: f64,
    /// Give up above this `B`: the approximate network diverges.
    pub cap: f64,
}

impl Default for LeeSearch {
    fn default() -> Self {
        Self {
            start: 50.0,
            step: 5.0,
            cap: 5000.0,
        }
    }
}

/// Result of the Lee search: the bound, the full run at that bound, and how many bounds were tried.
#[derive(Debug, Clone)]
pub struct LeeResult {
    /// The global `B` found.
    pub bound: f64,
    /// The run over all the data at `bound` (no overflow in it).
    pub outcome: RunOutcome,
    /// Bounds tried, the last included.
    pub tried: usize,
    /// With a mean-leak correction: the largest `|m_c|` at the bound found.
    pub leak_correction_max: Option<f64>,
}

/// Lee et al.'s global-`B` search on `data` for the composite `sign` at every site, the ReLU argument shifted by
/// `shift` (overflow still means `|x| > B`).
///
/// With `leak`, every bound tried gets the mean-leak correction measured on its images ([`crate::leak_correction`]): the
/// search then finds the first `B` at which the *corrected* network has no overflow.
#[allow(clippy::too_many_arguments)]
pub fn lee_search(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    sign: &CompositeSign,
    shift: ReluShift,
    batch: usize,
    search: &LeeSearch,
    leak: Option<LeakCorrection<'_>>,
    progress: &mut dyn Progress,
) -> Result<LeeResult> {
    let mut hard: Vec<usize> = Vec::new();
    let mut is_hard = vec![false; data.n];
    let mut bound = search.start;
    let mut tried = 0;
    loop {
        tried += 1;
        let mut acts = plan(model, &[sign], &Bounds::Global(bound), OverflowPolicy::Count, shift)?;
        let mut leak_correction_max = None;
        if let Some(l) = leak {
            let (corrected, max) = leak_corrected_iterated(model, l.calib, norm, &acts, batch, l.iterations, progress)?;
            acts = corrected;
            leak_correction_max = Some(max);
        }
        let order: Vec<usize> = hard
            .iter()
            .copied()
            .chain((0..data.n).filter(|&i| !is_hard[i]))
            .collect();
        let ordered = reorder(data, &order);
        let label = format!("α={} B={bound}", sign.alpha);
        let out = run(model, &ordered, norm, &acts, batch, true, &label, progress)?;
        match &out.overflow_batch {
            None => {
                return Ok(LeeResult {
                    bound,
                    outcome: out,
                    tried,
                    leak_correction_max,
                })
            }
            Some(r) => {
                for &i in &order[r.clone()] {
                    if !is_hard[i] {
                        is_hard[i] = true;
                        hard.push(i);
                    }
                }
                bound += search.step;
                if bound > search.cap {
                    return Err(Error::RangeDiverged {
                        alpha: sign.alpha,
                        bound,
                        cap: search.cap,
                    });
                }
            }
        }
    }
}

/// Per-site bounds: the exact network's largest `|x|` at each site on `calib`, times `margin`.
pub fn calibrate(
    model: &Model,
    calib: &Dataset,
    norm: &Normalization,
    batch: usize,
    margin: f64,
    progress: &mut dyn Progress,
) -> Result<Bounds> {
    if !(margin.is_finite() && margin >= 1.0) {
        return Err(Error::Invalid(format!(
            "calibration margin {margin} must be a finite number ≥ 1"
        )));
    }
    if calib.n == 0 {
        return Err(Error::Invalid(
            "calibration needs at least one image, the calibration set is empty".into(),
        ));
    }
    let exact = Activations::exact_for(model);
    let out = run(model, calib, norm, &exact, batch, false, "calibrating", progress)?;
    let sites = model.relu_sites().iter().chain(model.pool_sites());
    if let Some((site, s)) = sites
        .zip(out.stats.relu.iter().chain(&out.stats.pool))
        .find(|(_, s)| !s.max_abs.is_finite())
    {
        return Err(Error::Invalid(format!(
            "calibration: activation site `{site}` saw a non-finite input (largest |x| {})",
            s.max_abs
        )));
    }
    // A site that saw only zeros (a dead channel group) gets bound 1: any positive bound is exact there.
    let scale = |v: f64| if v > 0.0 { v * margin } else { 1.0 };
    Ok(Bounds::PerSite {
        relu: out.stats.relu.iter().map(|s| scale(s.max_abs)).collect(),
        pool: out.stats.pool.iter().map(|s| scale(s.max_abs)).collect(),
    })
}
