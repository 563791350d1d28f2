//! `pann he`: a PANN run under real homomorphic encryption (RNS-CKKS), end to end.
//!
//! Flags to a [`pann_encrypted::EncryptedInferenceConfig`], the model and data loaded, [`pann_encrypted::run`]
//! (or [`pann_encrypted::results::run_resumable`] with `--results`) called, its per-image results, a progress
//! bar and the report printed; the pipeline itself (calibration, parameters, bootstrap plan, keys, the
//! per-image loop, the results file) is crates/pann-encrypted. `pann he params` lists the parameter presets.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use pann_data::Split;
use pann_encrypted::{EncryptedInferenceConfig, ImageResult, Network, Observer, Setup};
use pann_eval::RangeRule;

use super::card::{self, DataFlags};
use crate::progress::Bar;
use pann_eval::Progress;

/// `pann he infer`'s model when no `--model` is given, relative to the current directory.
const DEFAULT_MODEL: &str = "models/smallcnn-cifar10.safetensors";

/// Arguments of `pann he`.
#[derive(Args, Debug)]
pub struct HeArgs {
    #[command(subcommand)]
    command: HeCommand,
}

#[derive(Subcommand, Debug)]
enum HeCommand {
    /// Encrypted inference of a smallcnn or a CIFAR ResNet (with bootstrapping) on test images, checked against
    /// the plaintext PANN.
    Infer(InferArgs),
    /// The CKKS parameter presets: ring degree, modulus, levels, security bound.
    Params(ParamsArgs),
    /// One full-slot bootstrap timed (precision, seconds, keys, peak memory); `--openfhe` runs OpenFHE's too.
    BootstrapBench(super::he_bootstrap::BootstrapBenchArgs),
}

/// Arguments of `pann he infer`. The flags are the fields of [`EncryptedInferenceConfig`] (with dashes), plus
/// where the model and the data are and how to print.
#[derive(Args, Debug)]
pub struct InferArgs {
    /// A smallcnn or CIFAR ResNet model (safetensors, as `pann train` writes it) [default:
    /// models/smallcnn-cifar10.safetensors, relative to the current directory].
    #[arg(long)]
    model: Option<PathBuf>,
    #[command(flatten)]
    data: DataFlags,
    /// Precision α of the ReLU approximation (error 2^-α).
    #[arg(long, default_value_t = 7)]
    alpha: u32,
    /// Test images to run encrypted (the first N of the test set).
    #[arg(long, default_value_t = 10)]
    images: usize,
    /// ReLU bounds, spelt as `pann eval --range`: `calibrate` (per layer: the largest input on --calib-images
    /// training images × --margin, on the f64 network), `lee` (Lee et al.'s global B: from 50, +5 until no
    /// input of a polynomial ReLU leaves [−B, B]), `lee-layers` (Lee's rule per ReLU site: from the bounds
    /// calibrated on --calib-images training images, each raised by --layer-step until none of its inputs
    /// leaves it), or a number (one fixed B). `lee` and `lee-layers` are fitted by pann-eval on its plaintext
    /// (libtorch) PANN over the test images run (the first --images): zero overflows on exactly those images.
    #[arg(long, default_value = "calibrate", allow_hyphen_values = true)]
    range: String,
    /// Training images for `--range calibrate`, the start of `lee-layers` and --leak-correction.
    #[arg(long, default_value_t = 2000)]
    calib_images: usize,
    /// Margin on the calibrated per-layer bounds, also the start of `lee-layers` [default: 1.5 for `calibrate`
    /// (inputs beyond the bound make the polynomial diverge), 1.1 for `lee-layers` (pann eval's)].
    #[arg(long)]
    margin: Option<f64>,
    /// How `--range lee-layers` raises a site's bound: `xF` multiplies by F > 1, `+A` adds A > 0 (as pann eval).
    #[arg(long, default_value = "x1.1", allow_hyphen_values = true)]
    layer_step: String,
    /// Subtract each ReLU channel's mean approximation error, measured on the calibration images (the
    /// mean-leak correction of `pann eval --leak-correction`; free under encryption: it folds into biases).
    #[arg(long)]
    leak_correction: bool,
    /// log2 of the CKKS scale (and size of the rescaling primes).
    #[arg(long, default_value_t = 40)]
    log_scale: u32,
    /// One α per ReLU site, comma-separated (from `pann analyze layerwise`), instead of --alpha everywhere.
    #[arg(long, value_delimiter = ',')]
    site_alphas: Vec<u32>,
    /// One bound B for every ReLU site: the same as `--range B`.
    #[arg(long, conflicts_with = "range")]
    fixed_bound: Option<f64>,
    /// Rotation keys a bootstrapping network may add to the bootstrapper's (each is hundreds of MB at N = 2^16).
    #[arg(long, default_value_t = 8)]
    extra_rotation_keys: usize,
    /// Append each image's result to this JSON-lines file as it finishes; images already in it are not run again
    /// (a resumed run).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Print one JSON object instead of per-image lines.
    #[arg(long)]
    json: bool,
    /// Only choose the ReLU bounds by --range and print them as JSON (`bounds`, `bounds_fitted_on`, and for
    /// `lee`/`lee-layers` pann-eval's `relu_input_overflows` over the images fitted on): no keys, no encryption.
    #[arg(long)]
    bounds_only: bool,
    /// The memory layout of pann-eval's network for `lee`/`lee-layers` (as `pann eval`: the same flags give
    /// the same bounds to the last bit).
    #[command(flatten)]
    layout: crate::layout::LayoutArgs,
}

