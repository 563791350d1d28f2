//! `pann he`: a PANN run under real homomorphic encryption (RNS-CKKS, crates/pann-he), end to end.
//!
//! `pann he infer` loads a smallcnn, calibrates its per-layer ReLU bounds on training images, builds the
//! smallest 128-bit-secure parameter set with the levels the network needs, generates keys, then for each test
//! image encrypts it (client), runs the network on the ciphertext (server), decrypts the logits (client), and
//! compares them with the same PANN computed in plaintext. `pann he params` lists the parameter presets.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use pann_approx::CompositeSign;
use pann_data::{Normalization, Split};
use pann_he::circuits::{EncryptedSlots, HeCnn, SmallCnn};
use pann_he::ckks::{presets, Decryptor, Encoder, Encryptor, Evaluator, Parameters, ParametersLiteral};
use pann_he::rlwe::KeyGenerator;
use serde_json::json;

use super::eval::{load_data, shared_dir, DatasetKind};

/// Arguments of `pann he`.
#[derive(Args, Debug)]
pub struct HeArgs {
    #[command(subcommand)]
    command: HeCommand,
}

#[derive(Subcommand, Debug)]
enum HeCommand {
    /// Encrypted inference of a smallcnn on test images, checked against the plaintext PANN.
    Infer(InferArgs),
    /// The CKKS parameter presets: ring degree, modulus, levels, security bound.
    Params(ParamsArgs),
}

/// Arguments of `pann he infer`.
#[derive(Args, Debug)]
pub struct InferArgs {
    /// A smallcnn model (safetensors, as `pann train --arch smallcnn` writes it).
    #[arg(long, default_value = "models/smallcnn-cifar10.safetensors")]
    model: PathBuf,
    /// Data directory. Default: the bundled CIFAR-10.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Data set layout.
    #[arg(long, value_enum, default_value = "cifar10")]
    dataset: DatasetKind,
    /// Precision α of the ReLU approximation (error 2^-α).
    #[arg(long, default_value_t = 7)]
    alpha: u32,
    /// Test images to run encrypted (the first N of the test set).
    #[arg(long, default_value_t = 10)]
    images: usize,
    /// Training images that calibrate the per-layer ReLU bounds.
    #[arg(long, default_value_t = 2000)]
    calib_images: usize,
    /// Margin on the calibrated bounds (inputs beyond the bound make the polynomial diverge).
    #[arg(long, default_value_t = 1.5)]
    margin: f64,
    /// Input normalisation: imagenet, cifar, none, or MEAN,…/STD,….
    #[arg(long, default_value = "imagenet")]
    norm: String,
    /// Subtract each ReLU channel's mean approximation error, measured on the calibration images (the
    /// mean-leak correction of `pann eval --leak-correction`; free under encryption: it folds into biases).
    #[arg(long)]
    leak_correction: bool,
    /// log2 of the CKKS scale (and size of the rescaling primes).
    #[arg(long, default_value_t = 40)]
    log_scale: u32,
    /// Print one JSON object instead of per-image lines.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pann he params`.
#[derive(Args, Debug)]
pub struct ParamsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Entry point of `pann he`.
pub fn run(args: HeArgs) -> Result<()> {
    match args.command {
        HeCommand::Infer(a) => infer(a),
        HeCommand::Params(a) => params(a),
    }
}

fn describe(p: &Parameters) -> serde_json::Value {
    json!({
        "log_n": p.log_n(),
        "log_qp": (p.log_qp() * 10.0).round() / 10.0,
        "levels": p.max_level(),
        "log_scale": p.literal().log_scale,
        "q_bits": p.literal().log_q,
        "p_bits": p.literal().log_p,
        "digits": p.digit_count(),
        "max_log_qp_128": pann_he::ckks::params::max_log_qp_128(p.log_n()),
    })
}

fn params(args: ParamsArgs) -> Result<()> {
    let sets: [(&str, ParametersLiteral); 3] = [
        ("pn14_qp400", presets::pn14_qp400()),
        ("pn15_qp881", presets::pn15_qp881()),
        ("pn16_qp1500", presets::pn16_qp1500()),
    ];
    let mut rows = Vec::new();
    for (name, lit) in sets {
        let p = Parameters::new(lit)?;
        let mut d = describe(&p);
        d["name"] = json!(name);
        rows.push(d);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<12} {:>6} {:>8} {:>7} {:>7} {:>8}  128-bit bound",
            "preset", "log N", "log QP", "levels", "digits", "log Δ"
        );
        for r in &rows {
            println!(
                "{:<12} {:>6} {:>8} {:>7} {:>7} {:>8}  log QP ≤ {}",
                r["name"].as_str().unwrap_or(""),
                r["log_n"],
                r["log_qp"],
                r["levels"],
                r["digits"],
                r["log_scale"],
                r["max_log_qp_128"]
            );
        }
    }
    Ok(())
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) },
        )
        .0
}

