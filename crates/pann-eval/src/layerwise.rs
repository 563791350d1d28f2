//! Layer-wise precision: a different α at every ReLU site, chosen so that the whole PANN stays within a tolerance
//! of the exact network at the least total depth.
//!
//! Not every ReLU is equally sensitive (the perturbation study shows that errors in some layers are absorbed by
//! the next convolution and BN, in others they grow), so a uniform α spends depth where it is not needed. The
//! search is greedy and data-driven:
//!
//! 1. the smallest uniform α whose accuracy on the search images is at least `exact − tolerance`;
//! 2. from there, every site is tried one α step lower on its own, and the sites are ordered by the accuracy that
//!    leaves (least sensitive first);
//! 3. in that order, passes over the sites lower a site by one step whenever the network stays at or above the
//!    target, and freeze it the first time it does not; the search ends when every site is frozen.
//!
//! Each step is one evaluation of the search images, so the search costs one exact pass, the uniform scan, one
//! sensitivity pass per site and one pass per later trial (the first pass of the descent reuses the sensitivity
//! runs). Bounds
//! are per site (calibrated on training images, as `pann eval --range calibrate`), so changing one site's α does
//! not move another site's bound. With the mean-leak correction, each site's per-channel offsets depend only on
//! its own composite and bound (they are measured on the *exact* network's inputs), so they are measured once per
//! α for all sites and assembled per assignment.
//!
//! The search images should not be the images the result is reported on: [`layerwise_study`] searches on one part
//! of the test set and reports on the rest (and on all of it).

use crate::depth::network_depth_per_site;
use crate::error::{Error, Result};
use crate::leak_correction::leak_means;
use crate::plan::{plan, Bounds, ReluShift};
use crate::range::calibrate;
use crate::run::{reorder, run, run_exact, Progress};
use pann_approx::search::{cheapest_with_tables, ErrorTables, SearchConfig};
use pann_approx::CompositeSign;
use pann_data::{Dataset, Normalization};
use pann_nn::leak_meter::with_offsets;
use pann_nn::{Activations, Model, OverflowPolicy};
use serde::Serialize;

/// What the search may use.
#[derive(Clone, Debug)]
pub struct LayerwiseConfig {
    /// Candidate precisions, any order; a site moves between neighbours of the sorted list.
    pub alphas: Vec<u32>,
    /// Largest accepted accuracy loss against the exact network on the search images (0.01: one point).
    pub tolerance: f64,
    /// Per-site bounds.
    pub bounds: Bounds,
    /// Overflow policy of the polynomial sites.
    pub overflow: OverflowPolicy,
    /// Images per batch.
    pub batch: usize,
}

/// One trial of the search.
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    /// The site lowered.
    pub site: String,
    /// Its α before.
    pub from: u32,
    /// Its α tried.
    pub to: u32,
    /// Accuracy on the search images with it.
    pub accuracy: f64,
    /// Network depth with it.
    pub network_depth: u32,
    /// Kept (accuracy at or above the target) or not.
    pub accepted: bool,
}

/// A per-site assignment and what it costs.
#[derive(Clone, Debug, Serialize)]
pub struct Assignment {
    /// α per ReLU site.
    pub alphas: Vec<u32>,
    /// ReLU depth per site.
    pub relu_depths: Vec<u32>,
    /// Network depth (linear layers plus the sum of the ReLU depths).
    pub network_depth: u32,
    /// Accuracy on the search images.
    pub accuracy: f64,
}

/// Result of [`layerwise_search`].
#[derive(Clone, Debug, Serialize)]
pub struct LayerwiseResult {
    /// ReLU site names.
    pub sites: Vec<String>,
    /// Exact accuracy on the search images.
    pub exact_accuracy: f64,
    /// `exact_accuracy − tolerance`.
    pub target: f64,
    /// Accuracy of each uniform α tried on the way to the first that meets the target: `(α, accuracy)`.
    pub uniform_scan: Vec<(u32, f64)>,
    /// The cheapest uniform α that meets the target.
    pub uniform: Assignment,
    /// The layer-wise assignment found.
    pub layerwise: Assignment,
    /// Sensitivity of each site: accuracy with only that site one step below the uniform α (`None` where the
    /// uniform α is already the lowest candidate).
    pub sensitivity: Vec<Option<f64>>,
    /// Every trial of the descent, in order.
    pub trials: Vec<Trial>,
    /// Passes over the search images, all included.
    pub evaluations: usize,
}

/// Composites (and mean-leak offsets) per candidate α, built once.
struct Candidates {
    alphas: Vec<u32>,
    signs: Vec<CompositeSign>,
    /// Per candidate, per site: the mean-leak offsets (empty without the correction).
    offsets: Vec<Vec<Vec<f64>>>,
}