/// Arguments of `pann he params`.
#[derive(Args, Debug)]
pub struct ParamsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Entry point of `pann he`.
pub fn run(args: HeArgs) -> Result<()> {
    match args.command {
        HeCommand::Infer(a) => infer(a),
        HeCommand::Params(a) => params(a),
        HeCommand::BootstrapBench(a) => super::he_bootstrap::run(a),
    }
}

fn params(args: ParamsArgs) -> Result<()> {
    let rows = pann_encrypted::params::presets()?;
    let boot = pann_encrypted::params::bootstrap_presets()?;
    if args.json {
        let all = serde_json::json!({"leveled": rows, "bootstrapping": boot});
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    println!(
        "{:<16} {:>6} {:>8} {:>7} {:>7} {:>8}  128-bit bound",
        "leveled preset", "log N", "log QP", "levels", "digits", "log Δ"
    );
    for r in &rows {
        let p = &r.params;
        println!(
            "{:<16} {:>6} {:>8.1} {:>7} {:>7} {:>8}  log QP ≤ {}",
            r.name,
            p.log_n,
            p.log_qp,
            p.levels,
            p.digits,
            p.log_scale,
            p.max_log_qp_128.map_or("null".to_string(), |m| m.to_string())
        );
    }
    println!();
    println!(
        "{:<16} {:>6} {:>8} {:>6} {:>7} {:>9} {:>5} {:>7} {:>5} {:>9} {:>5}  128-bit bound",
        "bootstrapping", "log N", "log QP", "slots", "levels", "bootstrap", "left", "digits", "rots", "keys GB", "h'"
    );
    for r in &boot {
        let s = &r.summary;
        println!(
            "{:<16} {:>6} {:>8.1} {:>6} {:>7} {:>9} {:>5} {:>7} {:>5} {:>9.2} {:>5}  log QP ≤ {}",
            r.name,
            s.log_n,
            s.log_qp,
            s.slots,
            s.levels_total,
            s.levels_bootstrap,
            s.levels_left,
            s.digits,
            s.rotations,
            s.keys_bytes as f64 / 1e9,
            if s.ephemeral_weight > 0 {
                s.ephemeral_weight.to_string()
            } else {
                "-".into()
            },
            s.max_log_qp_128.map_or("null".to_string(), |m| m.to_string())
        );
    }
    Ok(())
}

/// A library error in the CLI's words: a configuration field becomes its flag.
fn flagged(e: pann_encrypted::Error) -> anyhow::Error {
    match e {
        pann_encrypted::Error::Config { field, problem } => anyhow!("--{} {problem}", field.replace('_', "-")),
        other => other.into(),
    }
}

/// Per-image lines on standard error (nothing with `--json`) and a progress bar with the time left (on a
/// terminal).
struct Lines<'a> {
    model: &'a std::path::Path,
    quiet: bool,
    bar: Bar,
    total: u64,
    started: bool,
}

impl Observer for Lines<'_> {
    fn resumed(&mut self, done: usize) {
        if !self.quiet && done > 0 {
            eprintln!("{done} images read back from the results file");
        }
        self.bar.begin("encrypted", self.total.saturating_sub(done as u64));
        self.started = true;
    }

    fn ready(&mut self, s: &Setup) {
        self.total = s.images as u64;
        if self.quiet {
            return;
        }
        let bounds: Vec<String> = s.bounds.iter().map(|b| format!("{b:.2}")).collect();
        eprintln!(
            "{} {} | α = {} {:?} (ReLU depth {}) | --range {}: B = [{}] | N = 2^{}, log QP = {:.0}, {} levels, {} rotation keys, keys in {:.1} s",
            s.network,
            self.model.display(),
            s.alpha,
            s.degrees,
            s.relu_depth,
            s.range,
            bounds.join(", "),
            s.params.log_n,
            s.log_qp,
            s.params.levels,
            s.rotation_keys,
            s.keygen_seconds
        );
        if s.bootstraps_per_image > 0 {
            eprintln!(
                "per image: {} bootstraps, {} rotations; keys {:.2} GB",
                s.bootstraps_per_image,
                s.rotations_per_image,
                s.keys_bytes as f64 / 1e9
            );
        }
    }

    fn image(&mut self, r: &ImageResult) {
        if !self.started {
            self.bar.begin("encrypted", self.total);
            self.started = true;
        }
        self.bar.advance(1);
        if self.quiet {
            return;
        }
        eprintln!(
            "image {:>4}: label {} encrypted {} plaintext-PANN {} exact {} | max logit error {} | {:.1} s",
            r.index,
            r.label,
            r.encrypted.map_or("(decryption failed)".to_string(), |p| p.to_string()),
            r.plaintext_pann,
            r.exact,
            r.max_logit_error.map_or("—".to_string(), |e| format!("{e:.2e}")),
            r.seconds
        );
    }
}

