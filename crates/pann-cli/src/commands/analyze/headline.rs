//! `pann analyze headline`: the headline table of issue 5, `results/headline.md`, from one command.

use super::precision::Rule;
use super::{load_model, write_out, DataArgs};
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
    /// pann's approximation-aware fine-tuned ResNet-20.
    #[arg(long, default_value = "models/resnet20-pann-ft.safetensors")]
    finetuned: PathBuf,
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
    let norm = a.data.norm()?;
    let batch = a.data.batch()?;
    let bundled = a.bundled.clone().unwrap_or_else(crate::commands::eval::bundled_model);
    let (lee, lee_leak) = (Rule::LEE, Rule::LEE_LEAK);
    let plan = [
        ("Lee et al., common recipe", &a.common, lee),
        ("Lee et al., bundled ResNet-20", &bundled, lee),
        ("bundled + leak corr.", &bundled, lee_leak),
        ("pann model, Lee's B", &a.friendly, lee),
        ("pann model + leak corr.", &a.friendly, lee_leak),
        ("pann fine-tuned + leak corr.", &a.finetuned, lee_leak),
    ];
    let mut missing = Vec::new();
    for (_, path, _) in &plan {
        if !path.exists() && !missing.contains(path) {
            missing.push(*path);
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
    let mut roles_of = Vec::new();
    for (i, (label, path, rule)) in plan.iter().enumerate() {
        if missing.contains(path) {
            continue;
        }
        let model = load_model(path)?;
        let cfg = rule.config(alphas.clone(), 1.1, batch);
        let summary = evaluate_pann(&model, &test, &norm, Some(&calib), &cfg, &mut bar, &mut ())?;
        eprintln!("{label}: exact {:.2}%", 100.0 * summary.exact.accuracy);
        columns.push(Column {
            label: label.to_string(),
            model: path.display().to_string(),
            method: if rule.leak {
                "Lee's global B with the mean-leak correction (`pann eval --leak-correction`)".into()
            } else {
                "Lee's global B (from 50 in steps of 5)".into()
            },
            summary,
        });
        roles_of.push(i);
    }
    if columns.is_empty() {
        bail!("no model file exists: nothing to tabulate");
    }
    // Lee et al.: the common-recipe column, or the bundled one; pann: the most complete of its columns present.
    let pos = |i: usize| roles_of.iter().position(|&j| j == i);
    let roles = match (pos(0).or(pos(1)), pos(5).or(pos(4)).or(pos(3))) {
        (Some(lee), Some(pann)) => Some(Roles { lee, pann }),
        _ => None,
    };
    let checked = roles.map(|r| claims(&columns, r)).unwrap_or_default();
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
        md += "\nNot in this table (model files that do not exist yet):\n";
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
