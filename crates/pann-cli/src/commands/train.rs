//! `pann train`: train a CIFAR ResNet/VGG with a PANN-friendly recipe, resumably; `--bench` times
//! the training step against PyTorch's own loop.
//!
//! Every recipe flag is optional here and its default lives in [`TrainConfig::default`], so a
//! resume can tell the flags the user typed from the defaults: `--resume DIR` alone continues
//! with the stored recipe, and any recipe flag given with it must match the stored value.

use crate::commands::card::{self, DataChoice, DataFlags};
use crate::commands::reference::{ReferenceFlags, TrainingBench, TrainingTiming};
use anyhow::{bail, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pann_data::{DatasetKind, Split};
use pann_train::{
    BatchProgress, EpochRecord, Observer, RunOptions, ScheduleKind, Throughput, TrainConfig, Trainer, WarmupShape,
};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `pann train`. Recipe defaults are those of a fresh run; see `--help`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Run directory to create (checkpoint, model.safetensors, config.json, log.csv, log.json).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Start the new run --out from this checkpoint of another run (a checkpoint-eNNN.safetensors kept by
    /// --keep-checkpoints, or a run directory for its latest checkpoint), with that run's recipe changed by the
    /// flags given here.
    /// Refused unless the changed recipe would have trained the checkpoint's epochs exactly as they were trained:
    /// only the schedule after them and --mixup-epochs may change.
    #[arg(long, conflicts_with = "resume")]
    branch: Option<PathBuf>,
    /// Data directory [default: the bundled CIFAR-10, under $PANN_SHARED or ../shared].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Evaluate on the first N test images only [default: all].
    #[arg(long)]
    test_images: Option<usize>,
    /// libtorch threads [default: libtorch's choice, one per core].
    #[arg(long)]
    threads: Option<i32>,
    /// No progress bar and no per-epoch lines.
    #[arg(long)]
    quiet: bool,

    /// Architecture: resnet20/32/44/56/110 (option A), resnetNb (option B), vgg11/13/16/19 [default: resnet20].
    #[arg(long)]
    arch: Option<String>,
    /// Data set layout [default: the --init model's card, else cifar10].
    #[arg(long, value_enum)]
    dataset: Option<DatasetKind>,
    /// Train on the first N training images only [default: all].
    #[arg(long)]
    train_images: Option<usize>,
    /// Epochs [default: 30].
    #[arg(long)]
    epochs: Option<usize>,
    /// Images per batch [default: 128].
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate [default: 0.1].
    #[arg(long)]
    lr: Option<f64>,
    /// SGD momentum [default: 0.9].
    #[arg(long)]
    momentum: Option<f64>,
    /// Classical momentum instead of Nesterov's.
    #[arg(long)]
    no_nesterov: bool,
    /// Weight decay on conv/linear weights; 0 allowed [default: 5e-4].
    #[arg(long)]
    wd: Option<f64>,
    /// Also decay BN weights/biases and linear biases [default: not].
    #[arg(long)]
    decay_bn_bias: bool,
    /// LR schedule: step, cosine or onecycle [default: onecycle].
    #[arg(long)]
    schedule: Option<String>,
    /// Step schedule: epochs after which the LR is multiplied by --gamma, e.g. 15,22 [default: 50%,75%].
    #[arg(long, value_delimiter = ',')]
    milestones: Option<Vec<usize>>,
    /// Step schedule factor [default: 0.1].
    #[arg(long)]
    gamma: Option<f64>,
    /// Warm-up from lr/25, in epochs [default: 30% of the run for onecycle, 0 otherwise].
    #[arg(long)]
    warmup_epochs: Option<f64>,
    /// Warm-up shape: linear, or cosine as PyTorch's OneCycleLR [default: linear].
    #[arg(long)]
    warmup_shape: Option<String>,
    /// Label smoothing ε [default: 0].
    #[arg(long)]
    label_smoothing: Option<f64>,
    /// Mixup α: inputs and targets mixed with λ ~ Beta(α, α); 0 is off [default: 0].
    #[arg(long)]
    mixup: Option<f64>,
    /// Mixup only in the first N epochs; the last ones train on unmixed images [default: every epoch].
    #[arg(long)]
    mixup_epochs: Option<usize>,
    /// No random crop / horizontal flip.
    #[arg(long)]
    no_augment: bool,
    /// Cutout: blank a random N×N square of every training image (DeVries & Taylor); 0 is off [default: 0].
    #[arg(long)]
    cutout: Option<usize>,
    /// Seed of initialisation, data order, augmentation, mixup and noise [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Input normalisation: imagenet, cifar, none or MEAN,…/STD,… [default: the --init model's card, else
    /// imagenet, as pann eval].
    #[arg(long)]
    norm: Option<String>,
    /// Train through the PANN ReLU x·(1+p(x/B))/2 of precision α (gradients through the polynomial).
    #[arg(long)]
    pann_alpha: Option<u32>,
    /// B of the PANN ReLU and of the noise scale [default: 50].
    #[arg(long)]
    bound: Option<f64>,
    /// Bounds of --pann-alpha's polynomial per ReLU site: lee-layers (Lee's rule per layer on the approximate
    /// network over the calibration images, as pann eval --range lee-layers), calibrate (the exact network's
    /// largest input × --range-margin), or a number (that bound everywhere, as --bound) [default: --bound].
    #[arg(long)]
    pann_range: Option<String>,
    /// Margin of calibrated bounds, the start of lee-layers [default: 1.1].
    #[arg(long)]
    range_margin: Option<f64>,
    /// Step of lee-layers: xF (F > 1) or +A [default: x1.1].
    #[arg(long, allow_hyphen_values = true)]
    layer_step: Option<String>,
    /// The first N training images (unaugmented) fit the per-site bounds and the correction [default: 5000].
    #[arg(long)]
    calib_images: Option<usize>,
    /// Re-fit the per-site bounds every K epochs by the same rule [default: once, before the first epoch].
    #[arg(long)]
    refit_bounds_every: Option<usize>,
    /// Mean-leak correction inside the loop: per-site, per-channel offsets re-measured on the calibration
    /// images before every epoch and subtracted from the polynomial's output.
    #[arg(long)]
    pann_leak_correction: bool,
    /// Distil from this model's logits (exact ReLU, no gradient): loss (1−W)·CE + W·T²·KL(teacher/T ‖
    /// student/T).
    #[arg(long)]
    distill: Option<PathBuf>,
    /// W of --distill [default: 0].
    #[arg(long)]
    distill_weight: Option<f64>,
    /// T of --distill [default: 1].
    #[arg(long)]
    temperature: Option<f64>,
    /// After every epoch, also the test accuracy as pann eval --range lee-layers gives it at --pann-alpha
    /// (log column test_acc_lee_layers). Changes no weight.
    #[arg(long)]
    eval_lee_layers: bool,
    /// σ: add N(0, (σ·B·2^-α)²) noise to ReLU outputs where the input is negative (training only).
    #[arg(long)]
    neg_noise: Option<f64>,
    /// α of the --neg-noise scale [default: --pann-alpha].
    #[arg(long)]
    noise_alpha: Option<u32>,
    /// Start from these weights (safetensors) instead of a fresh initialisation; their model card, if any,
    /// gives the defaults of --arch, --dataset and --norm.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Fine-tune an --init model on another data set or input shape than its card names (with a warning).
    #[arg(long)]
    force_mismatch: bool,
    /// Keep every epoch's weights as model-eNNN.safetensors (for weight averaging with
    /// `pann recalibrate-bn --model a,b,…`).
    #[arg(long)]
    snapshots: bool,
    /// Also keep the checkpoint after these epochs as checkpoint-eNNN.safetensors, e.g. 60,120, to --branch
    /// variants from later; on --resume, adds to the epochs kept so far.
    #[arg(long, value_delimiter = ',')]
    keep_checkpoints: Option<Vec<usize>>,
    /// bfloat16 mixed precision, as PyTorch's CPU autocast: convolutions and activations in bf16, weights,
    /// BatchNorm statistics and loss in f32. Faster where the CPU has AVX-512 BF16 (`--bench --bf16`); not with
    /// --pann-alpha.
    #[arg(long)]
    bf16: bool,

    /// Time training throughput (ResNet-20, batch 128, augmentation) against PyTorch; trains nothing.
    #[arg(long)]
    bench: bool,
    /// Timed steps of --bench.
    #[arg(long, default_value_t = 40)]
    bench_steps: usize,
    /// Untimed warm-up steps of --bench.
    #[arg(long, default_value_t = 5)]
    bench_warmup: usize,
    /// --bench alternates pann and PyTorch this many times and keeps each side's best round, so a
    /// transient load on the machine does not decide the ratio.
    #[arg(long, default_value_t = 2)]
    bench_rounds: usize,
    #[command(flatten)]
    reference: ReferenceFlags,
}

impl TrainArgs {
    /// `base` with every recipe flag the user gave applied.
    fn apply(&self, base: TrainConfig) -> Result<TrainConfig> {
        let mut c = base;
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.$field = v.clone(); } )* };
        }
        set!(
            arch,
            epochs,
            batch,
            lr,
            momentum,
            wd,
            gamma,
            label_smoothing,
            mixup,
            cutout,
            seed,
            norm,
            bound
        );
        set!(milestones, keep_checkpoints);
        if let Some(v) = self.neg_noise {
            c.neg_noise = v;
        }
        if let Some(d) = self.dataset {
            c.dataset = d;
        }
        if let Some(s) = &self.schedule {
            c.schedule = s.parse::<ScheduleKind>()?;
        }
        if self.train_images.is_some() {
            c.train_images = self.train_images;
        }
        if self.mixup_epochs.is_some() {
            c.mixup_epochs = self.mixup_epochs;
        }
        if self.warmup_epochs.is_some() {
            c.warmup_epochs = self.warmup_epochs;
        }
        if let Some(s) = &self.warmup_shape {
            c.warmup_shape = s.parse::<WarmupShape>()?;
        }
        if self.pann_alpha.is_some() {
            c.pann_alpha = self.pann_alpha;
        }
        if self.noise_alpha.is_some() {
            c.noise_alpha = self.noise_alpha;
        }
        if self.init.is_some() {
            c.init = self.init.clone();
        }
        if self.no_nesterov {
            c.nesterov = false;
        }
        if self.decay_bn_bias {
            c.decay_bn_bias = true;
        }
        if self.no_augment {
            c.augment = false;
        }
        if self.snapshots {
            c.snapshots = true;
        }
        if self.bf16 {
            c.bf16 = true;
        }
        if let Some(r) = &self.pann_range {
            match r.parse::<f64>() {
                Ok(b) => {
                    c.pann_range = pann_train::PannRange::Fixed;
                    c.bound = b;
                }
                Err(_) => c.pann_range = r.parse()?,
            }
        }
        set!(range_margin, layer_step, calib_images, distill_weight, temperature);
        if self.refit_bounds_every.is_some() {
            c.refit_bounds_every = self.refit_bounds_every;
        }
        if self.pann_leak_correction {
            c.pann_leak_correction = true;
        }
        if self.distill.is_some() {
            c.distill = self.distill.clone();
        }
        c.validate()?;
        Ok(c)
    }
}

