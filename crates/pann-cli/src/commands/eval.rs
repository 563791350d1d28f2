//! `pann eval`: a trained network's accuracy as a PANN at each precision α.

use crate::commands::card::{self, DataFlags};
use crate::{alpha_list, plot, progress::Bar};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use pann_data::Split;
use pann_eval::{
    evaluate_pann, AlphaRow, EvalConfig, ExactRow, LayerStep, LeeLayers, LeeSearch, RangeRule, ReluShift, RowSink,
};
use pann_nn::OverflowPolicy;
use std::path::PathBuf;

/// What happens to a polynomial input outside its bound.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnOverflow {
    /// Count it and evaluate the polynomial anyway.
    Count,
    /// Count it and clamp the argument into [−1, 1].
    Clamp,
    /// Stop with an error naming the layer.
    Error,
}

/// Arguments of `pann eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Weights (safetensors, PyTorch state-dict names). Default: the bundled ResNet-20.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Architecture (resnet20, resnet56b, vgg16, …) when it cannot be inferred from the file [default: the
    /// model card's, else inferred].
    #[arg(long)]
    arch: Option<String>,
    #[command(flatten)]
    data: DataFlags,
    /// Precisions α (ReLU error 2^-α): a list or range, e.g. 4..14 or 9,12.
    #[arg(long, default_value = "4..14")]
    alpha: String,
    /// Input bound: `lee` (global B from 50 in steps of 5, Lee et al.), `calibrate` (per layer, from training
    /// images), `lee-layers` (Lee's rule per layer: from the calibrated bounds, each site raised by
    /// --layer-step until no input of the approximate network on the evaluated images leaves its bound; zero
    /// overflows), or a number.
    #[arg(long, default_value = "lee", allow_hyphen_values = true)]
    range: String,
    /// Margin on the calibrated per-layer bounds (also the start of `lee-layers`).
    #[arg(long, default_value_t = 1.1)]
    margin: f64,
    /// How `--range lee-layers` raises a site's bound: `xF` multiplies by F > 1 (x1.05 is +5% of the bound),
    /// `+A` adds A > 0 (Lee et al.'s +5).
    #[arg(long, default_value = "x1.1", allow_hyphen_values = true)]
    layer_step: String,
    /// Training images used for `--range calibrate` and `lee-layers`.
    #[arg(long, default_value_t = 5000)]
    calib_images: usize,
    /// What an input outside [−B, B] does.
    #[arg(long, value_enum, default_value = "count")]
    on_overflow: OnOverflow,
    /// Shift η of the ReLU argument: relu(x) ≈ x·(1 + p(t))/2 with t = (1 − η)·x/B − η. A number in [0, 0.5),
    /// or `eps` for each α's certified ε: every negative input then lands where p is within 2^(1−α) of −1 (no
    /// leak), and the poorly approximated zone moves to 0 < x < 2ηB/(1 − η); `Feps` (e.g. `0.5eps`, F in (0, 1])
    /// takes η = F·ε, moving only part of the zone. Same depth; overflow is still |x| > B. 0 is Lee et al.'s x/B.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    relu_shift: String,
    /// Mean-leak correction: subtract from each polynomial ReLU's output, per site and channel, the mean error
    /// E[x·(1 + p)/2 − ReLU(x)] measured on the exact network's inputs over the calibration images
    /// (--calib-images training images), for every α and bound. Makes the error zero-mean per channel; no depth.
    #[arg(long)]
    leak_correction: bool,
    /// Passes of the mean-leak correction: 1 measures it on the exact network's inputs; each further pass
    /// re-measures it on the corrected approximate network's own inputs (a fixed-point iteration).
    #[arg(long, default_value_t = 1)]
    leak_iterations: usize,
    /// Evaluate only the first N test images.
    #[arg(long)]
    images: Option<usize>,
    /// Images per batch.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Draw accuracy against α to this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Also write the JSON object of `--json` to this file, while the table goes to standard output: one run
    /// gives both.
    #[arg(long)]
    json_out: Option<PathBuf>,
    #[command(flatten)]
    layout: crate::layout::LayoutArgs,
}

