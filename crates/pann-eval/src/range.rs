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
//! - **Lee per layer** (`lee-layers`, [`lee_layers`]): Lee's rule applied to each site from its calibrated bound —
//!   every site the least bound of `B₀, step(B₀), …` that holds all inputs the *approximate* network gives it on
//!   the evaluated data. Safe by construction (no overflow on that data) and as narrow as that allows.

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

/// How a per-site bound grows in [`lee_layers`]: the bounds a site may take are `B₀, step(B₀), step(step(B₀)), …`
/// from its calibrated bound `B₀`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerStep {
    /// `B ← f·B` (`×1.1`; `×1.05` is "+5% of the bound"). Relative, so a site whose inputs are 5 and one whose
    /// inputs are 50 get steps of the same relative coarseness.
    Factor(f64),
    /// `B ← B + a` (Lee et al.'s `+5`, per site). Coarse for the small per-site bounds of a well-trained network
    /// (5–30 on the bundled ResNet-20): one step can be 20–100% of the bound.
    Add(f64),
}

impl LayerStep {
    /// The next bound after `b`.
    pub fn next(&self, b: f64) -> f64 {
        match *self {
            LayerStep::Factor(f) => b * f,
            LayerStep::Add(a) => b + a,
        }
    }

    /// An error unless the step makes every bound grow by a finite amount.
    pub fn check(&self) -> Result<()> {
        let ok = match *self {
            LayerStep::Factor(f) => f.is_finite() && f > 1.0,
            LayerStep::Add(a) => a.is_finite() && a > 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "layer step {self}: expected xF with F > 1 or +A with A > 0"
            )))
        }
    }
}

impl Default for LayerStep {
    /// `×1.1`, the margin calibration already puts on the exact network's largest input.
    fn default() -> Self {
        LayerStep::Factor(1.1)
    }
}

impl std::fmt::Display for LayerStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerStep::Factor(v) => write!(f, "x{v}"),
            LayerStep::Add(v) => write!(f, "+{v}"),
        }
    }
}

impl std::str::FromStr for LayerStep {
    type Err = Error;

    /// `x1.1` (or `*1.1`, `×1.1`) multiplies, `+5` adds.
    fn from_str(s: &str) -> Result<LayerStep> {
        let s = s.trim();
        let bad = || {
            Error::Invalid(format!(
                "layer step '{s}': expected xF (F > 1, e.g. x1.1) or +A (A > 0, e.g. +5)"
            ))
        };
        let step = if let Some(v) = s.strip_prefix('+') {
            LayerStep::Add(v.parse().map_err(|_| bad())?)
        } else if let Some(v) = s.strip_prefix('x').or(s.strip_prefix('*')).or(s.strip_prefix('×')) {
            LayerStep::Factor(v.parse().map_err(|_| bad())?)
        } else {
            return Err(bad());
        };
        step.check().map_err(|_| bad())?;
        Ok(step)
    }
}

/// Parameters of [`lee_layers`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeeLayers {
    /// Margin of the calibrated starting bounds ([`calibrate`]).
    pub margin: f64,
    /// How a bound grows.
    pub step: LayerStep,
    /// Give up when a bound would exceed this: the approximate network diverges.
    pub cap: f64,
}

impl Default for LeeLayers {
    fn default() -> Self {
        Self {
            margin: 1.1,
            step: LayerStep::default(),
            cap: 1e6,
        }
    }
}

/// Result of [`lee_layers`].
#[derive(Debug, Clone)]
pub struct LeeLayersResult {
    /// The per-site bounds found.
    pub bounds: Bounds,
    /// The bounds it started from (calibrated).
    pub start: Bounds,
    /// The run over all the data at `bounds`: no overflow in it.
    pub outcome: RunOutcome,
    /// Full passes over the data, the last (the check that nothing changes) included.
    pub passes: usize,
    /// With a mean-leak correction: the largest `|m_c|` at the bounds found.
    pub leak_correction_max: Option<f64>,
}

/// The least bound of `start, step(start), step(step(start)), …` that is at least `seen`; `None` if that is above
/// `cap` or `seen` is not a number.
fn least_step_covering(start: f64, seen: f64, step: LayerStep, cap: f64) -> Option<f64> {
    let mut b = start;
    while b < seen || seen.is_nan() {
        b = step.next(b);
        if b > cap {
            return None;
        }
    }
    Some(b)
}