/// Progress bar per epoch (only on a terminal) and one line per epoch.
struct Printer {
    quiet: bool,
    terminal: bool,
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl Observer for Printer {
    fn epoch_begin(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.epochs = epochs;
        if self.quiet || !self.terminal {
            return;
        }
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }
    fn batch_end(&mut self, p: &BatchProgress) {
        if let Some(b) = &self.bar {
            b.set_position(p.batch as u64);
            b.set_message(format!(
                "loss {:.4} acc {:.2}% {:.0} img/s",
                p.loss,
                100.0 * p.acc,
                p.images_per_sec
            ));
        }
    }
    fn testing(&mut self) {
        if let Some(b) = &self.bar {
            b.set_message("testing…");
        }
    }
    fn epoch_end(&mut self, r: &EpochRecord) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if self.quiet {
            return;
        }
        let mut pann = r
            .test_acc_pann
            .map(|a| format!(" pann {:.2}%", 100.0 * a))
            .unwrap_or_default();
        if let (Some(a), Some(b)) = (r.test_acc_lee_layers, r.test_lee_layers_bound_max) {
            pann += &format!(" lee-layers {:.2}% (B ≤ {b:.1})", 100.0 * a);
        }
        println!(
            "epoch {:>3}/{} loss {:.4} train {:.2}% test {:.2}%{pann} lr {:.4} {:.1}+{:.1} s {:.0} img/s",
            r.epoch,
            self.epochs,
            r.train_loss,
            100.0 * r.train_acc,
            100.0 * r.test_acc,
            r.lr,
            r.train_seconds,
            r.test_seconds,
            r.images_per_sec
        );
    }
}

