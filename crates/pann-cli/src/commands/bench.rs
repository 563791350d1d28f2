//! `pann bench`: pann's inference speed against PyTorch's own on the same machine.
//!
//! Times exact inference and PANN inference at α = 14 (fixed B = 50, so both sides do identical work) of the
//! bundled ResNet-20 over the CIFAR-10 test images, then runs the independent PyTorch implementation
//! (`reference/lee_pann.py --bench`, tensor ops in float64 for the polynomial) if a Python with torch is there,
//! and prints both with their ratio. Run it on an otherwise idle machine.

use crate::commands::eval::shared_dir;
use anyhow::{bail, Context, Result};
use clap::Args;
use pann_approx::CompositeSign;
use pann_data::{load_cifar10, Normalization, Split};
use pann_eval::plan::{plan, Bounds, ReluShift};
use pann_eval::run::run;
use pann_eval::Silent;
use pann_nn::{Activations, Model, OverflowPolicy};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `pann bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Test images to time.
    #[arg(long, default_value_t = 10_000)]
    images: usize,
    /// Python with PyTorch for the comparison (default: .venv-ref/bin/python, made by reference/setup.sh).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Timing {
    images: usize,
    pann_exact_seconds: f64,
    pann_alpha14_seconds: f64,
    pann_alpha14_correct: usize,
    torch_exact_seconds: Option<f64>,
    torch_alpha14_seconds: Option<f64>,
    torch_alpha14_correct: Option<usize>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `pann bench`.
pub fn run_bench(args: BenchArgs) -> Result<()> {
    let shared = shared_dir();
    let model = Model::load(&crate::commands::eval::bundled_model())?;
    if args.images == 0 {
        bail!("--images must be at least 1");
    }
    let data = load_cifar10(
        &shared.join("data/cifar-10-batches-bin"),
        Split::Test,
        Some(args.images),
    )?;
    let norm = Normalization::imagenet();
    let exact = Activations::exact_for(&model);
    let sign = CompositeSign::for_alpha(14)?;
    let pann14 = plan(
        &model,
        &[&sign],
        &Bounds::Global(50.0),
        OverflowPolicy::Count,
        ReluShift::NONE,
    )?;
    let warm = load_cifar10(&shared.join("data/cifar-10-batches-bin"), Split::Test, Some(500))?;
    run(&model, &warm, &norm, &exact, 500, false, "", &mut Silent)?;
    let e = run(&model, &data, &norm, &exact, 500, false, "", &mut Silent)?;
    let p = run(&model, &data, &norm, &pann14, 500, false, "", &mut Silent)?;
    let mut t = Timing {
        images: data.n,
        pann_exact_seconds: e.seconds,
        pann_alpha14_seconds: p.seconds,
        pann_alpha14_correct: p.correct,
        torch_exact_seconds: None,
        torch_alpha14_seconds: None,
        torch_alpha14_correct: None,
    };
    // Without --python a missing reference venv only skips the comparison; a path given
    // explicitly that does not exist is a mistake.
    if let Some(p) = &args.python {
        if !p.is_file() {
            bail!("--python {}: no such file", p.display());
        }
    }
    let python = args
        .python
        .clone()
        .unwrap_or_else(|| repo_root().join(".venv-ref/bin/python"));
    if python.exists() {
        let coeffs = std::env::temp_dir().join(format!("pann-bench-alpha14-{}.json", std::process::id()));
        std::fs::write(
            &coeffs,
            serde_json::to_string(&pann_approx::ApproxSummary::from(&sign))?,
        )
        .with_context(|| format!("cannot write {}", coeffs.display()))?;
        let out = Command::new(&python)
            .arg(repo_root().join("reference/lee_pann.py"))
            .args(["--bench", "--images", &data.n.to_string(), "--coeffs"])
            .arg(&coeffs)
            .output();
        let _ = std::fs::remove_file(&coeffs);
        let out = out.with_context(|| format!("cannot run {}", python.display()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            bail!(
                "the PyTorch reference ({} reference/lee_pann.py) failed with {}{}",
                python.display(),
                out.status,
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", stderr.trim())
                }
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("PyTorch reference output")?;
        t.torch_exact_seconds = v["exact_seconds"].as_f64();
        t.torch_alpha14_seconds = v["pann_alpha14_seconds"].as_f64();
        t.torch_alpha14_correct = v["pann_alpha14_correct"].as_u64().map(|c| c as usize);
    }
    if args.json {
        println!("{}", serde_json::to_string(&t)?);
        return Ok(());
    }
    let ips = |s: f64| t.images as f64 / s;
    println!(
        "ResNet-20, {} CIFAR-10 test images, batch 500, {} threads",
        t.images,
        tch::get_num_threads()
    );
    println!("{:<28} {:>12} {:>12} {:>10}", "", "pann img/s", "torch img/s", "ratio");
    for (name, ours, theirs) in [
        ("exact inference", t.pann_exact_seconds, t.torch_exact_seconds),
        ("PANN α=14 (B=50)", t.pann_alpha14_seconds, t.torch_alpha14_seconds),
    ] {
        match theirs {
            Some(s) => println!("{name:<28} {:>12.0} {:>12.0} {:>9.2}×", ips(ours), ips(s), s / ours),
            None => println!("{name:<28} {:>12.0} {:>12} {:>10}", ips(ours), "—", "—"),
        }
    }
    if t.torch_exact_seconds.is_none() {
        println!(
            "(no PyTorch at {}: run reference/setup.sh for the comparison)",
            python.display()
        );
    }
    if let Some(c) = t.torch_alpha14_correct {
        println!(
            "same predictions check: pann {} correct, PyTorch {} correct",
            t.pann_alpha14_correct, c
        );
    }
    Ok(())
}
