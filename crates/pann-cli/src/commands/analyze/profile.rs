//! `pann analyze profile`: what each model's ReLUs see, relative to the bounds a PANN would use.

use super::{models_or_bundled, write_out, DataArgs, ModelSpec};
use crate::{alpha_list, plot, progress::Bar};
use anyhow::Result;
use clap::Args;
use pann_eval::profile::{epsilons, profile_model, ModelProfile, ProfileConfig};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `pann analyze profile`.
#[derive(Args, Debug)]
pub struct ProfileArgs {
    /// Models, `LABEL=PATH` or `PATH`, repeatable (default: the bundled ResNet-20).
    #[arg(long = "model")]
    models: Vec<ModelSpec>,
    /// Precisions α whose poorly approximated zones |x| < ε_α·B are measured.
    #[arg(long, default_value = "6..12")]
    alpha: String,
    /// Global bound measured besides the calibrated per-layer ones (Lee et al.'s smallest B).
    #[arg(long, default_value_t = 50.0)]
    global_bound: f64,
    /// Margin on the calibrated per-layer bounds.
    #[arg(long, default_value_t = 1.1)]
    margin: f64,
    /// Test images profiled.
    #[arg(long, default_value_t = 2000)]
    images: usize,
    #[command(flatten)]
    data: DataArgs,
    /// Output directory for profile-sites.csv, profile-zones.csv, profile.json and profile.svg.
    #[arg(long, default_value = "results/analysis")]
    out: PathBuf,
}

#[derive(Serialize)]
struct Entry {
    model: String,
    path: String,
    profile: ModelProfile,
}

/// Runs `pann analyze profile`.
pub fn run(a: ProfileArgs) -> Result<()> {
    let alphas = alpha_list::parse(&a.alpha)?;
    pann_approx::ops::check_bound(a.global_bound)?;
    crate::output::ensure_writable_dir(&a.out)?;
    let norm = a.data.norm()?;
    let batch = a.data.batch()?;
    let test = a.data.test(Some(a.images))?;
    let calib = a.data.calib()?;
    let epsilons = epsilons(&alphas)?;
    let cfg = ProfileConfig {
        margin: a.margin,
        global_bound: a.global_bound,
        epsilons: &epsilons,
        batch,
    };
    let mut bar = Bar::new(true);
    let mut entries = Vec::new();
    for spec in models_or_bundled(&a.models)? {
        let model = a.data.load_model(&spec.path)?;
        for profile in profile_model(&model, &test, &calib, &norm, &cfg, &mut bar)? {
            entries.push(Entry {
                model: spec.label.clone(),
                path: spec.path.display().to_string(),
                profile,
            });
        }
    }
    print_summary(&entries);
    let mut sites = String::from(
        "model,bounds,site,elements,negative_fraction,max_abs,abs_q50,abs_q90,abs_q99,abs_q999,B,median_over_B\n",
    );
    let mut zones = String::from("model,bounds,site,alpha,epsilon,zone_fraction,negative_zone_fraction\n");
    for e in &entries {
        let p = &e.profile;
        for s in &p.sites {
            let q = s.abs_quantiles;
            sites += &format!(
                "{},{},{},{},{},{},{},{},{},{},{},{}\n",
                e.model,
                p.bounds,
                s.site,
                s.elements,
                s.negative_fraction,
                s.max_abs,
                q[0],
                q[1],
                q[2],
                q[3],
                s.bound,
                s.median_over_bound
            );
            for z in &s.leak_zones {
                zones += &format!(
                    "{},{},{},{},{},{},{}\n",
                    e.model, p.bounds, s.site, z.alpha, z.epsilon, z.fraction, z.negative_fraction
                );
            }
        }
        for z in &p.leak_zones {
            zones += &format!(
                "{},{},all,{},{},{},{}\n",
                e.model, p.bounds, z.alpha, z.epsilon, z.fraction, z.negative_fraction
            );
        }
    }
    write_out(&a.out, "profile-sites.csv", &sites)?;
    write_out(&a.out, "profile-zones.csv", &zones)?;
    write_out(&a.out, "profile.json", &serde_json::to_string_pretty(&entries)?)?;
    let series: Vec<plot::Series> = entries
        .iter()
        .map(|e| plot::Series {
            label: format!("{} ({})", e.model, e.profile.bounds),
            points: e
                .profile
                .leak_zones
                .iter()
                .map(|z| (z.alpha as f64, 100.0 * z.negative_fraction))
                .collect(),
            dashed: e.profile.bounds != "calibrated",
            group: e.model.clone(),
        })
        .collect();
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0f64, f64::max);
    plot::lines(
        &series,
        "ReLU inputs that leak: −ε_α·B < x < 0, share of all ReLU inputs",
        "α",
        "% of ReLU inputs",
        (0.0, top * 1.05),
        &a.out.join("profile.svg"),
    )?;
    println!("wrote {}/profile{{-sites.csv,-zones.csv,.json,.svg}}", a.out.display());
    Ok(())
}

fn print_summary(entries: &[Entry]) {
    print!(
        "{:<28} {:>7} {:>6} {:>7} {:>7}",
        "model (bounds)", "exact %", "neg %", "margin", "p10 m"
    );
    if let Some(e) = entries.first() {
        for z in &e.profile.leak_zones {
            print!(" {:>8}", format!("leak α{}", z.alpha));
        }
    }
    println!();
    for e in entries {
        let p = &e.profile;
        print!(
            "{:<28} {:>7.2} {:>6.1} {:>7.2} {:>7.2}",
            format!("{} ({})", e.model, p.bounds),
            100.0 * p.accuracy,
            100.0 * p.negative_fraction,
            p.logit_margins.median,
            p.logit_margins.p10
        );
        for z in &p.leak_zones {
            print!(" {:>7.3}%", 100.0 * z.negative_fraction);
        }
        println!();
    }
}
