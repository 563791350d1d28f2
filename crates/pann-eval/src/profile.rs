//! What a network's ReLUs see, measured on the *exact* network: the statistics that explain why one trained
//! network survives a low-precision PANN and another does not (issue 5's weight-decay analysis).
//!
//! A polynomial ReLU `x·(1 + p(x/B))/2` of precision α is accurate only where `|x| ≥ ε_α·B`; below that the
//! composite's relative error reaches 100% and negative inputs leak. So what matters is not the size of the
//! activations but their *shape relative to the bound*: how many inputs fall in the zone `|x| < ε_α·B`, and how
//! many of those are negative. With a per-site bound `B = margin·max|x|`, a site whose inputs are mostly tiny
//! next to its largest one (heavy tails) puts most of them in that zone. The logit margin (top-1 minus top-2
//! logit) says how much error the head can absorb before a prediction flips.
//!
//! The statistics come from one pass over the data with a [`SiteHook`]: per site a histogram of `|x|` whose bins
//! are read straight off the `f32` bit pattern (exponent and the top 4 mantissa bits: 1/16 of an octave, exact
//! bin edges, no logarithm per value), one for negative and one for positive inputs.

use crate::error::{Error, Result};
use crate::plan::Bounds;
use crate::range::calibrate;
use crate::run::Progress;
use pann_approx::search::{cheapest_with_tables, ErrorTables, SearchConfig};
use pann_data::{Dataset, Normalization};
use pann_nn::tensor::images_tensor;
use pann_nn::{Activations, ForwardCtx, Model, SiteHook};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// Mantissa bits kept per bin: 16 bins per octave.
const MANTISSA_BITS: u32 = 4;
/// Bins per sign: every finite non-negative `f32` has one (8 exponent bits, 4 mantissa bits).
const BINS: usize = 1 << (8 + MANTISSA_BITS);

/// The bin of `|v|`: its bit pattern without the sign, cut to exponent and top mantissa bits. Monotone in `|v|`.
fn bin_of(v: f32) -> usize {
    ((v.to_bits() & 0x7fff_ffff) >> (23 - MANTISSA_BITS)) as usize
}

/// The smallest `|v|` of bin `b` (bins are half-open: `[lower(b), lower(b + 1))`).
fn bin_lower(b: usize) -> f64 {
    f32::from_bits((b as u32) << (23 - MANTISSA_BITS)) as f64
}

/// Histogram of `|x|` over the inputs of one site, split by sign.
#[derive(Clone, Debug)]
pub struct AbsHistogram {
    /// Counts of negative inputs per bin of `|x|`.
    negative: Vec<u64>,
    /// Counts of non-negative inputs per bin of `|x|`.
    positive: Vec<u64>,
    /// NaN inputs (not binned).
    nan: u64,
    /// Largest `|x|`.
    max_abs: f64,
}

impl Default for AbsHistogram {
    fn default() -> Self {
        Self {
            negative: vec![0; BINS],
            positive: vec![0; BINS],
            nan: 0,
            max_abs: 0.0,
        }
    }
}

impl AbsHistogram {
    /// Adds the values of `v`.
    pub fn add(&mut self, v: &[f32]) {
        for &x in v {
            if x.is_nan() {
                self.nan += 1;
                continue;
            }
            let b = bin_of(x).min(BINS - 1);
            if x < 0.0 {
                self.negative[b] += 1;
            } else {
                self.positive[b] += 1;
            }
            self.max_abs = self.max_abs.max(x.abs() as f64);
        }
    }

    /// Values seen (NaN included).
    pub fn count(&self) -> u64 {
        self.negative.iter().sum::<u64>() + self.positive.iter().sum::<u64>() + self.nan
    }

    /// Negative values seen.
    pub fn negatives(&self) -> u64 {
        self.negative.iter().sum()
    }

    /// NaN values seen.
    pub fn nans(&self) -> u64 {
        self.nan
    }

    /// Largest `|x|`.
    pub fn max_abs(&self) -> f64 {
        self.max_abs
    }