/// The bundled ResNet-20 (akamaster's, 91.73% on the CIFAR-10 test set): every command's default model,
/// under [`pann_data::shared_dir`].
pub fn bundled_model() -> Result<PathBuf> {
    Ok(pann_data::shared_dir()?.join("models/resnet20-akamaster.safetensors"))
}

/// `--range` and its companions as `pann eval` (and `pann he infer`) take them.
pub(crate) fn range_rule(s: &str, margin: f64, layer_step: &str) -> Result<RangeRule> {
    Ok(match s {
        "lee" => RangeRule::Lee(LeeSearch::default()),
        "calibrate" => RangeRule::Calibrate { margin },
        "lee-layers" => RangeRule::LeeLayers(LeeLayers {
            margin,
            step: layer_step.parse::<LayerStep>().context("--layer-step")?,
            ..LeeLayers::default()
        }),
        other => {
            let b: f64 = other.parse().with_context(|| {
                format!("--range '{other}': expected lee, calibrate, lee-layers or a positive number")
            })?;
            if !(b.is_finite() && b > 0.0) {
                bail!("--range {other}: the bound must be a positive finite number");
            }
            RangeRule::Fixed(b)
        }
    })
}

/// What `--relu-shift` accepts, for its error messages.
const SHIFT_FORMS: &str = "expected eps, Feps (F in (0, 1]) or a number in [0, 0.5)";

fn relu_shift(s: &str) -> Result<ReluShift> {
    if let Some(fraction) = s.strip_suffix("eps") {
        let f: f64 = if fraction.is_empty() {
            1.0
        } else {
            fraction
                .parse()
                .with_context(|| format!("--relu-shift '{s}': {SHIFT_FORMS}"))?
        };
        if !(f > 0.0 && f <= 1.0) {
            bail!("--relu-shift {s}: the fraction F of Feps must be in (0, 1]");
        }
        return Ok(ReluShift::Epsilon(f));
    }
    let v: f64 = s
        .parse()
        .with_context(|| format!("--relu-shift '{s}': {SHIFT_FORMS}"))?;
    if !(0.0..0.5).contains(&v) {
        bail!("--relu-shift {s}: the shift must be a number in [0, 0.5)");
    }
    Ok(ReluShift::Fixed(v))
}

/// Prints rows as they are finished; with the mean-leak correction, one more column (the largest |m_c|); with
/// per-site bounds, one more line per row naming each site's bound (and, for `lee-layers`, where it started).
struct TablePrinter {
    leak: bool,
    sites: Vec<String>,
}

impl RowSink for TablePrinter {
    fn exact(&mut self, r: &ExactRow) {
        println!(
            "exact ReLU: {:.2}% ({}/{}), max |ReLU input| {:.2}",
            100.0 * r.accuracy,
            r.correct,
            r.total,
            r.max_relu_input
        );
        print!(
            "{:>3} {:<16} {:>8} {:>8} {:>7} {:>10} {:>6} {:>6} {:>6} {:>7}",
            "α", "degrees", "acc %", "B", "η", "overflows", "ReLU d", "net d", "tries", "s"
        );
        if self.leak {
            print!(" {:>10}", "max |m_c|");
        }
        println!();
    }
    fn row(&mut self, r: &AlphaRow) {
        print!(
            "{:>3} {:<16} {:>8.2} {:>8.1} {:>7.4} {:>10} {:>6} {:>6} {:>6} {:>7.1}",
            r.alpha,
            format!("{:?}", r.degrees),
            100.0 * r.accuracy,
            r.bound,
            r.relu_shift,
            r.overflows,
            r.relu_depth,
            r.network_depth,
            r.range_tries,
            r.seconds
        );
        if let Some(m) = r.leak_correction_max {
            print!(" {m:>10.3e}");
        }
        println!();
        if let Some(bounds) = &r.bounds {
            let start = r.start_bounds.as_deref();
            let sites: Vec<String> = self
                .sites
                .iter()
                .zip(bounds)
                .enumerate()
                .map(|(i, (name, b))| match start.map(|s| s[i]) {
                    Some(s) if s != *b => format!("{name} {s:.1}→{b:.1}"),
                    _ => format!("{name} {b:.1}"),
                })
                .collect();
            println!("    bounds: {}", sites.join(", "));
        }
    }
}

