//! [`TrainConfig`]: everything that decides the weights a run produces.
//!
//! Two runs with equal configs (and the same data, libtorch build and thread count) produce
//! bit-identical weights, interrupted or not; that is why the config is stored in every
//! checkpoint and a resume refuses a config that differs (see [`TrainConfig::first_difference`]).
//! Paths to data and output and the test-set size only affect where things are read and what
//! is logged, so they are not part of it.

use std::path::PathBuf;
use std::str::FromStr;

use pann_nn::Architecture;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The data set of a run: `pann_data`'s one [`DatasetKind`], serialised under the names older
/// `config.json` files and checkpoints hold (`cifar10`, `cifar100`, `fashion-mnist`).
pub use pann_data::DatasetKind;

/// Learning-rate schedules (see [`crate::schedule`] for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// Constant, multiplied by `gamma` at each milestone epoch.
    Step,
    /// Cosine annealing from the peak to 0.
    Cosine,
    /// One-cycle: warm-up from `lr/25` to `lr` ([`WarmupShape`]), then cosine down to `lr/25e4`.
    OneCycle,
}

impl FromStr for ScheduleKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "step" => Ok(Self::Step),
            "cosine" => Ok(Self::Cosine),
            "onecycle" | "one-cycle" => Ok(Self::OneCycle),
            other => Err(Error::BadConfig(format!(
                "schedule {other:?}: expected step, cosine or onecycle"
            ))),
        }
    }
}

/// How the warm-up rises from `lr/25` to `lr` (see [`crate::schedule`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarmupShape {
    /// A straight line in the step.
    #[default]
    Linear,
    /// Half a cosine, flat at both ends: PyTorch's `OneCycleLR` with `anneal_strategy="cos"` warms up this way.
    /// Kept beside the linear shape so that the two trainers' one remaining schedule difference can be measured.
    Cosine,
}

impl FromStr for WarmupShape {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "linear" => Ok(Self::Linear),
            "cosine" | "cos" => Ok(Self::Cosine),
            other => Err(Error::BadConfig(format!(
                "warm-up shape {other:?}: expected linear or cosine"
            ))),
        }
    }
}

/// Which bounds the polynomial of `--pann-alpha` uses at each ReLU site in training (`--pann-range`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PannRange {
    /// `bound` at every site (what every run before `--pann-range` did).
    #[default]
    Fixed,
    /// Per-site calibrated bounds: the exact network's largest input on the calibration images × `range_margin`
    /// (`pann eval --range calibrate`).
    Calibrate,
    /// Lee's rule per site from the calibrated bounds, on the approximate network's inputs over the calibration
    /// images (`pann eval --range lee-layers`, [`pann_eval::range::lee_layers`]).
    LeeLayers,
}

impl FromStr for PannRange {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fixed" => Ok(Self::Fixed),
            "calibrate" => Ok(Self::Calibrate),
            "lee-layers" => Ok(Self::LeeLayers),
            other => Err(Error::BadConfig(format!(
                "--pann-range {other:?}: expected lee-layers, calibrate or a number (the bound at every site)"
            ))),
        }
    }
}

fn default_margin() -> f64 {
    1.1
}

fn default_layer_step() -> String {
    "x1.1".into()
}

fn default_calib_images() -> usize {
    5000
}

fn default_temperature() -> f64 {
    1.0
}