    /// Values (of the given sign, or both) with `|x| < t`, the bin that holds `t` split linearly.
    pub fn below(&self, t: f64, sign: SignPart) -> f64 {
        let parts: &[&Vec<u64>] = match sign {
            SignPart::Negative => &[&self.negative],
            SignPart::Positive => &[&self.positive],
            SignPart::Both => &[&self.negative, &self.positive],
        };
        if t <= 0.0 {
            return 0.0;
        }
        let tb = bin_of(t.min(f32::MAX as f64) as f32).min(BINS - 1);
        let (lo, hi) = (bin_lower(tb), bin_lower(tb + 1));
        let frac = if hi > lo {
            ((t - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        parts
            .iter()
            .map(|h| h[..tb].iter().sum::<u64>() as f64 + frac * h[tb] as f64)
            .sum()
    }

    /// The `q`-quantile of `|x|` (both signs), to the bin's resolution: the lower edge of the bin where the
    /// cumulative count reaches `q` of all values, interpolated inside it.
    pub fn quantile_abs(&self, q: f64) -> f64 {
        let total: u64 = self.count() - self.nan;
        if total == 0 {
            return 0.0;
        }
        let target = q.clamp(0.0, 1.0) * total as f64;
        let mut acc = 0.0;
        for b in 0..BINS {
            let c = (self.negative[b] + self.positive[b]) as f64;
            if acc + c >= target && c > 0.0 {
                let (lo, hi) = (bin_lower(b), bin_lower(b + 1).min(self.max_abs.max(bin_lower(b))));
                return lo + (hi - lo) * ((target - acc) / c).clamp(0.0, 1.0);
            }
            acc += c;
        }
        self.max_abs
    }

    /// Merges another histogram.
    pub fn merge(&mut self, o: &AbsHistogram) {
        for (a, b) in self.negative.iter_mut().zip(&o.negative) {
            *a += b;
        }
        for (a, b) in self.positive.iter_mut().zip(&o.positive) {
            *a += b;
        }
        self.nan += o.nan;
        self.max_abs = self.max_abs.max(o.max_abs);
    }
}

/// Which inputs [`AbsHistogram::below`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignPart {
    /// `x < 0`.
    Negative,
    /// `x ≥ 0`.
    Positive,
    /// All.
    Both,
}

/// A [`SiteHook`] keeping one [`AbsHistogram`] per ReLU site.
#[derive(Clone, Debug, Default)]
pub struct HistogramHook {
    /// One per ReLU site, in site order.
    pub sites: Vec<AbsHistogram>,
}

impl SiteHook for HistogramHook {
    fn relu_input(&mut self, site: usize, _name: &str, x: &Tensor) -> pann_nn::Result<()> {
        if self.sites.len() <= site {
            self.sites.resize_with(site + 1, AbsHistogram::default);
        }
        let x = x.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?.f_contiguous()?;
        if x.numel() == 0 {
            return Ok(());
        }
        // SAFETY: `x` is a contiguous CPU f32 tensor of `numel` values, only read while the slice lives.
        let v = unsafe { std::slice::from_raw_parts(x.data_ptr() as *const f32, x.numel()) };
        self.sites[site].add(v);
        Ok(())
    }
}

/// The zone where a polynomial ReLU of precision α is poor, at one site: `|x| < ε_α·B`.
#[derive(Clone, Debug, Serialize)]
pub struct LeakZone {
    /// Precision α.
    pub alpha: u32,
    /// The composite's certified `ε_α`.
    pub epsilon: f64,
    /// Fraction of the site's inputs with `|x| < ε_α·B`.
    pub fraction: f64,
    /// Fraction of the site's inputs with `−ε_α·B < x < 0`: the ones that leak.
    pub negative_fraction: f64,
}

/// Statistics of one ReLU site.
#[derive(Clone, Debug, Serialize)]
pub struct SiteProfile {
    /// Site name.
    pub site: String,
    /// Inputs seen (NaN inputs included: every fraction below is over all of them).
    pub elements: u64,
    /// Fraction of negative inputs.
    pub negative_fraction: f64,
    /// Largest `|x|`.
    pub max_abs: f64,
    /// Median, 90th, 99th and 99.9th percentile of `|x|` (to 1/16 of an octave).
    pub abs_quantiles: [f64; 4],
    /// The bound the zones are measured against.
    #[serde(rename = "B")]
    pub bound: f64,
    /// Median `|x|` over `B`: how far typical inputs are from the bound.
    pub median_over_bound: f64,
    /// One entry per α asked for.
    pub leak_zones: Vec<LeakZone>,
}

/// Summary of the exact network's logits.
#[derive(Clone, Debug, Serialize)]
pub struct LogitMargins {
    /// Mean of top-1 minus top-2 logit.
    pub mean: f64,
    /// Median of it.
    pub median: f64,
    /// 10th percentile of it (the fragile images).
    pub p10: f64,
    /// Fraction of images whose margin is below 1.
    pub below_one: f64,
    /// Mean standard deviation of an image's logits (their scale).
    pub mean_logit_std: f64,
}

/// The profile of one model on one data set under one choice of bounds.
#[derive(Clone, Debug, Serialize)]
pub struct ModelProfile {
    /// Architecture.
    pub arch: String,
    /// Which bounds the leak zones are measured against (e.g. `calibrated`, `B=50`).
    pub bounds: String,
    /// Images.
    pub images: usize,
    /// Exact accuracy on them.
    pub accuracy: f64,
    /// Per ReLU site.
    pub sites: Vec<SiteProfile>,
    /// Over all sites (inputs pooled): fraction negative.
    pub negative_fraction: f64,
    /// Over all sites (inputs pooled), per α: fraction in the leak zone and fraction negative in it.
    pub leak_zones: Vec<LeakZone>,
    /// The logits.
    pub logit_margins: LogitMargins,
}

/// What one pass of the exact network saw: per-site histograms of the ReLU inputs and the logit margins.
#[derive(Clone, Debug)]
pub struct Observed {
    /// ReLU site names.
    pub sites: Vec<String>,
    /// Architecture.
    pub arch: String,
    /// One histogram per ReLU site.
    pub histograms: Vec<AbsHistogram>,
    /// The logits.
    pub logit_margins: LogitMargins,
    /// Exact accuracy.
    pub accuracy: f64,
    /// Images.
    pub images: usize,
}

/// One pass of the exact `model` over `data`: histograms of every ReLU site's inputs and the logit margins.
pub fn observe(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    batch: usize,
    progress: &mut dyn Progress,
) -> Result<Observed> {
    if batch == 0 {
        return Err(Error::Invalid("batch size 0".into()));
    }
    if data.n == 0 {
        return Err(Error::Invalid("the profile needs at least one image".into()));
    }
    let sites = model.relu_sites().to_vec();
    let mut hook = HistogramHook::default();
    let mut margins = Vec::with_capacity(data.n);
    let mut stds = Vec::with_capacity(data.n);
    let mut correct = 0usize;
    let exact = Activations::exact_for(model);
    {
        let mut ctx = ForwardCtx::new(model, &exact)?.with_hook(&mut hook);
        progress.begin("profile", data.n as u64);
        tch::no_grad(|| -> Result<()> {
            for lo in (0..data.n).step_by(batch) {
                let range = lo..(lo + batch).min(data.n);
                let xs = images_tensor(data, range.clone(), norm)?;
                let logits = model.forward(&xs, &mut ctx)?.f_to_kind(Kind::Double)?;
                let k = logits.size()[1] as usize;
                let flat = Vec::<f64>::try_from(logits.f_flatten(0, -1)?)?;
                for (row, &label) in flat.chunks(k).zip(&data.labels[range.clone()]) {
                    let (top, second) = top_two(row);
                    margins.push(row[top] - row[second]);
                    if top == label as usize {
                        correct += 1;
                    }
                    let mean = row.iter().sum::<f64>() / row.len() as f64;
                    stds.push((row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / row.len() as f64).sqrt());
                }
                progress.advance(range.len() as u64);
            }
            Ok(())
        })?;
        progress.end();
    }
    hook.sites.resize_with(sites.len(), AbsHistogram::default);
    Ok(Observed {
        sites,
        arch: model.architecture().to_string(),
        histograms: hook.sites,
        logit_margins: logit_summary(&mut margins, &stds),
        accuracy: correct as f64 / data.n as f64,
        images: data.n,
    })
}

/// The certified `ε_α` of the cheapest composite of each α: the polynomial ReLU of precision α is poor on
/// `|x| < ε_α·B`.
pub fn epsilons(alphas: &[u32]) -> Result<Vec<(u32, f64)>> {
    let mut tables = ErrorTables::default();
    alphas
        .iter()
        .map(|&alpha| {
            let sign = cheapest_with_tables(alpha, &SearchConfig::default(), &mut tables)?;
            Ok((alpha, sign.certificate().epsilon))
        })
        .collect()
}

/// The bounds [`profile_model`] measures the leak zones against.
#[derive(Clone, Copy, Debug)]
pub struct ProfileConfig<'a> {
    /// Margin on the calibrated per-site bounds.
    pub margin: f64,
    /// The global bound measured besides them (Lee et al.'s smallest `B`).
    pub global_bound: f64,
    /// `(α, ε_α)` of every α measured ([`epsilons`]).
    pub epsilons: &'a [(u32, f64)],
    /// Images per batch.
    pub batch: usize,
}

/// `model` observed once on `test` and summarised twice: under per-site bounds calibrated on `calib` (labelled
/// `calibrated`) and under the global bound (labelled `B=<bound>`).
pub fn profile_model(
    model: &Model,
    test: &Dataset,
    calib: &Dataset,
    norm: &Normalization,
    cfg: &ProfileConfig<'_>,
    progress: &mut dyn Progress,
) -> Result<[ModelProfile; 2]> {
    let calibrated = calibrate(model, calib, norm, cfg.batch, cfg.margin, progress)?;
    let obs = observe(model, test, norm, cfg.batch, progress)?;
    Ok([
        summarize(&obs, &calibrated, "calibrated", cfg.epsilons)?,
        summarize(
            &obs,
            &Bounds::Global(cfg.global_bound),
            &format!("B={}", cfg.global_bound),
            cfg.epsilons,
        )?,
    ])
}

/// The leak zones `|x| < ε_α·B_i` of what was observed, for each `(α, ε_α)` of `epsilons`, under `bounds` (per
/// site or global), labelled `label`.
pub fn summarize(obs: &Observed, bounds: &Bounds, label: &str, epsilons: &[(u32, f64)]) -> Result<ModelProfile> {
    let all: Vec<f64> = match bounds {
        Bounds::Global(b) => vec![*b],
        Bounds::PerSite { relu, .. } => relu.clone(),
    };
    if let Some(b) = all.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
        return Err(Error::Invalid(format!("bound {b} is not a positive finite number")));
    }
    if let Bounds::PerSite { relu, .. } = bounds {
        if relu.len() != obs.sites.len() {
            return Err(Error::Invalid(format!(
                "{} per-site bounds for {} ReLU sites",
                relu.len(),
                obs.sites.len()
            )));
        }
    }
    let bound_at = |i: usize| match bounds {
        Bounds::Global(b) => *b,
        Bounds::PerSite { relu, .. } => relu[i],
    };
    let zones = |h: &AbsHistogram, b: f64| -> Vec<LeakZone> {
        let n = (h.count() as f64).max(1.0);
        epsilons
            .iter()
            .map(|&(alpha, eps)| LeakZone {
                alpha,
                epsilon: eps,
                fraction: h.below(eps * b, SignPart::Both) / n,
                negative_fraction: h.below(eps * b, SignPart::Negative) / n,
            })
            .collect()
    };
    let site_profiles: Vec<SiteProfile> = obs
        .sites
        .iter()
        .zip(&obs.histograms)
        .enumerate()
        .map(|(i, (name, h))| {
            let n = (h.count() as f64).max(1.0);
            let b = bound_at(i);
            SiteProfile {
                site: name.clone(),
                elements: h.count(),
                negative_fraction: h.negatives() as f64 / n,
                max_abs: h.max_abs(),
                abs_quantiles: [0.5, 0.9, 0.99, 0.999].map(|q| h.quantile_abs(q)),
                bound: b,
                median_over_bound: h.quantile_abs(0.5) / b,
                leak_zones: zones(h, b),
            }
        })
        .collect();
    let total: f64 = site_profiles.iter().map(|s| s.elements as f64).sum::<f64>().max(1.0);
    let pooled =
        |f: &dyn Fn(&SiteProfile) -> f64| site_profiles.iter().map(|s| f(s) * s.elements as f64).sum::<f64>() / total;
    let leak_zones = epsilons
        .iter()
        .enumerate()
        .map(|(j, &(alpha, eps))| LeakZone {
            alpha,
            epsilon: eps,
            fraction: pooled(&|s| s.leak_zones[j].fraction),
            negative_fraction: pooled(&|s| s.leak_zones[j].negative_fraction),
        })
        .collect();
    Ok(ModelProfile {
        arch: obs.arch.clone(),
        bounds: label.to_string(),
        images: obs.images,
        accuracy: obs.accuracy,
        negative_fraction: pooled(&|s| s.negative_fraction),
        sites: site_profiles,
        leak_zones,
        logit_margins: obs.logit_margins.clone(),
    })
}

