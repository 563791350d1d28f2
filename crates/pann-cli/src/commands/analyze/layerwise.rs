//! `pann analyze layerwise`: the cheapest per-layer α within a tolerance of exact accuracy, searched on one part
//! of the test set and reported on the rest ([`pann_eval::layerwise::layerwise_study`]).

use super::{write_out, DataArgs};
use crate::{alpha_list, plot, progress::Bar};
use anyhow::{bail, Result};
use clap::Args;
use pann_eval::layerwise::{layerwise_study, Checked, LayerwiseResult, StudyConfig};
use pann_nn::Model;
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `pann analyze layerwise`.
#[derive(Args, Debug)]
pub struct LayerwiseArgs {
    /// Weights (default: the bundled ResNet-20).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Candidate precisions α.
    #[arg(long, default_value = "4..14")]
    alpha: String,
    /// Accepted accuracy loss against exact, in points.
    #[arg(long, default_value_t = 1.0)]
    tolerance: f64,
    /// Search on the first N test images; the result is reported on the remaining ones and on all.
    #[arg(long, default_value_t = 2000)]
    search_images: usize,
    /// Test images in all (search + report).
    #[arg(long, default_value_t = 10000)]
    images: usize,
    /// Margin on the calibrated per-layer bounds.
    #[arg(long, default_value_t = 1.1)]
    margin: f64,
    /// With the mean-leak correction at every site.
    #[arg(long)]
    leak_correction: bool,
    #[command(flatten)]
    data: DataArgs,
    /// Output directory for layerwise.json, layerwise.csv and layerwise.svg.
    #[arg(long, default_value = "results/analysis")]
    out: PathBuf,
    /// File name stem of the outputs.
    #[arg(long, default_value = "layerwise")]
    name: String,
}

#[derive(Serialize)]
struct Report {
    model: String,
    search_images: usize,
    held_out_images: usize,
    tolerance_points: f64,
    leak_correction: bool,
    search: LayerwiseResult,
    uniform_checked: Checked,
    layerwise_checked: Checked,
}

/// Runs `pann analyze layerwise`.
pub fn run(a: LayerwiseArgs) -> Result<()> {
    let alphas = alpha_list::parse(&a.alpha)?;
    if a.name.is_empty() || a.name.contains(['/', '\\']) || a.name.starts_with('.') {
        bail!("--name {:?}: expected a plain file name stem such as layerwise", a.name);
    }
    crate::output::ensure_writable_dir(&a.out)?;
    if !(a.tolerance.is_finite() && (0.0..100.0).contains(&a.tolerance)) {
        bail!("--tolerance {}: expected points in [0, 100)", a.tolerance);
    }
    if a.search_images == 0 || a.search_images >= a.images {
        bail!(
            "--search-images {} must be at least 1 and below --images {} (the rest is held out)",
            a.search_images,
            a.images
        );
    }
    let norm = a.data.norm()?;
    let batch = a.data.batch()?;
    let model_path = a.model.clone().map_or_else(crate::commands::eval::bundled_model, Ok)?;
    let model = a.data.load_model(&model_path)?;
    let test = a.data.test(Some(a.images))?;
    let calib = a.data.calib()?;
    let cfg = StudyConfig {
        alphas,
        tolerance: a.tolerance / 100.0,
        margin: a.margin,
        leak_correction: a.leak_correction,
        batch,
        search_images: a.search_images,
    };
    let study = layerwise_study(&model, &test, &calib, &norm, &cfg, &mut Bar::new(true))?;
    let report = Report {
        model: model_path.display().to_string(),
        search_images: study.search_images,
        held_out_images: study.held_out_images,
        tolerance_points: a.tolerance,
        leak_correction: a.leak_correction,
        search: study.search,
        uniform_checked: study.uniform_checked,
        layerwise_checked: study.layerwise_checked,
    };
    print_report(&model, &report);
    let mut csv = String::from("site,uniform_alpha,layerwise_alpha,layerwise_relu_depth,sensitivity_accuracy\n");
    let s = &report.search;
    for (i, site) in s.sites.iter().enumerate() {
        csv += &format!(
            "{},{},{},{},{}\n",
            site,
            s.uniform.alphas[i],
            s.layerwise.alphas[i],
            s.layerwise.relu_depths[i],
            s.sensitivity[i].map_or(String::new(), |v| v.to_string())
        );
    }
    write_out(&a.out, &format!("{}.csv", a.name), &csv)?;
    write_out(
        &a.out,
        &format!("{}.json", a.name),
        &serde_json::to_string_pretty(&report)?,
    )?;
    let pts = |v: &[u32]| {
        v.iter()
            .enumerate()
            .map(|(i, &x)| (i as f64, x as f64))
            .collect::<Vec<_>>()
    };
    let top = s
        .uniform
        .alphas
        .iter()
        .chain(&s.layerwise.alphas)
        .copied()
        .max()
        .unwrap_or(14) as f64;
    plot::lines(
        &[
            plot::Series {
                label: format!(
                    "uniform α = {} (net depth {})",
                    s.uniform.alphas[0], s.uniform.network_depth
                ),
                points: pts(&s.uniform.alphas),
                dashed: true,
                group: "uniform".into(),
            },
            plot::Series {
                label: format!("layer-wise (net depth {})", s.layerwise.network_depth),
                points: pts(&s.layerwise.alphas),
                dashed: false,
                group: "layerwise".into(),
            },
        ],
        "precision α per ReLU site, within the tolerance of exact accuracy",
        "ReLU site (forward order)",
        "α",
        (0.0, top + 1.0),
        &a.out.join(format!("{}.svg", a.name)),
    )?;
    println!("wrote {}/{}.{{csv,json,svg}}", a.out.display(), a.name);
    Ok(())
}

fn print_report(model: &Model, r: &Report) {
    let s = &r.search;
    println!(
        "{}: exact {:.2}% on {} search images, target {:.2}% ({} evaluations)",
        model.architecture(),
        100.0 * s.exact_accuracy,
        r.search_images,
        100.0 * s.target,
        s.evaluations
    );
    for (name, a, c) in [
        ("uniform", &s.uniform, &r.uniform_checked),
        ("layer-wise", &s.layerwise, &r.layerwise_checked),
    ] {
        println!(
            "{name:<10} network depth {:>4}  search {:.2}%  held-out {:.2}% (exact {:.2}%)  all {:.2}% (exact {:.2}%)  α {:?}",
            a.network_depth,
            100.0 * a.accuracy,
            100.0 * c.held_out.accuracy,
            100.0 * c.held_out_exact,
            100.0 * c.all.accuracy,
            100.0 * c.all_exact,
            a.alphas
        );
    }
}
