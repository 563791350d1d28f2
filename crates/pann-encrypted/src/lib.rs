//! # pann-encrypted
//!
//! Encrypted inference of trained networks: a PANN run under RNS-CKKS ([`pann_he`]) end to end and checked
//! against the same PANN in plaintext. It sits above pann-he (which never links libtorch) and beside pann-eval,
//! because it needs both the trained model's plaintext behaviour and the encrypted circuit.
//!
//! The pipeline, one module per step:
//! 1. [`calibrate`]: the bound of each ReLU layer (and the mean leaks) on plaintext training images, or
//!    [`range`]: Lee et al.'s rules of `pann eval --range` (`lee`, `lee-layers`) fitted on the test images run,
//!    by pann-eval on its libtorch PANN;
//! 2. [`params`]: the smallest 128-bit secure ring with the levels pann-eval's cost model charges, or the
//!    bootstrapping preset for a network too deep for any ring (a ResNet: bootstraps planned by pann-he);
//! 3. [`network`]: the network compiled to a CKKS program ([`Circuit`]);
//! 4. [`keys`]: keys, once per run;
//! 5. [`infer`]: per image, encrypt → run → decrypt, against the plaintext PANN and the exact network;
//! 6. [`report`]: the summary `pann he infer --json` prints; [`results`]: per-image results in a JSON-lines
//!    file, appended as they finish and read back to resume.
//!
//! [`run`] does all of it; [`EncryptedRun`] exposes steps 1–4 ([`EncryptedRun::prepare`]) apart from the
//! per-image work, for a caller that runs a subset of the images (a resumed run). The library never prints:
//! per-image results go to an [`Observer`].
//!
//! ```no_run
//! use pann_data::{load_cifar10, Split};
//! use pann_encrypted::{run, EncryptedInferenceConfig, Network};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let net = Network::load("models/smallcnn-cifar10.safetensors".as_ref())?;
//! let dir = std::path::Path::new("../shared/data/cifar-10-batches-bin");
//! let config = EncryptedInferenceConfig { images: 2, ..Default::default() };
//! let test = load_cifar10(dir, Split::Test, Some(config.images))?;
//! let calib = load_cifar10(dir, Split::Train, Some(config.calib_images))?;
//! let report = run(&config, &net, &calib, &test, &mut ())?;
//! assert_eq!(report.agreement, 1.0);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod calibrate;
pub mod config;
pub mod error;
pub mod infer;
pub mod keys;
pub mod network;
pub mod params;
pub mod range;
pub mod report;
pub mod results;

pub use config::EncryptedInferenceConfig;
pub use error::{Error, Result};
pub use infer::ImageResult;
pub use network::{Circuit, Network};
pub use params::{ParamsSummary, Preset};
pub use report::{Report, Setup};

use pann_data::{Dataset, Normalization};
use pann_eval::RangeRule;

use crate::keys::Keys;

/// Watches a run: the set-up once, then each image as it finishes (progress, per-image files). `()` watches
/// nothing.
pub trait Observer {
    /// After key generation, before the first image.
    fn ready(&mut self, _setup: &Setup) {}
    /// After each image, in order.
    fn image(&mut self, _result: &ImageResult) {}
    /// After [`Self::ready`], in a resumed run: `done` images were read back and will not run.
    fn resumed(&mut self, _done: usize) {}
}

impl Observer for () {}

/// A run prepared up to the first image: calibrated, compiled, keys generated.
pub struct EncryptedRun {
    net: Network,
    norm: Normalization,
    circuit: Circuit,
    keys: Keys,
    setup: Setup,
}

impl EncryptedRun {
    /// Calibrates `net` on the first `config.calib_images` of `calib`, chooses the parameters, compiles the
    /// circuit (and plans its bootstraps) and generates the keys, for a run of `config.images` images.
    pub fn prepare(config: &EncryptedInferenceConfig, net: &Network, calib: &Dataset) -> Result<Self> {
        config.validate()?;
        let signs = config.signs(net.relu_layers())?;
        if !net.bootstraps() && signs.iter().any(|s| s.degrees != signs[0].degrees) {
            return Err(Error::config(
                "site_alphas",
                format!("must be uniform for a {}", net.name()),
            ));
        }
        let sign = signs[0].clone();
        let calib = normalized(config, net, calib, config.calib_images)?;
        let bounds = site_bounds(config, net, &calib, &sign)?;
        let depths: Vec<u32> = signs.iter().map(|s| s.relu_depth()).collect();
        let levels = params::levels_needed(net, &depths);
        let leaks = config
            .leak_correction
            .then(|| calibrate::mean_leaks(net, &calib, &sign, &bounds))
            .transpose()?;
        let (circuit, keys) = if net.bootstraps() {
            let preset = params::bootstrap_preset(config, &depths);
            let params = params::from_literal(preset.literal.clone())?;
            let mut circuit = net.compile(&bounds, &signs, params.slots(), leaks.as_deref())?;
            // The fresh input starts at the bootstrapper's output level too: the levels above are the
            // bootstrapping primes (56–58 bits), which the circuit's scale management (primes ≈ Δ) cannot use.
            let boot_level = params.max_level().checked_sub(preset.boot.levels()).ok_or_else(|| {
                pann_he::Error::InvalidParameters(format!(
                    "bootstrapping needs {} levels, the preset has {}",
                    preset.boot.levels(),
                    params.max_level()
                ))
            })?;
            let base = pann_he::bootstrap::keys::rotations(&params, &preset.boot);
            circuit.plan(boot_level, boot_level, &base, config.extra_rotation_keys)?;
            let keys = Keys::generate_bootstrapping(params, &preset.boot, &circuit.rotations()?)?;
            (circuit, keys)
        } else {
            let params = params::choose(net, levels, config.log_scale)?;
            let circuit = net.compile(&bounds, &signs, params.slots(), leaks.as_deref())?;
            let keys = Keys::generate(params, &circuit.rotations()?);
            (circuit, keys)
        };
        if circuit.depth() != levels {
            return Err(Error::DepthMismatch {
                network: net.name(),
                program: circuit.depth(),
                cost_model: levels,
            });
        }
        let (bootstraps, rotations) = circuit.costs()?;
        let params = keys.params().clone();
        let setup = Setup {
            network: net.name().to_string(),
            images: config.images,
            alpha: config.alpha,
            degrees: sign.degrees.clone(),
            relu_depth: sign.relu_depth(),
            depth: circuit.depth(),
            range: range::name(&config.range),
            bounds_fitted_on: range::fitted_on(config, net, calib.len()),
            bounds,
            leaks,
            log_qp: params.log_qp(),
            params: ParamsSummary::of(&params),
            rotation_keys: keys.rotation_keys(),
            keygen_seconds: keys.seconds(),
            threads: rayon::current_num_threads(),
            bootstraps_per_image: bootstraps,
            rotations_per_image: rotations,
            keys_bytes: keys.bytes(),
        };
        Ok(Self {
            net: net.clone(),
            norm: config.norm.clone(),
            circuit,
            keys,
            setup,
        })
    }

