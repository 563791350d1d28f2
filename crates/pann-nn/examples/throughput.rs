//! Measures inference throughput of the bundled ResNet-20 on the CIFAR-10 test set, with exact
//! ReLU and with a polynomial ReLU at all 19 sites, and the speed of the polynomial kernel
//! alone.
//!
//! ```text
//! source scripts/env.sh
//! cargo run --release -p pann-nn --example throughput [-- BATCH [IMAGES]]
//! ```
//!
//! The polynomial has the degree structure of a PANN composite (15, 15, 27) with placeholder
//! coefficients: the timing is what matters here, the accuracy it prints is meaningless.

use std::time::Instant;

use pann_data::{load_cifar10, Normalization, Split};
use pann_nn::{apply_relu, evaluate, Activation, Activations, Model, OverflowPolicy, PolyRelu, PoolActivation};
use tch::Tensor;

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let batch = args.first().copied().unwrap_or(500);
    let limit = args.get(1).copied();
    let shared = pann_data::shared_dir()?;
    let model = Model::load(&shared.join("models/resnet20-akamaster.safetensors"))?;
    let test = load_cifar10(&shared.join("data/cifar-10-batches-bin"), Split::Test, limit)?;
    let norm = Normalization::imagenet();

    let report = evaluate(&model, &test, &norm, batch, &Activations::exact_for(&model))?;
    println!(
        "resnet20 exact ReLU, batch {batch}: {:.2}% of {} in {:.2} s = {:.0} img/s",
        100.0 * report.accuracy(),
        report.total,
        report.seconds,
        report.throughput()
    );

    let comp = |deg: usize| -> Vec<f64> {
        (0..=deg)
            .map(|i| if i % 2 == 1 { 1.0 / (i * i) as f64 } else { 0.0 })
            .collect()
    };
    let poly = Activation::Poly(PolyRelu {
        components: vec![comp(15), comp(15), comp(27)],
        bound: 50.0,
        overflow: OverflowPolicy::Count,
        shift: 0.0,
        offsets: Vec::new(),
    });
    let n = model.relu_sites().len();
    let acts = Activations::uniform(n, poly.clone(), 0, PoolActivation::Exact);
    let report = evaluate(&model, &test, &norm, batch, &acts)?;
    println!(
        "resnet20 poly ReLU (15,15,27) at {n} sites: {:.2} s = {:.0} img/s",
        report.seconds,
        report.throughput()
    );

    let x = Tensor::randn([1 << 22], (tch::Kind::Float, tch::Device::Cpu)) * 10.0;
    let reps = 5;
    let start = Instant::now();
    for _ in 0..reps {
        let _ = apply_relu(&x, &poly)?;
    }
    let s = start.elapsed().as_secs_f64() / reps as f64;
    let start = Instant::now();
    for _ in 0..reps {
        let _ = x.copy();
    }
    let c = start.elapsed().as_secs_f64() / reps as f64;
    println!(
        "poly ReLU kernel (15,15,27), {} values: {:.0} M values/s ({:.0} M/s without the copy apply_relu makes)",
        x.numel(),
        x.numel() as f64 / s / 1e6,
        x.numel() as f64 / (s - c) / 1e6
    );
    Ok(())
}