/// Runs `pann train`.
pub fn run(args: TrainArgs) -> Result<()> {
    // Keeps libtorch's activation buffers in the heap between steps (about +25% images/s here).
    pann_train::memory::tune_allocator();
    if let Some(t) = args.threads {
        if t < 1 {
            bail!("--threads {t}: expected at least 1");
        }
        tch::set_num_threads(t);
    }
    // The data set is known once the recipe is: `--data`, else the data set's bundled copy.
    let data_dir = |kind: DatasetKind| -> Result<PathBuf> {
        match &args.data {
            Some(d) => Ok(d.clone()),
            None => Ok(kind.default_dir()?),
        }
    };
    if args.bench {
        return bench(&args, data_dir);
    }
    let test_images = args.test_images;
    if let (Some(from), None) = (&args.branch, &args.out) {
        bail!("--branch {}: give the new run's directory with --out", from.display());
    }
    let mut trainer = match (&args.out, &args.resume) {
        (Some(out), None) if args.branch.is_some() => {
            let given = args.branch.as_deref().expect("checked by the guard");
            // A run directory stands for its latest checkpoint.
            let from = if given.is_dir() {
                given.join(pann_train::checkpoint::CHECKPOINT_FILE)
            } else {
                given.to_path_buf()
            };
            let from = from.as_path();
            let stored = pann_train::checkpoint::load(from)?;
            // The parent's kept epochs are its own; the branch keeps what its flags ask for.
            let cfg = args.apply(TrainConfig {
                keep_checkpoints: Vec::new(),
                ..stored.state.config.clone()
            })?;
            drop(stored);
            let opts = RunOptions {
                dir: out.clone(),
                data_dir: data_dir(cfg.dataset)?,
                test_images,
                eval_batch: 500,
                eval_lee_layers: args.eval_lee_layers,
            };
            Trainer::branch(from, cfg, opts)?
        }
        (Some(out), None) => {
            let init_card = args.init.as_deref().map(card::read_card).transpose()?.flatten();
            // A fine-tune starts from what its --init model was trained on, unless the flags say otherwise.
            let base = match &init_card {
                Some(c) => TrainConfig {
                    arch: c.architecture.to_string(),
                    dataset: c.dataset,
                    norm: c.normalization.clone(),
                    ..TrainConfig::default()
                },
                None => TrainConfig::default(),
            };
            let cfg = args.apply(base)?;
            let data_dir = data_dir(cfg.dataset)?;
            if let Some(init) = &cfg.init {
                let flags = DataFlags {
                    data: args.data.clone(),
                    dataset: args.dataset,
                    norm: args.norm.clone(),
                    force_mismatch: args.force_mismatch,
                };
                let choice = DataChoice {
                    kind: cfg.dataset,
                    dir: data_dir.clone(),
                    norm: cfg.norm.parse()?,
                    norm_spec: cfg.norm.clone(),
                };
                card::check_card(&flags, init, init_card.as_ref(), &choice)?;
            }
            let opts = RunOptions {
                dir: out.clone(),
                data_dir,
                test_images,
                eval_batch: 500,
                eval_lee_layers: args.eval_lee_layers,
            };
            Trainer::new(cfg, opts)?
        }
        (None, Some(dir)) => {
            let stored = pann_train::checkpoint::load(&dir.join(pann_train::checkpoint::CHECKPOINT_FILE))?;
            let requested = args.apply(stored.state.config.clone())?;
            drop(stored);
            let opts = RunOptions {
                dir: dir.clone(),
                data_dir: data_dir(requested.dataset)?,
                test_images,
                eval_batch: 500,
                eval_lee_layers: args.eval_lee_layers,
            };
            Trainer::resume(opts, Some(&requested))?
        }
        _ => bail!("give --out DIR for a new run or --resume DIR to continue one (or --bench)"),
    };
    let cfg = trainer.config().clone();
    if !args.quiet {
        println!(
            "{} on {} ({} epochs, batch {}, lr {}, wd {}, {:?}, mixup {}, pann α {:?} range {:?}, noise σ {}, distill \
             {:?} W {}), from epoch {}",
            cfg.arch,
            cfg.dataset,
            cfg.epochs,
            cfg.batch,
            cfg.lr,
            cfg.wd,
            cfg.schedule,
            cfg.mixup,
            cfg.pann_alpha,
            cfg.pann_range,
            cfg.neg_noise,
            cfg.distill,
            cfg.distill_weight,
            trainer.epochs_done() + 1
        );
    }
    let mut printer = Printer {
        quiet: args.quiet,
        terminal: std::io::stderr().is_terminal(),
        bar: None,
        epochs: cfg.epochs,
    };
    trainer.run(&mut printer)?;
    if !args.quiet {
        let peak = pann_train::memory::peak_rss_mib()
            .map(|m| format!("{m:.0} MiB"))
            .unwrap_or("?".into());
        println!("model: {} (peak memory {peak})", trainer.model_path().display());
    }
    Ok(())
}