/// Searches a per-site α assignment on `data` (see the module documentation). `leak_calib`: the images the
/// mean-leak correction is measured on, or `None` for no correction.
pub fn layerwise_search(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    leak_calib: Option<&Dataset>,
    cfg: &LayerwiseConfig,
    progress: &mut dyn Progress,
) -> Result<LayerwiseResult> {
    let sites = model.relu_sites().to_vec();
    let n = sites.len();
    if n == 0 {
        return Err(Error::Invalid(format!(
            "{} has no ReLU site to assign a precision to",
            model.architecture()
        )));
    }
    if !(0.0..1.0).contains(&cfg.tolerance) {
        return Err(Error::Invalid(format!("tolerance {} must be in [0, 1)", cfg.tolerance)));
    }
    if data.n == 0 {
        return Err(Error::Invalid("the layer-wise search needs at least one image".into()));
    }
    let mut alphas = cfg.alphas.clone();
    alphas.sort_unstable();
    alphas.dedup();
    if alphas.is_empty() {
        return Err(Error::Invalid("no candidate α".into()));
    }
    let cands = candidates(model, norm, leak_calib, &alphas, cfg, progress)?;
    let mut evaluations = 0usize;
    let exact = run_exact(model, data, norm, cfg.batch, progress)?;
    evaluations += 1;
    let target = exact.accuracy() - cfg.tolerance;
    let mut evaluate = |assign: &[usize], label: &str, progress: &mut dyn Progress| -> Result<Assignment> {
        evaluations += 1;
        assess(model, data, norm, &cands, assign, cfg, label, progress)
    };

    // 1. The cheapest uniform α that meets the target.
    let mut uniform_scan = Vec::new();
    let mut uniform = None;
    for k in 0..cands.alphas.len() {
        let a = evaluate(&vec![k; n], &format!("uniform α={}", cands.alphas[k]), progress)?;
        uniform_scan.push((cands.alphas[k], a.accuracy));
        if a.accuracy >= target {
            uniform = Some((k, a));
            break;
        }
    }
    let Some((k0, uniform)) = uniform else {
        return Err(Error::Invalid(format!(
            "no uniform α up to {} keeps the accuracy within {:.2} points of exact ({:.2}%) on these images",
            cands.alphas.last().expect("nonempty"),
            100.0 * cfg.tolerance,
            100.0 * exact.accuracy()
        )));
    };

    // 2. Sensitivity: each site alone one step lower.
    let mut assign = vec![k0; n];
    let mut trials = Vec::new();
    let mut sensitivity_runs: Vec<Option<Assignment>> = vec![None; n];
    for (i, run) in sensitivity_runs.iter_mut().enumerate() {
        if k0 == 0 {
            break;
        }
        let mut a = assign.clone();
        a[i] = k0 - 1;
        *run = Some(evaluate(
            &a,
            &format!("site {} α={}", i, cands.alphas[k0 - 1]),
            progress,
        )?);
    }
    let sensitivity: Vec<Option<f64>> = sensitivity_runs
        .iter()
        .map(|r| r.as_ref().map(|r| r.accuracy))
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        sensitivity[b]
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&sensitivity[a].unwrap_or(f64::NEG_INFINITY))
    });

    // 3. Greedy descent in that order.
    let mut frozen = vec![false; n];
    let mut best = uniform.clone();
    // Until the first step is accepted, a trial is exactly that site's sensitivity run: reuse it.
    let mut untouched = true;
    loop {
        let mut moved = false;
        for &i in &order {
            if frozen[i] || assign[i] == 0 {
                frozen[i] = true;
                continue;
            }
            let mut a = assign.clone();
            a[i] -= 1;
            let r = match (&sensitivity_runs[i], untouched) {
                (Some(known), true) => known.clone(),
                _ => evaluate(&a, &format!("site {} α={}", i, cands.alphas[a[i]]), progress)?,
            };
            let accepted = r.accuracy >= target;
            trials.push(Trial {
                site: sites[i].clone(),
                from: cands.alphas[assign[i]],
                to: cands.alphas[a[i]],
                accuracy: r.accuracy,
                network_depth: r.network_depth,
                accepted,
            });
            if accepted {
                assign = a;
                best = r;
                moved = true;
                untouched = false;
            } else {
                frozen[i] = true;
            }
        }
        if !moved {
            break;
        }
    }
    Ok(LayerwiseResult {
        sites,
        exact_accuracy: exact.accuracy(),
        target,
        uniform_scan,
        uniform,
        layerwise: best,
        sensitivity,
        trials,
        evaluations,
    })
}