/// **Lee et al.'s rule per site** (`--range lee-layers`): every polynomial site `i` (ReLU and max-pool) gets the
/// least bound of the sequence `B₀ᵢ, step(B₀ᵢ), …` — `B₀ᵢ` its calibrated bound — that holds every input the
/// *approximate* network gives that site on `data`, the sites before it having their bounds so chosen.
///
/// Why this definition: a site's inputs depend only on the bounds of the sites before it in the forward order,
/// so "each site the least bound that holds its inputs" has exactly one solution, which is what Lee's search
/// (raise a bound until nothing overflows) gives when it is run site after site. It is the smallest safe set of
/// bounds on the step lattice, so the polynomial's poorly approximated zone `|x| < ε·Bᵢ` is as narrow as the data
/// allow. Raising every overflowing site at once instead (one Lee step on each) has no unique answer: a later
/// site raised because of an earlier site's error keeps its larger bound once that error has been fixed, and
/// where it ends depends on the order the data come in.
///
/// How it is computed: Jacobi passes. Each full pass over `data` runs the approximate network at the current
/// bounds and sets every site to the least step value covering the largest `|x|` it saw; a site's new value is
/// right as soon as those of all sites before it were right in the previous pass, so after at most `sites + 1`
/// passes nothing changes (fewer in practice: a later site's maximum moves by less than a step). The pass in which
/// nothing changes is the accuracy run, and it has no overflow (asserted). A pass cannot stop at the first
/// overflowing batch as [`lee_search`] does: the least bound needs each site's maximum over all the data, and a
/// bound may also go *down* when an earlier site's bound changed.
///
/// With `leak`, every pass measures the mean-leak correction at its bounds first ([`crate::leak_correction`]); the
/// rule then holds the *corrected* network's inputs.
#[allow(clippy::too_many_arguments)]
pub fn lee_layers(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    start: &Bounds,
    sign: &CompositeSign,
    shift: ReluShift,
    batch: usize,
    rule: &LeeLayers,
    leak: Option<LeakCorrection<'_>>,
    progress: &mut dyn Progress,
) -> Result<LeeLayersResult> {
    rule.step.check()?;
    let Bounds::PerSite {
        relu: relu0,
        pool: pool0,
    } = start
    else {
        return Err(Error::Invalid(
            "lee-layers starts from per-site bounds (calibrate first)".into(),
        ));
    };
    if relu0.len() != model.relu_sites().len() || pool0.len() != model.pool_sites().len() {
        return Err(Error::Invalid(format!(
            "lee-layers: {} + {} starting bounds for {} ReLU and {} max-pool sites",
            relu0.len(),
            pool0.len(),
            model.relu_sites().len(),
            model.pool_sites().len()
        )));
    }
    let sites = relu0.len() + pool0.len();
    let mut bounds = start.clone();
    for passes in 1..=sites + 2 {
        let mut acts = plan(model, &[sign], &bounds, OverflowPolicy::Count, shift)?;
        let mut leak_correction_max = None;
        if let Some(l) = leak {
            let (corrected, max) = leak_corrected_iterated(model, l.calib, norm, &acts, batch, l.iterations, progress)?;
            acts = corrected;
            leak_correction_max = Some(max);
        }
        let label = format!("α={} lee-layers pass {passes}", sign.alpha);
        let out = run(model, data, norm, &acts, batch, false, &label, progress)?;
        // A site behind an overflowing one can see huge inputs (the polynomial far outside [−1, 1]); it keeps
        // its bound until the sites before it have settled, and only then are its inputs its own.
        let cover = |b0: &[f64], now: &[f64], stats: &[pann_nn::SiteStats]| -> Vec<f64> {
            b0.iter()
                .zip(now)
                .zip(stats)
                .map(|((&b0, &now), s)| least_step_covering(b0, s.max_abs, rule.step, rule.cap).unwrap_or(now))
                .collect()
        };
        let Bounds::PerSite {
            relu: relu_now,
            pool: pool_now,
        } = &bounds
        else {
            unreachable!("per-site from the start")
        };
        let next = Bounds::PerSite {
            relu: cover(relu0, relu_now, &out.stats.relu),
            pool: cover(pool0, pool_now, &out.stats.pool),
        };
        if next == bounds && out.stats.total_overflows() == 0 {
            return Ok(LeeLayersResult {
                bounds,
                start: start.clone(),
                outcome: out,
                passes,
                leak_correction_max,
            });
        }
        bounds = next;
    }
    // The triangular structure settles in `sites + 1` passes; still moving means a site whose own inputs exceed
    // the cap, inputs the maximum misses (NaN), or a max-pool whose tree overflows inside its bound.
    Err(Error::RangeDiverged {
        alpha: sign.alpha,
        bound: bounds.max(),
        cap: rule.cap,
    })
}

/// Per-site bounds by [`lee_layers`] from bounds calibrated on `calib` (the exact network's largest inputs times
/// `rule.margin`): what `pann eval --range lee-layers` uses, for callers that want only the bounds (e.g. an
/// encrypted run's calibration step, or training through the polynomial).
#[allow(clippy::too_many_arguments)]
pub fn lee_layers_bounds(
    model: &Model,
    data: &Dataset,
    calib: &Dataset,
    norm: &Normalization,
    sign: &CompositeSign,
    batch: usize,
    rule: &LeeLayers,
    leak: Option<LeakCorrection<'_>>,
    progress: &mut dyn Progress,
) -> Result<LeeLayersResult> {
    let start = calibrate(model, calib, norm, batch, rule.margin, progress)?;
    lee_layers(
        model,
        data,
        norm,
        &start,
        sign,
        ReluShift::NONE,
        batch,
        rule,
        leak,
        progress,
    )
}