/// Runs `pann eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let alphas = alpha_list::parse(&args.alpha)?;
    let range = range_rule(&args.range, args.margin, &args.layer_step)?;
    let relu_shift = relu_shift(&args.relu_shift)?;
    if args.leak_iterations == 0 {
        bail!("--leak-iterations must be at least 1");
    }
    if args.leak_correction && args.calib_images == 0 {
        bail!("--leak-correction needs calibration images: --calib-images must be at least 1");
    }
    if range.calibrates() && args.calib_images == 0 {
        bail!(
            "--range {} needs calibration images: --calib-images must be at least 1",
            args.range
        );
    }
    if args.images == Some(0) {
        bail!("--images must be at least 1");
    }
    if let Some(p) = &args.plot {
        crate::output::ensure_writable_file(p).context("--plot")?;
    }
    if let Some(p) = &args.json_out {
        crate::output::ensure_writable_file(p).context("--json-out")?;
    }
    let model_path = match args.model.clone() {
        Some(p) => p,
        None => bundled_model()?,
    };
    card::check_model_file(&model_path, args.model.is_some())?;
    let model_card = card::read_card(&model_path)?;
    let data = card::resolve_data(&args.data, &[(&model_path, model_card.as_ref())])?;
    let (norm, data_dir) = (&data.norm, &data.dir);
    let mut model = card::load_model(&model_path, args.arch.as_deref(), model_card.as_ref())?;
    model.set_channels_last(args.layout.channels_last());
    let test = pann_data::load(data.kind, data_dir, Split::Test, args.images)?;
    let calib = if range.calibrates() || args.leak_correction {
        Some(pann_data::load(
            data.kind,
            data_dir,
            Split::Train,
            Some(args.calib_images),
        )?)
    } else {
        None
    };
    let overflow = match args.on_overflow {
        OnOverflow::Count => OverflowPolicy::Count,
        OnOverflow::Clamp => OverflowPolicy::Clamp,
        OnOverflow::Error => OverflowPolicy::Error,
    };
    let cfg = EvalConfig {
        alphas,
        range,
        overflow,
        batch: args.batch,
        relu_shift,
        leak_correction: args.leak_correction,
        leak_iterations: args.leak_iterations,
    };
    if !args.json {
        println!(
            "{} ({}) on {} ({} images{})",
            model.architecture(),
            model_path.display(),
            data_dir.display(),
            test.n,
            if model.channels_last() { ", channels-last" } else { "" }
        );
    }
    let mut bar = Bar::new(!args.json);
    let summary = if args.json {
        evaluate_pann(&model, &test, norm, calib.as_ref(), &cfg, &mut bar, &mut ())?
    } else {
        evaluate_pann(
            &model,
            &test,
            norm,
            calib.as_ref(),
            &cfg,
            &mut bar,
            &mut TablePrinter {
                leak: args.leak_correction,
                sites: model.relu_sites().to_vec(),
            },
        )?
    };
    if let Some(path) = &args.plot {
        plot::accuracy_plot(&summary, path).with_context(|| format!("cannot write plot {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    }
    if let Some(p) = &args.json_out {
        std::fs::write(p, serde_json::to_string(&summary)? + "\n")
            .with_context(|| format!("cannot write --json-out {}", p.display()))?;
    }
    Ok(())
}