/// The plan of an assignment (indices into the candidates), with the assembled mean-leak offsets.
fn activations(model: &Model, cands: &Candidates, assign: &[usize], cfg: &LayerwiseConfig) -> Result<Activations> {
    let signs: Vec<&CompositeSign> = assign.iter().map(|&k| &cands.signs[k]).collect();
    let acts = plan(model, &signs, &cfg.bounds, cfg.overflow, ReluShift::NONE)?;
    if cands.offsets.is_empty() {
        return Ok(acts);
    }
    let offsets: Vec<Vec<f64>> = assign
        .iter()
        .enumerate()
        .map(|(i, &k)| cands.offsets[k][i].clone())
        .collect();
    Ok(with_offsets(&acts, &offsets)?)
}

/// Evaluates given per-site assignments of α (by value) on other images: the check of a search result. The
/// composites and mean-leak offsets of the candidate α are built once, in [`AssignmentChecker::new`], so that
/// checking several assignments on several image sets costs one pass each and nothing more.
pub struct AssignmentChecker<'a> {
    model: &'a Model,
    norm: &'a Normalization,
    cfg: &'a LayerwiseConfig,
    cands: Candidates,
}

impl<'a> AssignmentChecker<'a> {
    /// Prepares the candidates `alphas` (every α an assignment may use); `leak_calib` as in [`layerwise_search`].
    pub fn new(
        model: &'a Model,
        norm: &'a Normalization,
        leak_calib: Option<&Dataset>,
        alphas: &[u32],
        cfg: &'a LayerwiseConfig,
        progress: &mut dyn Progress,
    ) -> Result<Self> {
        let mut distinct = alphas.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let cands = candidates(model, norm, leak_calib, &distinct, cfg, progress)?;
        Ok(AssignmentChecker {
            model,
            norm,
            cfg,
            cands,
        })
    }

