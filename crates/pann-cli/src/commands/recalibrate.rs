//! `pann recalibrate-bn`: re-estimate a trained network's BatchNorm statistics on unmixed
//! training images and write the result as a new model file (weights unchanged). Given several
//! models (snapshots of one run), it first averages their weights: stochastic weight averaging,
//! whose final step is exactly this BN update.
//!
//! Why a command of its own: it applies to any model `pann eval` reads — a finished run, a
//! fine-tune, a downloaded network — and needs no optimiser, schedule or checkpoint.

use crate::commands::card::{self, DataFlags};
use anyhow::{bail, Result};
use clap::Args;
use pann_data::Split;
use pann_nn::{average_models, evaluate, Activations, ModelCard, TrainActivation};
use pann_train::RecalibrationInputs;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `pann recalibrate-bn`.
#[derive(Args, Debug)]
pub struct RecalibrateArgs {
    /// Model to recalibrate (safetensors, architecture inferred); repeated or comma-separated,
    /// the models' weights are averaged first (SWA).
    #[arg(long, required = true, value_delimiter = ',')]
    model: Vec<PathBuf>,
    /// Where to write the recalibrated model (must differ from --model).
    #[arg(long)]
    out: PathBuf,
    // The data the model was trained on and its normalisation (default: the model card's); the model
    // written carries them in its card.
    #[command(flatten)]
    data: DataFlags,
    /// Use the first N training images [default: all].
    #[arg(long)]
    images: Option<usize>,
    /// Images per batch (the training batch size keeps the statistics comparable).
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// No random crop (4-pixel padding) and horizontal flip. By default the images are cropped
    /// and flipped as in training: a network learns with the statistics of padded crops, and
    /// statistics of plain images cost 2–3 points (measured, results/train/README.md).
    #[arg(long)]
    no_crop_flip: bool,
    /// Cutout square side, as in training; 0 is off.
    #[arg(long, default_value_t = 0)]
    cutout: usize,
    /// Seed of the crops, flips and cutout squares.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Evaluate before and after on the first N test images only [default: all].
    #[arg(long)]
    test_images: Option<usize>,
    /// libtorch threads [default: libtorch's choice, one per core].
    #[arg(long)]
    threads: Option<i32>,
}

/// Runs `pann recalibrate-bn`.
pub fn run(args: RecalibrateArgs) -> Result<()> {
    if let Some(t) = args.threads {
        if t < 1 {
            bail!("--threads {t}: expected at least 1");
        }
        tch::set_num_threads(t);
    }
    if args.model.contains(&args.out) {
        bail!(
            "--out {} is the input model; write the recalibrated model elsewhere",
            args.out.display()
        );
    }
    let cards = args
        .model
        .iter()
        .map(|p| card::read_card(p))
        .collect::<Result<Vec<_>>>()?;
    let with_paths: Vec<_> = args
        .model
        .iter()
        .map(PathBuf::as_path)
        .zip(cards.iter().map(Option::as_ref))
        .collect();
    let data = card::resolve_data(&args.data, &with_paths)?;
    let (kind, data_dir, norm) = (data.kind, &data.dir, &data.norm);
    let model = average_models(&args.model)?;
    let train = pann_data::load(kind, data_dir, Split::Train, args.images)?;
    let test = pann_data::load(kind, data_dir, Split::Test, args.test_images)?;
    let exact = Activations::exact_for(&model);
    // With several models, "before" is the last one as trained (the end of the run).
    let before = match args.model.as_slice() {
        [_] => evaluate(&model, &test, norm, 500, &exact)?.accuracy(),
        [.., last] => {
            let m = pann_nn::Model::load(last)?;
            evaluate(&m, &test, norm, 500, &Activations::exact_for(&m))?.accuracy()
        }
        [] => unreachable!("clap requires --model"),
    };
    let t = Instant::now();
    let inputs = RecalibrationInputs {
        batch: args.batch,
        images: args.images,
        crop_flip: !args.no_crop_flip,
        cutout: args.cutout,
        seed: args.seed,
    };
    let r = pann_train::recalibrate_on(&model, &train, norm, inputs, &TrainActivation::exact())?;
    let secs = t.elapsed().as_secs_f64();
    let after = evaluate(&model, &test, norm, 500, &exact)?.accuracy();
    // The statistics are now those of this data set and normalisation: the card says so.
    let out_card = ModelCard::new(model.architecture(), kind, &data.norm_spec)?;
    model.save_with_card(&args.out, &out_card)?;
    println!(
        "{}{}: {} BatchNorm layers re-estimated on {} training images ({}; {} batches, {secs:.1} s)",
        args.model[0].display(),
        match args.model.len() {
            1 => String::new(),
            k => format!(" and {} more, weights averaged", k - 1),
        },
        r.layers,
        r.images,
        match (!args.no_crop_flip, args.cutout) {
            (false, 0) => "plain".to_string(),
            (true, 0) => "crop+flip".to_string(),
            (false, c) => format!("cutout {c}"),
            (true, c) => format!("crop+flip, cutout {c}"),
        },
        r.batches
    );
    println!(
        "exact test accuracy on {} images: {:.2}% before (last model as trained), {:.2}% after ({:+.2} points)",
        test.n,
        100.0 * before,
        100.0 * after,
        100.0 * (after - before)
    );
    println!("model: {}", args.out.display());
    Ok(())
}