/// A training run's recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Architecture name as [`Architecture`] parses it (`resnet20`, `resnet56b`, `vgg16`).
    pub arch: String,
    /// Data set.
    pub dataset: DatasetKind,
    /// Train on the first N training images only (`None`: all).
    pub train_images: Option<usize>,
    /// Epochs.
    pub epochs: usize,
    /// Images per batch.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// SGD momentum `μ` (0 for plain SGD).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay added to the gradient (`g + wd·w`), as PyTorch's SGD does.
    pub wd: f64,
    /// Also decay BN weights and biases and all biases (default: only conv and linear weights).
    pub decay_bn_bias: bool,
    /// LR schedule.
    pub schedule: ScheduleKind,
    /// Epochs (counted from 0) after which the step schedule multiplies the LR by `gamma`;
    /// empty means 50% and 75% of the epochs.
    pub milestones: Vec<usize>,
    /// Factor of the step schedule.
    pub gamma: f64,
    /// Warm-up length in epochs (fractions allowed); `None`: 30% of the run for
    /// one-cycle, none otherwise.
    pub warmup_epochs: Option<f64>,
    /// Shape of the warm-up. Absent from older checkpoints, which read it as linear (all they had).
    #[serde(default)]
    pub warmup_shape: WarmupShape,
    /// Label smoothing `ε`: targets `(1 − ε)·onehot + ε/K`.
    pub label_smoothing: f64,
    /// Mixup `α`: mix each batch with a permutation of itself with weight `λ ~ Beta(α, α)`;
    /// 0 is off.
    pub mixup: f64,
    /// Mix only in the first N epochs, the rest train on unmixed images (`None`: every epoch). Mixup's
    /// soft targets keep a network as small as ResNet-20 below its capacity (train accuracy on mixed images ~80%)
    /// and its BatchNorm statistics are those of mixed images; unmixed final epochs, still inside the schedule's
    /// annealing, let it fit clean labels and statistics. Absent from older checkpoints, which read it as every
    /// epoch.
    #[serde(default)]
    pub mixup_epochs: Option<usize>,
    /// Random crop (4-pixel zero padding) and horizontal flip.
    pub augment: bool,
    /// Cutout (DeVries & Taylor, 2017): a square of this side, centred on a uniformly drawn pixel and clipped
    /// to the image, set to 0 after normalisation (the data mean) in every training image; 0 is off. Absent
    /// from older checkpoints, which read it as 0.
    #[serde(default)]
    pub cutout: usize,
    /// Seed of initialisation, data order, augmentation, mixup and noise.
    pub seed: u64,
    /// Input normalisation, as [`pann_data::Normalization`] parses it.
    pub norm: String,
    /// Train with the PANN ReLU of precision α in the forward pass.
    pub pann_alpha: Option<u32>,
    /// Input bound `B` of the PANN ReLU and of the noise scale.
    pub bound: f64,
    /// `σ` of `--neg-noise`: noise of std `σ·B·2^-α` where a ReLU input is negative; 0 is off.
    pub neg_noise: f64,
    /// α of the noise scale; `None`: `pann_alpha`.
    pub noise_alpha: Option<u32>,
    /// Start from these weights instead of a fresh initialisation.
    pub init: Option<PathBuf>,
    /// Also keep the weights of every epoch, as `model-eNNN.safetensors`, for weight averaging
    /// (`pann recalibrate-bn --model a,b,…`). Changes no weight. Absent from older checkpoints,
    /// which read it as off.
    #[serde(default)]
    pub snapshots: bool,
    /// Also keep the checkpoint after each of these epochs (from 1), as `checkpoint-eNNN.safetensors`, so that a
    /// variant that differs only after such an epoch can start there (`pann train --branch`, see
    /// [`crate::branch`]). Changes no weight. Absent from older checkpoints, which read it as none.
    #[serde(default)]
    pub keep_checkpoints: Vec<usize>,
    /// bfloat16 mixed precision ([`pann_nn::Model::set_bf16_training`]): convolutions and activations in bf16,
    /// parameters, optimiser state, BatchNorm statistics and the loss in `f32`. Faster on CPUs with AVX-512 BF16,
    /// a different computation from `f32` training. Not with `--pann-alpha`. Absent from older checkpoints,
    /// which read it as off.
    #[serde(default)]
    pub bf16: bool,
    /// Bounds of the polynomial per site (`--pann-range`). Absent from older checkpoints: `fixed`, `bound`
    /// everywhere.
    #[serde(default)]
    pub pann_range: PannRange,
    /// Margin of the calibrated bounds (`--range-margin`). Absent from older checkpoints: 1.1.
    #[serde(default = "default_margin")]
    pub range_margin: f64,
    /// Step of `lee-layers` (`--layer-step`, as `pann eval` takes it: `x1.1`, `+5`). Absent from older
    /// checkpoints: `x1.1`.
    #[serde(default = "default_layer_step")]
    pub layer_step: String,
    /// The first N training images, unaugmented, are the calibration images of the bounds and of the mean-leak
    /// correction (`--calib-images`), as `pann eval` uses them. Absent from older checkpoints: 5000.
    #[serde(default = "default_calib_images")]
    pub calib_images: usize,
    /// Re-fit the per-site bounds every K epochs (`--refit-bounds-every`), by the same rule on the weights as
    /// they are then; `None`: fitted once, before the first epoch. Absent from older checkpoints: none.
    #[serde(default)]
    pub refit_bounds_every: Option<usize>,
    /// Mean-leak correction inside the loop (`--pann-leak-correction`): per-site, per-channel offsets measured
    /// on the calibration images before every epoch and subtracted from the polynomial's output, as `pann eval
    /// --leak-correction` does. Absent from older checkpoints: off.
    #[serde(default)]
    pub pann_leak_correction: bool,
    /// Knowledge distillation from this network's logits (`--distill`): run with exact ReLU, BN in inference
    /// mode, no gradient. Absent from older checkpoints: none.
    #[serde(default)]
    pub distill: Option<PathBuf>,
    /// `W` of the loss `(1 − W)·CE + W·T²·KL(softmax(teacher/T) ‖ softmax(student/T))`. Absent from older
    /// checkpoints: 0.
    #[serde(default)]
    pub distill_weight: f64,
    /// `T` of the distillation loss. Absent from older checkpoints: 1.
    #[serde(default = "default_temperature")]
    pub temperature: f64,
}

