//! `pann bench`: pann's inference speed against PyTorch's own on the same machine.
//!
//! Times exact inference and PANN inference at α = 14 (fixed B = 50, so both sides do identical work) of the
//! bundled ResNet-20 over the CIFAR-10 test images, in both memory layouts (NCHW, and channels-last, the faster
//! one for oneDNN's convolutions), then runs the independent PyTorch implementation (`reference/lee_pann.py
//! --bench [--channels-last]`, tensor ops in float64 for the polynomial) in the same layouts if a Python with
//! torch is there, and prints each pair with its ratio. Run it on an otherwise idle machine.

use crate::commands::reference::ReferenceFlags;
use anyhow::{bail, Result};
use clap::Args;
use pann_approx::CompositeSign;
use pann_data::Dataset;
use pann_data::{load_cifar10, Normalization, Split};
use pann_eval::plan::{plan, Bounds, ReluShift};
use pann_eval::run::run;
use pann_eval::Silent;
use pann_nn::{Activations, Model, OverflowPolicy};
use serde::Serialize;

/// Arguments of `pann bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Test images to time.
    #[arg(long, default_value_t = 10_000)]
    images: usize,
    #[command(flatten)]
    reference: ReferenceFlags,
    /// Rounds: each times every side in every layout once; the fastest round of each is kept (rates here move
    /// by ±20% with the machine's state between runs).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Print JSON: an array of two objects, NCHW then channels-last, each with its pann and PyTorch seconds.
    #[arg(long)]
    json: bool,
}

/// One memory layout's timings, pann's and (if it ran) PyTorch's.
#[derive(Serialize)]
struct Timing {
    channels_last: bool,
    images: usize,
    pann_exact_seconds: f64,
    pann_alpha14_seconds: f64,
    pann_alpha14_correct: usize,
    torch_exact_seconds: Option<f64>,
    torch_alpha14_seconds: Option<f64>,
    torch_alpha14_correct: Option<usize>,
}

impl Timing {
    /// Keeps, per side and pass, the shorter time of `self` and `other` (the same layout and images). The
    /// predictions must not change between rounds: a difference would be a nondeterminism bug, not noise.
    fn keep_faster(&mut self, other: &Timing) -> Result<()> {
        if (self.pann_alpha14_correct, self.torch_alpha14_correct)
            != (other.pann_alpha14_correct, other.torch_alpha14_correct)
        {
            bail!(
                "α = 14 correct counts changed between rounds: pann {} then {}, PyTorch {:?} then {:?}",
                self.pann_alpha14_correct,
                other.pann_alpha14_correct,
                self.torch_alpha14_correct,
                other.torch_alpha14_correct
            );
        }
        let min = |a: f64, b: f64| a.min(b);
        let min_opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.pann_exact_seconds = min(self.pann_exact_seconds, other.pann_exact_seconds);
        self.pann_alpha14_seconds = min(self.pann_alpha14_seconds, other.pann_alpha14_seconds);
        self.torch_exact_seconds = min_opt(self.torch_exact_seconds, other.torch_exact_seconds);
        self.torch_alpha14_seconds = min_opt(self.torch_alpha14_seconds, other.torch_alpha14_seconds);
        Ok(())
    }
}

/// Runs `pann bench`.
pub fn run_bench(args: BenchArgs) -> Result<()> {
    let shared = pann_data::shared_dir()?;
    let mut model = Model::load(&crate::commands::eval::bundled_model()?)?;
    if args.images == 0 || args.rounds == 0 {
        bail!("--images and --rounds must be at least 1");
    }
    // Without --python a missing reference venv only skips the comparison; a path given
    // explicitly that does not exist is a mistake.
    let python = args.reference.python()?;
    let data = load_cifar10(
        &shared.join("data/cifar-10-batches-bin"),
        Split::Test,
        Some(args.images),
    )?;
    let warm = load_cifar10(&shared.join("data/cifar-10-batches-bin"), Split::Test, Some(500))?;
    let sign = CompositeSign::for_alpha(14)?;
    let mut timings: Vec<Timing> = Vec::new();
    for _ in 0..args.rounds {
        for (i, channels_last) in [false, true].into_iter().enumerate() {
            model.set_channels_last(channels_last);
            let mut t = time_pann(&model, &sign, &data, &warm)?;
            if let Some(python) = &python {
                let torch = args
                    .reference
                    .inference_bench(python, &shared, &sign, t.images, channels_last)?;
                t.torch_exact_seconds = Some(torch.exact_seconds);
                t.torch_alpha14_seconds = Some(torch.pann_alpha14_seconds);
                t.torch_alpha14_correct = Some(torch.pann_alpha14_correct);
            }
            match timings.get_mut(i) {
                Some(best) => best.keep_faster(&t)?,
                None => timings.push(t),
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&timings)?);
        return Ok(());
    }
    println!(
        "ResNet-20, {} CIFAR-10 test images, batch 500, {} threads, best of {} round(s)",
        data.n,
        tch::get_num_threads(),
        args.rounds
    );
    println!("{:<36} {:>12} {:>12} {:>10}", "", "pann img/s", "torch img/s", "ratio");
    let ips = |s: f64| data.n as f64 / s;
    for t in &timings {
        let layout = if t.channels_last { "channels-last" } else { "NCHW" };
        for (what, ours, theirs) in [
            ("exact inference", t.pann_exact_seconds, t.torch_exact_seconds),
            ("PANN α=14 (B=50)", t.pann_alpha14_seconds, t.torch_alpha14_seconds),
        ] {
            let name = format!("{what}, {layout}");
            match theirs {
                Some(s) => println!("{name:<36} {:>12.0} {:>12.0} {:>9.2}×", ips(ours), ips(s), s / ours),
                None => println!("{name:<36} {:>12.0} {:>12} {:>10}", ips(ours), "—", "—"),
            }
        }
    }
    if python.is_none() {
        println!("{}", args.reference.missing_note());
    }
    for t in &timings {
        let layout = if t.channels_last { "channels-last" } else { "NCHW" };
        match t.torch_alpha14_correct {
            Some(c) => println!(
                "same predictions check, {layout}: pann {} correct, PyTorch {c} correct",
                t.pann_alpha14_correct
            ),
            None => println!("α=14, {layout}: pann {} correct", t.pann_alpha14_correct),
        }
    }
    Ok(())
}

/// pann's exact and α = 14 passes over `data` in the model's current layout, after a warm-up pass over `warm`.
fn time_pann(model: &Model, sign: &CompositeSign, data: &Dataset, warm: &Dataset) -> Result<Timing> {
    let norm = Normalization::imagenet();
    let exact = Activations::exact_for(model);
    let pann14 = plan(
        model,
        &[sign],
        &Bounds::Global(50.0),
        OverflowPolicy::Count,
        ReluShift::NONE,
    )?;
    run(model, warm, &norm, &exact, 500, false, "", &mut Silent)?;
    let e = run(model, data, &norm, &exact, 500, false, "", &mut Silent)?;
    let p = run(model, data, &norm, &pann14, 500, false, "", &mut Silent)?;
    Ok(Timing {
        channels_last: model.channels_last(),
        images: data.n,
        pann_exact_seconds: e.seconds,
        pann_alpha14_seconds: p.seconds,
        pann_alpha14_correct: p.correct,
        torch_exact_seconds: None,
        torch_alpha14_seconds: None,
        torch_alpha14_correct: None,
    })
}