fn infer(args: InferArgs) -> Result<()> {
    if args.images == 0 {
        bail!("--images must be at least 1");
    }
    if !(args.margin.is_finite() && args.margin >= 1.0) {
        bail!("--margin must be a number ≥ 1, got {}", args.margin);
    }
    let net = SmallCnn::load(&args.model)?;
    let sign = CompositeSign::for_alpha(args.alpha)?;
    let norm: Normalization = args.norm.parse()?;
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(|| shared_dir().join("data/cifar-10-batches-bin"));
    // (Fashion-MNIST arrives as 3×32×32, as `pann train` feeds it: see `load_data`.)
    let test = load_data(args.dataset, &data_dir, Split::Test, Some(args.images))?;
    if args.images == 0 || args.calib_images == 0 {
        bail!("--images and --calib-images must be at least 1");
    }
    let train = load_data(args.dataset, &data_dir, Split::Train, Some(args.calib_images))?;
    let side = net.side;
    if test.channels != net.in_channels() || test.height != side || test.width != side {
        bail!(
            "{}: images are {}×{}×{}, the model takes {}×{side}×{side}",
            data_dir.display(),
            test.channels,
            test.height,
            test.width,
            net.in_channels()
        );
    }
    let to_f64 = |d: &pann_data::Dataset, range: std::ops::Range<usize>| -> Result<Vec<Vec<f64>>> {
        let flat = norm.normalize(d, range.clone())?;
        Ok(flat
            .chunks_exact(d.image_len())
            .map(|c| c.iter().map(|&v| v as f64).collect())
            .collect())
    };
    let calib = to_f64(&train, 0..train.n)?;
    let images = to_f64(&test, 0..test.n)?;

    // Per-layer bounds: B1 from the exact network, B2 from the network with the approximate first ReLU.
    let lists = sign.coefficient_lists();
    let pann_relu = |b: f64| {
        let lists = &lists;
        move |z: f64| {
            let y = (z / b).clamp(-1.0, 1.0);
            b * y * (1.0 + pann_approx::certify::eval_composite_power(lists, y)) / 2.0
        }
    };
    let b1 = args.margin
        * calib
            .iter()
            .map(|x| net.forward(x, |z| z.max(0.0), |z| z.max(0.0)).1[0])
            .fold(0.0, f64::max);
    let b2 = args.margin
        * calib
            .iter()
            .map(|x| net.forward(x, pann_relu(b1), |z| z.max(0.0)).1[1])
            .fold(0.0, f64::max);
    let levels_needed = 3 + 2 * sign.relu_depth() as usize;
    let min_log_n = {
        let block = side * side;
        let most = [net.conv1.cin, net.conv1.cout, net.conv2.cout]
            .iter()
            .map(|c| c.next_power_of_two() * block)
            .max()
            .unwrap_or(block);
        (2 * most).next_power_of_two().trailing_zeros()
    };
    let lit = presets::for_levels(min_log_n, levels_needed, args.log_scale).with_context(|| {
        format!(
            "no 128-bit secure parameter set up to N = 2^16 holds {levels_needed} levels of {} bits",
            args.log_scale
        )
    })?;
    // The preset fixes everything but the scale, so a refused parameter set is --log-scale's doing.
    let params = Arc::new(Parameters::new(lit).with_context(|| format!("--log-scale {}", args.log_scale))?);
    let leaks = args
        .leak_correction
        .then(|| net.mean_leaks(&calib, pann_relu(b1), pann_relu(b2)));
    let he = HeCnn::new(net.clone(), [b1, b2], sign.clone(), params.slots(), leaks.as_ref())?;
    let rotations = he.rotations()?;

    let t0 = Instant::now();
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::new(params.clone());
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk);
    let rlk = kg.relin_key(&sk);
    let gks = kg.galois_keys(&sk, &rotations);
    let keygen_seconds = t0.elapsed().as_secs_f64();
    let eval = Evaluator::new(params.clone(), encoder.clone(), Some(rlk), gks);
    let mut enc = Encryptor::new(params.clone(), encoder.clone());
    let dec = Decryptor::new(params.clone(), encoder.clone(), sk);
    let backend = EncryptedSlots { eval: &eval };
    if !args.json {
        eprintln!(
            "smallcnn {} | α = {} {:?} (ReLU depth {}) | B = [{b1:.2}, {b2:.2}] | N = 2^{}, log QP = {:.0}, {} levels, {} rotation keys, keys in {keygen_seconds:.1} s",
            args.model.display(),
            args.alpha,
            sign.degrees,
            sign.relu_depth(),
            params.log_n(),
            params.log_qp(),
            params.max_level(),
            rotations.len()
        );
    }

    let (mut correct_enc, mut correct_plain, mut correct_exact, mut agree, mut overflows) = (0, 0, 0, 0, 0);
    let mut max_err = 0f64;
    let mut eval_seconds = 0f64;
    let mut failures = Vec::new();
    for (i, x) in images.iter().enumerate() {
        let label = test.labels[i] as usize;
        let (plain, over) = he.run_plain(x)?;
        overflows += over;
        let exact = net.forward(x, |z| z.max(0.0), |z| z.max(0.0)).0;
        let pt = enc.encode(&he.input_slots(x)?, params.max_level(), params.default_scale())?;
        let ct = enc.encrypt_pk(&pt, &pk);
        let t = Instant::now();
        let out = he.run(&backend, &ct)?;
        eval_seconds += t.elapsed().as_secs_f64();
        let decrypted = match dec.decrypt_values(&out, params.slots()) {
            Ok(v) => Some(he.logit_slots().iter().map(|&s| v[s]).collect::<Vec<f64>>()),
            Err(e) => {
                failures.push(format!("image {i}: {e}"));
                None
            }
        };
        // A failed decryption is listed in `decryption_failures` and counted as a wrong, non-agreeing prediction;
        // the largest logit error is over the images that decrypted (JSON has no infinity).
        let err = decrypted.as_ref().map(|logits| {
            logits
                .iter()
                .zip(&plain)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        });
        if let Some(e) = err {
            max_err = max_err.max(e);
        }
        let pe = decrypted.as_deref().map(argmax);
        let (pp, px) = (argmax(&plain), argmax(&exact));
        correct_enc += (pe == Some(label)) as usize;
        correct_plain += (pp == label) as usize;
        correct_exact += (px == label) as usize;
        agree += (pe == Some(pp)) as usize;
        if !args.json {
            eprintln!(
                "image {i:>4}: label {label} encrypted {} plaintext-PANN {pp} exact {px} | max logit error {} | {:.1} s",
                pe.map_or("(decryption failed)".to_string(), |p| p.to_string()),
                err.map_or("—".to_string(), |e| format!("{e:.2e}")),
                t.elapsed().as_secs_f64()
            );
        }
    }
    let n = images.len() as f64;
    let report = json!({
        "images": images.len(),
        "accuracy_encrypted": correct_enc as f64 / n,
        "accuracy_plaintext_pann": correct_plain as f64 / n,
        "accuracy_exact": correct_exact as f64 / n,
        "agreement": agree as f64 / n,
        "max_logit_error": max_err,
        "seconds_per_image": eval_seconds / n,
        "keygen_seconds": keygen_seconds,
        "relu_input_overflows": overflows,
        "decryption_failures": failures,
        "alpha": args.alpha,
        "degrees": sign.degrees,
        "depth": he.depth(),
        "bounds": [b1, b2],
        "leak_correction": leaks.as_ref().map(|[a, b]| {
            a.iter().chain(b).fold(0f64, |m, v| m.max(v.abs()))
        }),
        "rotation_keys": rotations.len(),
        "threads": rayon::current_num_threads(),
        "params": describe(&params),
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