/// The options that change no weight (serde names): a resume may change them, a branch need not
/// match them.
pub const OUTPUT_ONLY: [&str; 2] = ["snapshots", "keep_checkpoints"];

impl Default for TrainConfig {
    /// ResNet-20 on CIFAR-10, 30 epochs of batch 128, SGD lr 0.1 with Nesterov momentum 0.9,
    /// weight decay 5e-4 on conv/linear weights, one-cycle, augmentation on.
    fn default() -> Self {
        Self {
            arch: "resnet20".into(),
            dataset: DatasetKind::Cifar10,
            train_images: None,
            epochs: 30,
            batch: 128,
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            wd: 5e-4,
            decay_bn_bias: false,
            schedule: ScheduleKind::OneCycle,
            milestones: Vec::new(),
            gamma: 0.1,
            warmup_epochs: None,
            warmup_shape: WarmupShape::Linear,
            label_smoothing: 0.0,
            mixup: 0.0,
            mixup_epochs: None,
            augment: true,
            cutout: 0,
            seed: 0,
            norm: "imagenet".into(),
            pann_alpha: None,
            bound: 50.0,
            neg_noise: 0.0,
            noise_alpha: None,
            init: None,
            snapshots: false,
            keep_checkpoints: Vec::new(),
            bf16: false,
            pann_range: PannRange::Fixed,
            range_margin: default_margin(),
            layer_step: default_layer_step(),
            calib_images: default_calib_images(),
            refit_bounds_every: None,
            pann_leak_correction: false,
            distill: None,
            distill_weight: 0.0,
            temperature: default_temperature(),
        }
    }
}

impl TrainConfig {
    /// The architecture with the data set's number of classes.
    pub fn architecture(&self) -> Result<Architecture> {
        let arch: Architecture = self.arch.parse()?;
        Ok(arch.with_classes(self.num_classes()))
    }

    /// Classes of the data set.
    pub fn num_classes(&self) -> usize {
        self.dataset.num_classes()
    }

    /// Warm-up epochs after defaults.
    pub fn warmup(&self) -> f64 {
        self.warmup_epochs.unwrap_or(match self.schedule {
            ScheduleKind::OneCycle => 0.3 * self.epochs as f64,
            ScheduleKind::Step | ScheduleKind::Cosine => 0.0,
        })
    }

    /// The α that scales `--neg-noise`, if any.
    pub fn noise_alpha(&self) -> Option<u32> {
        self.noise_alpha.or(self.pann_alpha)
    }

    /// Standard deviation of the negative-input noise: `σ·B·2^-α`.
    pub fn noise_std(&self) -> f64 {
        match self.noise_alpha() {
            Some(a) if self.neg_noise > 0.0 => self.neg_noise * self.bound * (-(a as f64)).exp2(),
            _ => 0.0,
        }
    }