fn infer(args: InferArgs) -> Result<()> {
    let range = match args.fixed_bound {
        Some(b) if !(b.is_finite() && b > 0.0) => bail!("--fixed-bound must be a positive number, got {b}"),
        Some(b) => RangeRule::Fixed(b),
        None => {
            let margin = args
                .margin
                .unwrap_or(if args.range == "lee-layers" { 1.1 } else { 1.5 });
            super::eval::range_rule(&args.range, margin, &args.layer_step)?
        }
    };
    let model = args.model.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL));
    card::check_model_file(&model, args.model.is_some())?;
    let model_card = card::read_card(&model)?;
    let data = card::resolve_data(&args.data, &[(&model, model_card.as_ref())])?;
    let mut config = EncryptedInferenceConfig {
        alpha: args.alpha,
        images: args.images,
        calib_images: args.calib_images,
        range,
        fitted: None,
        norm: data.norm.clone(),
        leak_correction: args.leak_correction,
        log_scale: args.log_scale,
        site_alphas: args.site_alphas.clone(),
        extra_rotation_keys: args.extra_rotation_keys,
        insecure_bootstrap_log_n: None,
    };
    config.validate().map_err(flagged)?;
    let net = Network::load(&model)?;
    if model_card.is_none() && !args.json {
        // As `pann eval` runs a file without a card: on the data and normalisation asked for (or the defaults).
        eprintln!(
            "note: {} has no model card: running it on {} with normalisation {} (--dataset, --norm to change)",
            model.display(),
            data.kind,
            data.norm_spec
        );
    }
    let data_dir = &data.dir;
    // (Fashion-MNIST arrives as 3×32×32, as `pann train` feeds it: see `pann_data::load`.)
    let test = pann_data::load(data.kind, data_dir, Split::Test, Some(config.images))?;
    let calib = pann_data::load(data.kind, data_dir, Split::Train, Some(config.calib_images))?;
    let shape = |e: pann_encrypted::Error| match e {
        e @ (pann_encrypted::Error::ImageShape { .. } | pann_encrypted::Error::Classes { .. }) => {
            anyhow!("{}: {e}", data_dir.display())
        }
        e => flagged(e),
    };
    if pann_encrypted::range::needs_fit(&config.range) {
        // Lee et al.'s rules are pann-eval's, on its libtorch PANN of the same file.
        let mut torch = card::load_model(&model, None, model_card.as_ref())?;
        torch.set_channels_last(args.layout.channels_last());
        let mut bar = Bar::new(!args.json);
        let fitted = pann_encrypted::range::fit(&config, &torch, &net, &test, &calib, &mut bar);
        bar.end();
        config.fitted = fitted.map_err(shape)?;
    }
    if args.bounds_only {
        let (bounds, fitted_on) = pann_encrypted::bounds(&config, &net, &calib).map_err(shape)?;
        let fitted = config.fitted.as_ref();
        let out = serde_json::json!({
            "network": net.name(),
            "alpha": config.alpha,
            "range": pann_encrypted::range::name(&config.range),
            "bounds": bounds,
            "start_bounds": fitted.and_then(|f| f.start.clone()),
            "bounds_fitted_on": fitted_on,
            "relu_input_overflows": fitted.map(|f| f.overflows),
        });
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    let mut lines = Lines {
        model: &model,
        quiet: args.json,
        bar: Bar::new(true),
        total: 0,
        started: false,
    };
    let report = match &args.results {
        Some(path) => pann_encrypted::results::run_resumable(&config, &net, &calib, &test, path, &mut lines),
        None => pann_encrypted::run(&config, &net, &calib, &test, &mut lines),
    };
    lines.bar.end();
    let report = report.map_err(shape)?;
    // Through a `Value`: its keys are sorted, as this command has always printed them.
    let report = serde_json::to_value(&report)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