    /// What the run was set up with.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// Runs image `index` of `test` (normalised as configured) encrypted and in plaintext.
    pub fn image(&mut self, test: &Dataset, index: usize) -> Result<ImageResult> {
        check_shape(&self.net, test)?;
        let x = self.norm.normalize(test, index..index + 1)?;
        let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let label = test.labels[index] as usize;
        infer::run_image(&self.net, &self.circuit, &mut self.keys, index, &x, label)
    }

    /// The report of `results`.
    pub fn report(&self, results: &[ImageResult]) -> Report {
        Report::new(&self.setup, results)
    }
}

/// The whole run: [`EncryptedRun::prepare`] on `calib`, then the first `config.images` images of `test` (fewer
/// if it has fewer), each reported to `observer`, then the [`Report`].
pub fn run(
    config: &EncryptedInferenceConfig,
    net: &Network,
    calib: &Dataset,
    test: &Dataset,
    observer: &mut dyn Observer,
) -> Result<Report> {
    config.validate()?;
    check_shape(net, test)?;
    let mut run = EncryptedRun::prepare(config, net, calib)?;
    let n = config.images.min(test.n);
    run.setup.images = n;
    observer.ready(run.setup());
    let mut results = Vec::with_capacity(n);
    for i in 0..n {
        let r = run.image(test, i)?;
        observer.image(&r);
        results.push(r);
    }
    Ok(run.report(&results))
}

/// The run's ReLU bounds, one per site, and what they were fitted on: [`EncryptedInferenceConfig::fitted`] if set,
/// else `calibrate` or a fixed bound computed on the `f64` mirror over the first `config.calib_images` of `calib`.
/// Nothing is compiled and no key is made (`pann he infer --bounds-only`).
pub fn bounds(config: &EncryptedInferenceConfig, net: &Network, calib: &Dataset) -> Result<(Vec<f64>, String)> {
    config.validate()?;
    let sign = config.signs(net.relu_layers())?[0].clone();
    let calib = normalized(config, net, calib, config.calib_images)?;
    let b = site_bounds(config, net, &calib, &sign)?;
    Ok((b, range::fitted_on(config, net, calib.len())))
}

fn site_bounds(
    config: &EncryptedInferenceConfig,
    net: &Network,
    calib: &[Vec<f64>],
    sign: &pann_approx::CompositeSign,
) -> Result<Vec<f64>> {
    Ok(match (&config.fitted, &config.range) {
        (Some(f), _) if f.bounds.len() != net.relu_layers() => {
            return Err(Error::config(
                "fitted",
                format!(
                    "has {} bounds, the {} has {} ReLU sites",
                    f.bounds.len(),
                    net.name(),
                    net.relu_layers()
                ),
            ))
        }
        (Some(f), _) => f.bounds.clone(),
        (None, RangeRule::Fixed(b)) => vec![*b; net.relu_layers()],
        (None, RangeRule::Calibrate { margin }) if net.bootstraps() => calibrate::exact_bounds(net, calib, *margin),
        (None, RangeRule::Calibrate { margin }) => calibrate::bounds(net, calib, sign, *margin),
        (None, rule @ (RangeRule::Lee(_) | RangeRule::LeeLayers(_))) => {
            return Err(Error::config(
                "range",
                format!(
                    "{}: the bounds are fitted on the libtorch PANN over the test images first (range::fit)",
                    range::name(rule)
                ),
            ))
        }
    })
}

fn check_shape(net: &Network, data: &Dataset) -> Result<()> {
    let got = [data.channels, data.height, data.width];
    let want = net.input_shape();
    if got != want {
        return Err(Error::ImageShape { got, want });
    }
    // A model without a card is run on the data as asked; one with another number of classes is not its data.
    if data.num_classes != net.classes() {
        return Err(Error::Classes {
            data: data.num_classes,
            model: net.classes(),
        });
    }
    Ok(())
}

/// The first `limit` images of `data`, normalised, as `f64`.
fn normalized(config: &EncryptedInferenceConfig, net: &Network, data: &Dataset, limit: usize) -> Result<Vec<Vec<f64>>> {
    check_shape(net, data)?;
    let n = limit.min(data.n);
    let flat = config.norm.normalize(data, 0..n)?;
    Ok(flat
        .chunks_exact(data.image_len())
        .map(|c| c.iter().map(|&v| v as f64).collect())
        .collect())
}