    /// Checks every option; the message names the option as the command line does.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::BadConfig(m));
        self.architecture()?;
        self.norm.parse::<pann_data::Normalization>()?;
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch < 2 {
            return bad(format!(
                "--batch {}: batch normalisation needs at least 2 images",
                self.batch
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr {}: expected a positive number", self.lr));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(format!("--momentum {}: expected 0 ≤ μ < 1", self.momentum));
        }
        if self.nesterov && self.momentum == 0.0 {
            return bad("--nesterov needs a momentum > 0".into());
        }
        if !(self.wd.is_finite() && self.wd >= 0.0) {
            return bad(format!("--wd {}: expected a number ≥ 0", self.wd));
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0) {
            return bad(format!("--gamma {}: expected a positive number", self.gamma));
        }
        if let Some(m) = self.milestones.iter().find(|&&m| m == 0 || m >= self.epochs) {
            return bad(format!("--milestones: epoch {m} is not inside 1..{}", self.epochs));
        }
        if !self.milestones.windows(2).all(|w| w[0] < w[1]) {
            return bad("--milestones must increase".into());
        }
        let w = self.warmup();
        if !(w.is_finite() && w >= 0.0 && w < self.epochs as f64) {
            return bad(format!(
                "--warmup-epochs {w}: expected 0 ≤ w < {} (the epochs)",
                self.epochs
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(format!(
                "--label-smoothing {}: expected 0 ≤ ε < 1",
                self.label_smoothing
            ));
        }
        if self.cutout > 32 {
            return bad(format!(
                "--cutout {}: expected 0 (off) or a square side of at most 32 pixels (the training images are 32×32)",
                self.cutout
            ));
        }
        if !(self.mixup.is_finite() && self.mixup >= 0.0) {
            return bad(format!("--mixup {}: expected α ≥ 0 (0 is off)", self.mixup));
        }
        if let Some(n) = self.mixup_epochs {
            if self.mixup == 0.0 {
                return bad(format!("--mixup-epochs {n} needs --mixup α > 0"));
            }
            if n == 0 || n > self.epochs {
                return bad(format!(
                    "--mixup-epochs {n}: expected 1 ≤ N ≤ {} (the epochs)",
                    self.epochs
                ));
            }
        }
        if !(self.bound.is_finite() && self.bound > 0.0) {
            return bad(format!("--bound {}: expected a positive number", self.bound));
        }
        for a in [self.pann_alpha, self.noise_alpha].into_iter().flatten() {
            pann_approx::sign::check_alpha(a as i64)?;
        }
        if !(self.neg_noise.is_finite() && self.neg_noise >= 0.0) {
            return bad(format!("--neg-noise {}: expected σ ≥ 0", self.neg_noise));
        }
        if self.neg_noise > 0.0 && self.noise_alpha().is_none() {
            return bad(
                "--neg-noise needs a precision for its scale B·2^-α: give --noise-alpha or --pann-alpha".into(),
            );
        }
        if self.train_images == Some(0) {
            return bad("--train-images must be at least 1".into());
        }
        if let Some(&e) = self.keep_checkpoints.iter().find(|&&e| e == 0 || e > self.epochs) {
            return bad(format!(
                "--keep-checkpoints {e}: epochs are counted from 1 to --epochs {}",
                self.epochs
            ));
        }
        let per_site = self.pann_range != PannRange::Fixed;
        if (per_site || self.pann_leak_correction || self.refit_bounds_every.is_some()) && self.pann_alpha.is_none() {
            return bad(
                "--pann-range, --pann-leak-correction and --refit-bounds-every are about the polynomial: give \
                 --pann-alpha"
                    .into(),
            );
        }
        if !(self.range_margin.is_finite() && self.range_margin >= 1.0) {
            return bad(format!("--range-margin {}: expected a number ≥ 1", self.range_margin));
        }
        if let Err(e) = self.layer_step.parse::<pann_eval::LayerStep>() {
            return bad(format!("--layer-step: {e}"));
        }
        if (per_site || self.pann_leak_correction) && self.calib_images == 0 {
            return bad("--calib-images must be at least 1 for per-site bounds or the leak correction".into());
        }
        if self.refit_bounds_every == Some(0) {
            return bad("--refit-bounds-every must be at least 1 (epochs)".into());
        }
        if self.refit_bounds_every.is_some() && !per_site {
            return bad("--refit-bounds-every needs per-site bounds: --pann-range lee-layers or calibrate".into());
        }
        if !(self.distill_weight.is_finite() && (0.0..=1.0).contains(&self.distill_weight)) {
            return bad(format!("--distill-weight {}: expected 0 ≤ W ≤ 1", self.distill_weight));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(format!(
                "--temperature {}: expected a positive number",
                self.temperature
            ));
        }
        if self.distill.is_none() && self.distill_weight > 0.0 {
            return bad(format!(
                "--distill-weight {} needs a teacher: --distill MODEL",
                self.distill_weight
            ));
        }
        if self.bf16 && self.pann_alpha.is_some() {
            return bad(
                "--bf16 with --pann-alpha: the polynomial ReLU needs more than bf16's 8 significant bits; \
                 train through it in f32"
                    .into(),
            );
        }
        Ok(())
    }

    /// The mixup α of epoch `epoch` (counted from 0): `mixup` within the first `mixup_epochs`, else 0.
    pub fn mixup_at(&self, epoch: usize) -> f64 {
        match self.mixup_epochs {
            Some(n) if epoch >= n => 0.0,
            _ => self.mixup,
        }
    }

    /// The first option (as `--flag`) in which `other` differs from `self`, with both values. A
    /// config that does not serialise (cannot happen for these fields) counts as different.
    pub fn first_difference(&self, other: &TrainConfig) -> Option<(String, String, String)> {
        self.first_difference_except(other, &[])
    }

    /// [`Self::first_difference`] over every option but the `ignored` fields (serde names).
    pub fn first_difference_except(&self, other: &TrainConfig, ignored: &[&str]) -> Option<(String, String, String)> {
        let objects = |c: &TrainConfig| serde_json::to_value(c).ok().and_then(|v| v.as_object().cloned());
        let (Some(a), Some(b)) = (objects(self), objects(other)) else {
            return Some(("the config".into(), "not serialisable".into(), "not comparable".into()));
        };
        a.iter()
            .filter(|(k, _)| !ignored.contains(&k.as_str()))
            .find_map(|(k, va)| {
                let vb = b.get(k).unwrap_or(&serde_json::Value::Null);
                (va != vb).then(|| (format!("--{}", k.replace('_', "-")), va.to_string(), vb.to_string()))
            })
    }
}
