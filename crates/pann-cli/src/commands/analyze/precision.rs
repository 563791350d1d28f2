//! `pann analyze precision`: accuracy against α for several models and range rules, in one CSV/JSON/SVG.

use super::{models_or_bundled, write_out, DataArgs, ModelSpec};
use crate::{alpha_list, plot, progress::Bar};
use anyhow::{Context, Result};
use clap::Args;
use pann_eval::{evaluate_pann, EvalSummary, Rule};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `pann analyze precision`.
#[derive(Args, Debug)]
pub struct PrecisionArgs {
    /// Models, `LABEL=PATH` or `PATH`, repeatable (default: the bundled ResNet-20).
    #[arg(long = "model")]
    models: Vec<ModelSpec>,
    /// Precisions α: a list or range.
    #[arg(long, default_value = "4..14")]
    alpha: String,
    /// Range rules, comma-separated: lee, calibrate, lee+leak, calibrate+leak (+leak: mean-leak correction).
    #[arg(long, default_value = "lee,calibrate")]
    rules: String,
    /// Margin on the calibrated per-layer bounds.
    #[arg(long, default_value_t = 1.1)]
    margin: f64,
    /// Evaluate only the first N test images.
    #[arg(long)]
    images: Option<usize>,
    #[command(flatten)]
    data: DataArgs,
    /// Output directory for precision.csv, precision.json and precision.svg.
    #[arg(long, default_value = "results/analysis")]
    out: PathBuf,
}

/// One model under one rule.
#[derive(Serialize)]
struct Entry {
    model: String,
    path: String,
    rule: &'static str,
    summary: EvalSummary,
}

/// Runs `pann analyze precision`.
pub fn run(a: PrecisionArgs) -> Result<()> {
    let alphas = alpha_list::parse(&a.alpha)?;
    let rules = Rule::parse_list(&a.rules).context("--rules")?;
    crate::output::ensure_writable_dir(&a.out)?;
    let norm = a.data.norm()?;
    let batch = a.data.batch()?;
    let test = a.data.test(a.images)?;
    let calib = if rules.iter().any(Rule::needs_calibration) {
        Some(a.data.calib()?)
    } else {
        None
    };
    let mut entries = Vec::new();
    let mut bar = Bar::new(true);
    for spec in models_or_bundled(&a.models)? {
        let model = a.data.load_model(&spec.path)?;
        for rule in &rules {
            let cfg = rule.config(alphas.clone(), a.margin, batch);
            let summary = evaluate_pann(&model, &test, &norm, calib.as_ref(), &cfg, &mut bar, &mut ())?;
            print_entry(&spec.label, rule.name(), &summary);
            entries.push(Entry {
                model: spec.label.clone(),
                path: spec.path.display().to_string(),
                rule: rule.name(),
                summary,
            });
        }
    }
    let mut csv = String::from(
        "model,rule,exact_accuracy,alpha,degrees,accuracy,B,overflows,relu_depth,network_depth,leak_correction_max\n",
    );
    for e in &entries {
        for r in &e.summary.rows {
            csv += &format!(
                "{},{},{},{},{},{},{},{},{},{},{}\n",
                e.model,
                e.rule,
                e.summary.exact.accuracy,
                r.alpha,
                r.degrees.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("+"),
                r.accuracy,
                r.bound,
                r.overflows,
                r.relu_depth,
                r.network_depth,
                r.leak_correction_max.map_or(String::new(), |m| m.to_string())
            );
        }
    }
    write_out(&a.out, "precision.csv", &csv)?;
    write_out(&a.out, "precision.json", &serde_json::to_string_pretty(&entries)?)?;
    let series: Vec<plot::Series> = entries
        .iter()
        .map(|e| plot::Series {
            label: format!("{} ({})", e.model, e.rule),
            points: e
                .summary
                .rows
                .iter()
                .map(|r| (r.alpha as f64, 100.0 * r.accuracy))
                .collect(),
            dashed: e.rule.starts_with("calibrate"),
            group: e.model.clone(),
        })
        .collect();
    plot::lines(
        &series,
        "PANN accuracy against precision",
        "α (ReLU error 2^-α)",
        "top-1 accuracy %",
        (0.0, 100.0),
        &a.out.join("precision.svg"),
    )?;
    println!("wrote {}/precision.{{csv,json,svg}}", a.out.display());
    Ok(())
}

fn print_entry(label: &str, rule: &str, s: &EvalSummary) {
    println!("{label} ({rule}): exact {:.2}%", 100.0 * s.exact.accuracy);
    println!("{:>4} {:>8} {:>8} {:>7} {:>7}", "α", "acc %", "B", "ReLU d", "net d");
    for r in &s.rows {
        println!(
            "{:>4} {:>8.2} {:>8.1} {:>7} {:>7}",
            r.alpha,
            100.0 * r.accuracy,
            r.bound,
            r.relu_depth,
            r.network_depth
        );
    }
}
