//! `pann analyze headline`: the headline table of issue 5, `results/headline.md`, from one command (the column
//! plan and the claims are [`pann_eval::headline`]'s).

use super::{write_out, DataArgs};
use crate::{alpha_list, progress::Bar};
use anyhow::{bail, Result};
use clap::Args;
use pann_eval::headline::{evaluate_headline, Finetuned, HeadlineData, HeadlineModels};
use std::path::PathBuf;

/// Arguments of `pann analyze headline`.
#[derive(Args, Debug)]
pub struct HeadlineArgs {
    /// The conventionally trained ResNet-20 (weight decay 5e-4, no mixup).
    #[arg(long, default_value = "models/resnet20-common.safetensors")]
    common: PathBuf,
    /// pann's PANN-friendly ResNet-20 (minimal weight decay, mixup).
    #[arg(long, default_value = "models/resnet20-pann.safetensors")]
    friendly: PathBuf,
    /// pann's approximation-aware fine-tuned ResNet-20s: one file evaluated at every α, or a pattern with
    /// `{alpha}` for one model fine-tuned per α, each evaluated at its own α (rows without a file stay empty).
    #[arg(long, default_value = "models/resnet20-pann-ft{alpha}.safetensors")]
    finetuned: String,
    /// The PANN-friendly model after `pann recalibrate-bn` (BatchNorm statistics re-estimated on unmixed training
    /// images, weights unchanged): two more columns, Lee's B and calibrated B. Optional because recalibration moves
    /// the ReLU inputs of a mixup-trained network, which helps with calibrated bounds and hurts under Lee's rule
    /// (results/train/README.md), so the table shows the model both ways.
    #[arg(long)]
    recalibrated: Option<PathBuf>,
    /// The bundled ResNet-20 (default: ../shared/models/resnet20-akamaster.safetensors).
    #[arg(long)]
    bundled: Option<PathBuf>,
    /// Leave out the columns whose model file does not exist (noted under the table) instead of failing.
    #[arg(long)]
    allow_missing: bool,
    /// Precisions α.
    #[arg(long, default_value = "6..14")]
    alpha: String,
    /// Evaluate only the first N test images.
    #[arg(long)]
    images: Option<usize>,
    #[command(flatten)]
    data: DataArgs,
    /// The Markdown file written (a JSON file with the same stem beside it).
    #[arg(long, default_value = "results/headline.md")]
    out: PathBuf,
}

/// Runs `pann analyze headline`.
pub fn run(a: HeadlineArgs) -> Result<()> {
    let alphas = alpha_list::parse(&a.alpha)?;
    let Some(out_name) = a.out.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
        bail!(
            "--out {}: expected a file name such as results/headline.md",
            a.out.display()
        );
    };
    // Before the model files are checked, so that a zero count is named first.
    DataArgs::check_images(a.images)?;
    crate::output::ensure_writable_file(&a.out)?;
    let norm = a.data.norm()?;
    let batch = a.data.batch()?;
    let models = HeadlineModels {
        common: a.common.clone(),
        bundled: a
            .bundled
            .clone()
            .map_or_else(crate::commands::eval::bundled_model, Ok)?,
        friendly: a.friendly.clone(),
        recalibrated: a.recalibrated.clone(),
        finetuned: Finetuned::parse(&a.finetuned, &alphas),
    };
    let missing = models.missing();
    if !missing.is_empty() && !a.allow_missing {
        bail!(
            "model file {} does not exist (train it, see results/train/, or pass --allow-missing)",
            missing[0].display()
        );
    }
    let test = a.data.test(a.images)?;
    let calib = a.data.calib()?;
    let data = HeadlineData {
        test: &test,
        calib: &calib,
        norm: &norm,
        alphas: &alphas,
        batch,
    };
    let headline = evaluate_headline(
        &models,
        &data,
        &mut |path| a.data.load_model(path),
        &mut Bar::new(true),
        &mut |c| eprintln!("{}: exact {:.2}%", c.label, 100.0 * c.summary.exact.accuracy),
    )?;
    for note in &headline.notes {
        eprintln!("{note}");
    }
    // The command exactly as given (with the program name shortened), so that the table says how to remake it.
    let command: Vec<String> = std::iter::once("pann".to_string())
        .chain(std::env::args().skip(1))
        .collect();
    let md = headline.markdown(&command.join(" "), &a.data.describe());
    let dir = match a.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stem = a.out.file_stem().and_then(|s| s.to_str()).unwrap_or("headline");
    write_out(&dir, &out_name, &md)?;
    write_out(
        &dir,
        &format!("{stem}.json"),
        &serde_json::to_string_pretty(&serde_json::json!({"columns": headline.columns, "claims": headline.claims}))?,
    )?;
    print!("{md}");
    Ok(())
}