    /// One pass of the assignment `alphas` (one α per ReLU site, each among the prepared candidates) over `data`.
    pub fn evaluate(&self, data: &Dataset, alphas: &[u32], progress: &mut dyn Progress) -> Result<Assignment> {
        check_site_count(self.model, alphas)?;
        let assign = alphas
            .iter()
            .map(|a| {
                self.cands.alphas.iter().position(|c| c == a).ok_or_else(|| {
                    Error::Invalid(format!(
                        "α = {a} is not among the prepared candidates {:?}",
                        self.cands.alphas
                    ))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        assess(
            self.model,
            data,
            self.norm,
            &self.cands,
            &assign,
            self.cfg,
            "assignment",
            progress,
        )
    }
}

/// An assignment checked on images the search did not see, and on all.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    /// On the images after the search images.
    pub held_out: Assignment,
    /// Exact accuracy there.
    pub held_out_exact: f64,
    /// On all images.
    pub all: Assignment,
    /// Exact accuracy there.
    pub all_exact: f64,
}

/// What [`layerwise_study`] needs besides the model and the images.
#[derive(Clone, Debug)]
pub struct StudyConfig {
    /// Candidate precisions α.
    pub alphas: Vec<u32>,
    /// Accepted accuracy loss against exact, in `[0, 1)`.
    pub tolerance: f64,
    /// Margin on the calibrated per-site bounds.
    pub margin: f64,
    /// The mean-leak correction at every site, measured on the calibration images.
    pub leak_correction: bool,
    /// Images per batch.
    pub batch: usize,
    /// The search runs on the first this many test images; the rest are held out.
    pub search_images: usize,
}

/// A layer-wise search and its check on held-out images.
#[derive(Clone, Debug, Serialize)]
pub struct Study {
    /// Images searched on.
    pub search_images: usize,
    /// Images held out.
    pub held_out_images: usize,
    /// The search.
    pub search: LayerwiseResult,
    /// The uniform assignment the search started from, checked.
    pub uniform_checked: Checked,
    /// The layer-wise assignment, checked.
    pub layerwise_checked: Checked,
}

/// Searches a layer-wise assignment on the first `cfg.search_images` of `test`, with per-site bounds calibrated on
/// `calib`, and checks it and the uniform one on the rest of `test` and on all of it (so that the reported accuracy
/// is not the one the search optimised).
pub fn layerwise_study(
    model: &Model,
    test: &Dataset,
    calib: &Dataset,
    norm: &Normalization,
    cfg: &StudyConfig,
    progress: &mut dyn Progress,
) -> Result<Study> {
    if cfg.search_images == 0 || test.n <= cfg.search_images {
        return Err(Error::Invalid(format!(
            "only {} test images: nothing left after {} search images",
            test.n, cfg.search_images
        )));
    }
    let search_set = reorder(test, &(0..cfg.search_images).collect::<Vec<_>>());
    let held_out = reorder(test, &(cfg.search_images..test.n).collect::<Vec<_>>());
    let bounds = calibrate(model, calib, norm, cfg.batch, cfg.margin, progress)?;
    let search_cfg = LayerwiseConfig {
        alphas: cfg.alphas.clone(),
        tolerance: cfg.tolerance,
        bounds,
        overflow: OverflowPolicy::Count,
        batch: cfg.batch,
    };
    let leak = cfg.leak_correction.then_some(calib);
    let search = layerwise_search(model, &search_set, norm, leak, &search_cfg, progress)?;
    let held_out_exact = run_exact(model, &held_out, norm, cfg.batch, progress)?.accuracy();
    let all_exact = run_exact(model, test, norm, cfg.batch, progress)?.accuracy();
    // Both assignments' α values, prepared once (composites and, with the correction, leak means).
    let used: Vec<u32> = search
        .uniform
        .alphas
        .iter()
        .chain(&search.layerwise.alphas)
        .copied()
        .collect();
    let checker = AssignmentChecker::new(model, norm, leak, &used, &search_cfg, progress)?;
    let mut check = |alphas: &[u32]| -> Result<Checked> {
        Ok(Checked {
            held_out: checker.evaluate(&held_out, alphas, progress)?,
            held_out_exact,
            all: checker.evaluate(test, alphas, progress)?,
            all_exact,
        })
    };
    let uniform_checked = check(&search.uniform.alphas)?;
    let layerwise_checked = check(&search.layerwise.alphas)?;
    Ok(Study {
        search_images: search_set.n,
        held_out_images: held_out.n,
        search,
        uniform_checked,
        layerwise_checked,
    })
}

/// Evaluates one per-site assignment of α (by value) on `data`; see [`AssignmentChecker`] for several.
pub fn evaluate_assignment(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    leak_calib: Option<&Dataset>,
    alphas: &[u32],
    cfg: &LayerwiseConfig,
    progress: &mut dyn Progress,
) -> Result<Assignment> {
    // Checked before the candidates are built: a wrong length should not cost the leak-mean passes first.
    check_site_count(model, alphas)?;
    AssignmentChecker::new(model, norm, leak_calib, alphas, cfg, progress)?.evaluate(data, alphas, progress)
}

/// An assignment must give one α per ReLU site.
fn check_site_count(model: &Model, alphas: &[u32]) -> Result<()> {
    let sites = model.relu_sites().len();
    if alphas.len() != sites {
        return Err(Error::Invalid(format!(
            "{} α values for {sites} ReLU sites",
            alphas.len()
        )));
    }
    Ok(())
}

/// One evaluation of an assignment (indices into the candidates) on `data`, with its depths.
#[allow(clippy::too_many_arguments)]
fn assess(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    cands: &Candidates,
    assign: &[usize],
    cfg: &LayerwiseConfig,
    label: &str,
    progress: &mut dyn Progress,
) -> Result<Assignment> {
    let acts = activations(model, cands, assign, cfg)?;
    let out = run(model, data, norm, &acts, cfg.batch, false, label, progress)?;
    let relu_depths: Vec<u32> = assign.iter().map(|&k| cands.signs[k].relu_depth()).collect();
    Ok(Assignment {
        alphas: assign.iter().map(|&k| cands.alphas[k]).collect(),
        // Max-pool sites use site 0's composite (see `plan`), so their depth is that composite's.
        network_depth: network_depth_per_site(model.architecture(), &relu_depths, relu_depths[0]),
        relu_depths,
        accuracy: out.accuracy(),
    })
}

fn candidates(
    model: &Model,
    norm: &Normalization,
    leak_calib: Option<&Dataset>,
    alphas: &[u32],
    cfg: &LayerwiseConfig,
    progress: &mut dyn Progress,
) -> Result<Candidates> {
    let mut tables = ErrorTables::default();
    let signs = alphas
        .iter()
        .map(|&a| Ok(cheapest_with_tables(a, &SearchConfig::default(), &mut tables)?))
        .collect::<Result<Vec<_>>>()?;
    let offsets = match leak_calib {
        None => Vec::new(),
        Some(calib) => {
            if calib.n == 0 {
                return Err(Error::Invalid(
                    "the mean-leak correction needs at least one calibration image".into(),
                ));
            }
            signs
                .iter()
                .map(|s| {
                    let acts = plan(model, &[s], &cfg.bounds, cfg.overflow, ReluShift::NONE)?;
                    leak_means(model, calib, norm, &acts, cfg.batch, progress)
                })
                .collect::<Result<Vec<_>>>()?
        }
    };
    Ok(Candidates {
        alphas: alphas.to_vec(),
        signs,
        offsets,
    })
}