/// Indices of the largest and second-largest entries (a single entry is its own runner-up).
fn top_two(row: &[f64]) -> (usize, usize) {
    let mut top = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[top] {
            top = i;
        }
    }
    let mut second = if top == 0 && row.len() > 1 { 1 } else { 0 };
    for (i, v) in row.iter().enumerate() {
        if i != top && *v > row[second] {
            second = i;
        }
    }
    (top, second)
}

fn logit_summary(margins: &mut [f64], stds: &[f64]) -> LogitMargins {
    margins.sort_by(f64::total_cmp);
    let n = margins.len().max(1) as f64;
    let at = |q: f64| {
        margins
            .get(((q * (margins.len() as f64 - 1.0)).round()) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    LogitMargins {
        mean: margins.iter().sum::<f64>() / n,
        median: at(0.5),
        p10: at(0.1),
        below_one: margins.iter().filter(|&&m| m < 1.0).count() as f64 / n,
        mean_logit_std: stds.iter().sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_monotone_and_cover_their_values() {
        let mut prev = 0;
        for &v in &[0.0f32, 1e-30, 1e-8, 0.001, 0.4, 1.0, 1.06, 1.07, 3.0, 1e10] {
            let b = bin_of(v);
            assert!(b >= prev, "{v}");
            prev = b;
            assert!(
                bin_lower(b) <= v as f64 && (v as f64) < bin_lower(b + 1),
                "{v} in [{}, {})",
                bin_lower(b),
                bin_lower(b + 1)
            );
            assert_eq!(bin_of(-v), b);
        }
        // 16 bins per octave.
        assert_eq!(bin_of(2.0) - bin_of(1.0), 16);
    }

    #[test]
    fn counts_below_a_threshold_and_quantiles_match_a_direct_count() {
        let v: Vec<f32> = (0..10_000).map(|i| ((i as f32) - 3000.0) / 997.0).collect();
        let mut h = AbsHistogram::default();
        h.add(&v[..5000]);
        let mut h2 = AbsHistogram::default();
        h2.add(&v[5000..]);
        h.merge(&h2);
        h.add(&[f32::NAN]);
        assert_eq!(h.count(), 10_001);
        assert_eq!(h.nans(), 1);
        assert_eq!(h.negatives(), v.iter().filter(|&&x| x < 0.0).count() as u64);
        for t in [0.01, 0.3, 1.0, 2.5, 6.0] {
            let neg = v.iter().filter(|&&x| x < 0.0 && (x.abs() as f64) < t).count() as f64;
            let all = v.iter().filter(|&&x| (x.abs() as f64) < t).count() as f64;
            // A bin spans 1/16 octave: linear splitting is within one bin's count of the truth.
            assert!(
                (h.below(t, SignPart::Negative) - neg).abs() <= 0.07 * neg.max(16.0),
                "t={t}"
            );
            assert!(
                (h.below(t, SignPart::Both) - all).abs() <= 0.07 * all.max(16.0),
                "t={t}"
            );
        }
        let mut abs: Vec<f64> = v.iter().map(|x| x.abs() as f64).collect();
        abs.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.99] {
            let direct = abs[(q * (abs.len() - 1) as f64) as usize];
            let est = h.quantile_abs(q);
            assert!((est / direct - 1.0).abs() < 0.07, "q={q}: {est} vs {direct}");
        }
        assert!((h.max_abs() - 6999.0 / 997.0).abs() < 1e-5);
    }

    #[test]
    fn top_two_and_margins() {
        assert_eq!(top_two(&[0.1, 3.0, 2.0, -1.0]), (1, 2));
        assert_eq!(top_two(&[5.0, 1.0]), (0, 1));
        let mut m = vec![3.0, 0.5, 2.0, 0.1];
        let s = logit_summary(&mut m, &[1.0, 1.0, 2.0, 2.0]);
        assert!((s.mean - 1.4).abs() < 1e-12);
        assert_eq!(s.below_one, 0.5);
        assert!((s.mean_logit_std - 1.5).abs() < 1e-12);
    }
}