/// `pann train --bench`: pann's training throughput, then PyTorch's on the same model, batch
/// and augmentation, and the ratio.
fn bench(args: &TrainArgs, data_dir: impl Fn(DatasetKind) -> Result<PathBuf>) -> Result<()> {
    let cfg = TrainConfig {
        arch: args.arch.clone().unwrap_or_else(|| "resnet20".into()),
        batch: args.batch.unwrap_or(128),
        ..TrainConfig::default()
    };
    let cfg = args.apply(cfg)?;
    if args.bench_rounds == 0 || args.bench_steps == 0 {
        bail!("--bench-rounds and --bench-steps must be at least 1");
    }
    let images = (args.bench_warmup + args.bench_steps) * cfg.batch;
    let data_dir = &data_dir(cfg.dataset)?;
    let python = args.reference.python()?;
    let comparable =
        cfg.arch == "resnet20" && cfg.dataset == DatasetKind::Cifar10 && cfg.pann_alpha.is_none() && cfg.mixup == 0.0;
    // PyTorch's loop as it is usually written (NCHW) and with the input in channels-last memory, as pann trains.
    let layouts = [false, true];
    let mut ours: Option<Throughput> = None;
    let mut theirs: [Option<TrainingTiming>; 2] = [None, None];
    for _ in 0..args.bench_rounds {
        let data = pann_data::load(cfg.dataset, data_dir, Split::Train, Some(images))?;
        let t = pann_train::measure(&cfg, data, args.bench_warmup, args.bench_steps)?;
        if ours.as_ref().is_none_or(|o| t.images_per_sec > o.images_per_sec) {
            ours = Some(t);
        }
        if let (true, Some(python)) = (comparable, &python) {
            for (best, &channels_last) in theirs.iter_mut().zip(&layouts) {
                let bench = TrainingBench {
                    data_dir,
                    batch: cfg.batch,
                    steps: args.bench_steps,
                    warmup: args.bench_warmup,
                    threads: ours.as_ref().map_or(0, |o| o.threads),
                    augment: cfg.augment,
                    channels_last,
                    bf16: cfg.bf16,
                };
                let t = args.reference.training_bench(python, &bench)?;
                if best.is_none_or(|b| t.images_per_sec > b.images_per_sec) {
                    *best = Some(t);
                }
            }
        }
    }
    let ours = ours.expect("at least one round");
    let precision = if cfg.bf16 { " bf16" } else { "" };
    println!(
        "pann    {} batch {} augment {}{precision}: {:.0} images/s (best of {} rounds of {} steps, {} threads, peak \
         {:.0} MiB)",
        ours.arch,
        ours.batch,
        cfg.augment,
        ours.images_per_sec,
        args.bench_rounds,
        ours.steps,
        ours.threads,
        ours.peak_rss_mib.unwrap_or(f64::NAN)
    );
    if !comparable {
        println!("(the PyTorch reference covers ResNet-20 on CIFAR-10 without mixup or PANN only)");
        return Ok(());
    }
    if theirs.iter().any(Option::is_none) {
        println!("{}", args.reference.missing_note());
        return Ok(());
    }
    for (v, channels_last) in theirs.iter().flatten().zip(layouts) {
        let rate = v.images_per_sec;
        println!(
            "PyTorch {} batch {} augment {}{precision} {}: {:.0} images/s (best of {} rounds, {} threads, peak \
             {:.0} MiB): pann/PyTorch {:.2}×",
            cfg.arch,
            cfg.batch,
            cfg.augment,
            if channels_last { "channels-last" } else { "NCHW" },
            rate,
            args.bench_rounds,
            v.threads,
            v.peak_rss_mib.unwrap_or(f64::NAN),
            ours.images_per_sec / rate
        );
    }
    Ok(())
}
