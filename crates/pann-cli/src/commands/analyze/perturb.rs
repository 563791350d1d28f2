//! `pann analyze perturb`: which perturbations of the ReLU outputs hurt.

use crate::commands::card::{self, DataChoice, DataFlags};
use crate::{plot, progress::Bar};
use anyhow::{bail, Context, Result};
use clap::Args;
use pann_data::{DatasetKind, Normalization, Split};
use pann_eval::perturb_sweep::{perturbation_sweep, PerturbRow};
use pann_nn::Model;
use std::path::PathBuf;

/// Arguments of `pann analyze perturb`.
#[derive(Args, Debug)]
pub struct PerturbArgs {
    /// Weights (default: the bundled ResNet-20).
    #[arg(long)]
    model: Option<PathBuf>,
    /// CIFAR-10 directory (default: the bundled one).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Test images.
    #[arg(long, default_value_t = 2000)]
    images: usize,
    /// Error sizes δ, as exponents of 2 (e.g. -10,-8,-6 for 2^-10, 2^-8, 2^-6).
    #[arg(long, default_value = "-10,-8,-6,-4,-2,0,1", allow_hyphen_values = true)]
    log2_deltas: String,
    /// Seed of the random signs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory for perturb.csv, perturb.json and perturb.svg.
    #[arg(long, default_value = "results/analysis")]
    out: PathBuf,
}

/// Runs `pann analyze perturb`.
pub fn run(a: PerturbArgs) -> Result<()> {
    let deltas: Vec<f64> = a
        .log2_deltas
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .map(f64::exp2)
                .with_context(|| format!("--log2-deltas: '{s}' is not a number"))
        })
        .collect::<Result<_>>()?;
    // exp2 of a very negative exponent is 0 (or subnormal): no perturbation, and a log axis cannot show it.
    if deltas.is_empty() || deltas.iter().any(|d| !d.is_normal()) {
        bail!("--log2-deltas needs finite exponents between -1022 and 1023");
    }
    if a.images == 0 {
        bail!("--images must be at least 1");
    }
    crate::output::ensure_writable_dir(&a.out)?;
    let model_path = a.model.map_or_else(crate::commands::eval::bundled_model, Ok)?;
    let dir = a.data.map_or_else(|| DatasetKind::Cifar10.default_dir(), Ok)?;
    // CIFAR-10 with ImageNet statistics, as the bundled model was trained; a model card must agree.
    let choice = DataChoice {
        kind: DatasetKind::Cifar10,
        dir,
        norm: Normalization::imagenet(),
        norm_spec: "imagenet".into(),
    };
    let model_card = card::read_card(&model_path)?;
    card::check_card(&DataFlags::default(), &model_path, model_card.as_ref(), &choice)?;
    let model = Model::load(&model_path)?;
    let data = pann_data::load(choice.kind, &choice.dir, Split::Test, Some(a.images))?;
    let rows = perturbation_sweep(&model, &data, &choice.norm, &deltas, 500, a.seed, &mut Bar::new(true))?;
    let mut csv = String::from("region,sign,magnitude,delta,accuracy\n");
    for r in &rows {
        csv += &format!("{},{},{},{},{}\n", r.region, r.sign, r.magnitude, r.delta, r.accuracy);
    }
    let write = |name: &str, text: &str| -> Result<()> {
        let p = a.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write("perturb.csv", &csv)?;
    write("perturb.json", &serde_json::to_string_pretty(&rows)?)?;
    plot::perturb_plot(&rows, &a.out.join("perturb.svg"))?;
    print_table(&rows, &deltas);
    println!("wrote {}/perturb.{{csv,json,svg}}", a.out.display());
    Ok(())
}

fn print_table(rows: &[PerturbRow], deltas: &[f64]) {
    print!("{:<34}", "accuracy % at δ = 2^");
    for d in deltas {
        print!("{:>7.0}", d.log2());
    }
    println!();
    for chunk in rows.chunks(deltas.len()) {
        print!(
            "{:<34}",
            format!("{} / {} sign / {}", chunk[0].region, chunk[0].sign, chunk[0].magnitude)
        );
        for r in chunk {
            print!("{:>7.2}", 100.0 * r.accuracy);
        }
        println!();
    }
}
