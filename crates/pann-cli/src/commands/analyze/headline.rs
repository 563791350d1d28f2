//! `pann analyze headline`: the headline table of issue 5, `results/headline.md`, from one command.

use super::precision::Rule;
use super::{write_out, DataArgs};
use crate::{alpha_list, progress::Bar};
use anyhow::{bail, Result};
use clap::Args;
use pann_eval::evaluate_pann;
use pann_eval::headline::{claims, render, Column, Roles};
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
    let bundled = a.bundled.clone().unwrap_or_else(crate::commands::eval::bundled_model);
    let (lee, lee_leak, calibrated) = (Rule::LEE, Rule::LEE_LEAK, Rule::CALIBRATE);
    // The single-model columns; the first three are Lee et al.'s side (and the leak correction on the bundled
    // model), the rest pann's, whose claims are checked against Lee et al.'s.
    let mut plan: Vec<(&str, &PathBuf, Rule)> = vec![
        ("Lee et al., common recipe", &a.common, lee),
        ("Lee et al., bundled ResNet-20", &bundled, lee),
        ("bundled + leak corr.", &bundled, lee_leak),
        // pann's range rule alone, on the conventional model: separates what the bounds do from what the recipe does.
        ("common recipe, calibrated B", &a.common, calibrated),
        ("pann model, Lee's B", &a.friendly, lee),
        ("pann model + leak corr.", &a.friendly, lee_leak),
        ("pann model, calibrated B", &a.friendly, calibrated),
    ];
    if let Some(recal) = &a.recalibrated {
        plan.push(("pann model BN-recal., Lee's B", recal, lee));
        plan.push(("pann model BN-recal., calibrated B", recal, calibrated));
    }
    let finetuned = Finetuned::parse(&a.finetuned, &alphas);
    let mut missing: Vec<PathBuf> = Vec::new();
    let needed: Vec<PathBuf> = plan.iter().map(|p| p.1.clone()).chain(finetuned.files()).collect();
    for path in needed {
        if !path.exists() && !missing.contains(&path) {
            missing.push(path);
        }
    }
    if !missing.is_empty() && !a.allow_missing {
        bail!(
            "model file {} does not exist (train it, see results/train/, or pass --allow-missing)",
            missing[0].display()
        );
    }
    let test = a.data.test(a.images)?;
    let calib = a.data.calib()?;
    let mut bar = Bar::new(true);
    let mut columns: Vec<Column> = Vec::new();
    // Which entry of `plan` each column is (`plan.len()` = the fine-tuned column).
    let mut roles_of = Vec::new();
    let mut friendly_exact = None;
    for (i, (label, path, rule)) in plan.iter().enumerate() {
        if missing.contains(*path) {
            continue;
        }
        let model = a.data.load_model(path)?;
        let cfg = rule.config(alphas.clone(), 1.1, batch);
        let summary = evaluate_pann(&model, &test, &norm, Some(&calib), &cfg, &mut bar, &mut ())?;
        eprintln!("{label}: exact {:.2}%", 100.0 * summary.exact.accuracy);
        if *path == &a.friendly {
            friendly_exact = Some(summary.exact.clone());
        }
        columns.push(Column::single(
            label,
            &path.display().to_string(),
            rule.describe(),
            summary,
        ));
        roles_of.push(i);
    }
    // The fine-tuned column: Lee's global B without the correction, the setting the fine-tunes trained through.
    let ft_label = "pann fine-tuned, Lee's B";
    let ft_method = "Lee's global B (from 50 in steps of 5), no correction: the fine-tune trained through the \
                     uncorrected polynomial at B = 50";
    match &finetuned {
        Finetuned::One(path) if path.exists() => {
            let model = a.data.load_model(path)?;
            let summary = evaluate_pann(
                &model,
                &test,
                &norm,
                None,
                &lee.config(alphas.clone(), 1.1, batch),
                &mut bar,
                &mut (),
            )?;
            columns.push(Column::single(
                ft_label,
                &path.display().to_string(),
                ft_method,
                summary,
            ));
            roles_of.push(plan.len());
        }
        Finetuned::PerAlpha(parts) => {
            let present: Vec<&(u32, PathBuf)> = parts.iter().filter(|(_, p)| p.exists()).collect();
            match (&friendly_exact, present.is_empty()) {
                (Some(base), false) => {
                    let mut evaluated = Vec::new();
                    for (alpha, path) in present {
                        let model = a.data.load_model(path)?;
                        let cfg = lee.config(vec![*alpha], 1.1, batch);
                        let summary = evaluate_pann(&model, &test, &norm, None, &cfg, &mut bar, &mut ())?;
                        evaluated.push((path.display().to_string(), summary));
                    }
                    columns.push(Column::per_alpha(
                        ft_label,
                        ft_method,
                        &a.friendly.display().to_string(),
                        base.clone(),
                        evaluated,
                    ));
                    roles_of.push(plan.len());
                }
                (None, false) => eprintln!(
                    "fine-tuned column left out: its reference, {}, is missing",
                    a.friendly.display()
                ),
                _ => {}
            }
        }
        Finetuned::One(_) => {}
    }
    if columns.is_empty() {
        bail!("no model file exists: nothing to tabulate");
    }
    // The claims: Lee et al. = the common-recipe column, or the bundled one; checked for each of pann's columns.
    let pos = |i: usize| roles_of.iter().position(|&j| j == i);
    let mut checked = Vec::new();
    if let Some(lee) = pos(0).or(pos(1)) {
        for pann in (3..=plan.len()).filter_map(pos) {
            checked.extend(claims(&columns, Roles { lee, pann }));
        }
    }
    let mut md = String::from("# Headline: ResNet-20 as a PANN, Lee et al. against pann\n\n");
    // The command exactly as given (with the program name shortened), so that the table says how to remake it.
    let command: Vec<String> = std::iter::once("pann".to_string())
        .chain(std::env::args().skip(1))
        .collect();
    md += &format!(
        "Made by `{}` (see results/analysis/README.md). Accuracy on the first {} test images of {}, the global \
         bound B found by Lee et al.'s rule in brackets; depths from pann's cost model.\n\n",
        command.join(" "),
        test.n,
        a.data.describe()
    );
    md += &render(&columns, &checked);
    if !missing.is_empty() {
        md += "\nNot in this table (model files not found, skipped under `--allow-missing`):\n";
        for m in &missing {
            md += &format!("- `{}`\n", m.display());
        }
    }
    let dir = match a.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stem = a.out.file_stem().and_then(|s| s.to_str()).unwrap_or("headline");
    write_out(&dir, &out_name, &md)?;
    write_out(
        &dir,
        &format!("{stem}.json"),
        &serde_json::to_string_pretty(&serde_json::json!({"columns": columns, "claims": checked}))?,
    )?;
    print!("{md}");
    Ok(())
}

/// The `--finetuned` argument: one model, or one per α.
enum Finetuned {
    One(PathBuf),
    PerAlpha(Vec<(u32, PathBuf)>),
}

impl Finetuned {
    fn parse(arg: &str, alphas: &[u32]) -> Finetuned {
        if arg.contains("{alpha}") {
            Finetuned::PerAlpha(
                alphas
                    .iter()
                    .map(|a| (*a, PathBuf::from(arg.replace("{alpha}", &a.to_string()))))
                    .collect(),
            )
        } else {
            Finetuned::One(PathBuf::from(arg))
        }
    }

    /// The files that must exist for a complete column.
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Finetuned::One(p) => vec![p.clone()],
            Finetuned::PerAlpha(parts) => parts.iter().map(|(_, p)| p.clone()).collect(),
        }
    }
}
