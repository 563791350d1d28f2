//! pann-he's ResNet slot program on plaintext slots — the mirror every encrypted ResNet run is checked against
//! — against pann-nn's libtorch ResNet-20, the network `pann eval` measures: the same weights
//! (models/resnet20-pann.safetensors), the same CIFAR-10 test images, exact ReLUs, and polynomial ReLUs built as
//! `pann eval` builds them with the bounds `pann he infer` calibrates for a ResNet (pann-eval's `calibrate`
//! rule on the `f64` mirror).
//!
//! Tolerance: libtorch runs in `f32` with batch norm as a separate layer, the mirror in `f64` with batch norm
//! folded and the convolutions as rotations and masks of the multiplexed packing; logits differ by `f32`
//! rounding: at most 5·10^-6 over these images, exact and at α = 7 and 9. [`TOL`] = 10^-4 is twenty times that,
//! and a hundred times below the polynomial's own effect on the logits (asserted, so the comparison can see
//! it).

use pann_approx::CompositeSign;
use pann_data::test_utils::{cifar10_dir, repo_dir, require};
use pann_data::{load_cifar10, Dataset, Normalization, Split};
use pann_encrypted::{calibrate, Network};
use pann_eval::plan::poly_relu;
use pann_eval::ReluShift;
use pann_he::circuits::{HeResNet, PlainSlots, ResNet};
use pann_nn::tch::{self, Tensor};
use pann_nn::{Activation, Activations, ForwardCtx, Model, OverflowPolicy};

/// Largest allowed `|mirror − libtorch|` over all logits.
const TOL: f64 = 1e-4;
/// Test images compared (the slot program at 2^15 slots takes about a second per image).
const IMAGES: usize = 8;
/// Training images the bounds are calibrated on.
const CALIB: usize = 100;

struct Fixture {
    model: Model,
    net: ResNet,
    test: Vec<Vec<f32>>,
    calib: Vec<Vec<f64>>,
}

fn fixture() -> Option<Fixture> {
    let dir = cifar10_dir();
    if !require(&dir, "the bundled CIFAR-10, ../shared/data/cifar-10-batches-bin") {
        return None;
    }
    let path = repo_dir().join("models/resnet20-pann.safetensors");
    let model = Model::load(&path).unwrap();
    let net = ResNet::load(&path).unwrap();
    let norm = Normalization::imagenet();
    let images = |d: &Dataset| -> Vec<Vec<f32>> {
        let flat = norm.normalize(d, 0..d.n).unwrap();
        flat.chunks_exact(d.image_len()).map(<[f32]>::to_vec).collect()
    };
    let test = images(&load_cifar10(&dir, Split::Test, Some(IMAGES)).unwrap());
    let calib = images(&load_cifar10(&dir, Split::Train, Some(CALIB)).unwrap())
        .into_iter()
        .map(|x| x.into_iter().map(f64::from).collect())
        .collect();
    Some(Fixture {
        model,
        net,
        test,
        calib,
    })
}

fn torch_logits(model: &Model, images: &[Vec<f32>], acts: &Activations) -> Vec<Vec<f64>> {
    let flat: Vec<f32> = images.concat();
    let xs = Tensor::from_slice(&flat).view([images.len() as i64, 3, 32, 32]);
    let mut ctx = ForwardCtx::new(model, acts).unwrap();
    let out = tch::no_grad(|| model.forward(&xs, &mut ctx)).unwrap();
    let classes = out.size()[1] as usize;
    let values = Vec::<f32>::try_from(out.flatten(0, -1)).unwrap();
    values
        .chunks_exact(classes)
        .map(|c| c.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

fn max_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f64::max)
}

/// The slot program on plaintext `f64` slots (2^15 slots, as at `N = 2^16`).
fn program_logits(he: &HeResNet, images: &[Vec<f64>]) -> Vec<Vec<f64>> {
    images
        .iter()
        .map(|x| {
            let out = he.run(&PlainSlots::default(), &he.input_slots(x).unwrap()).unwrap();
            he.logit_slots().iter().map(|&s| out[s]).collect()
        })
        .collect()
}

#[test]
fn resnet20_slot_program_agrees_with_libtorch_exact_and_polynomial() {
    let Some(f) = fixture() else { return };
    let test64: Vec<Vec<f64>> = f
        .test
        .iter()
        .map(|x| x.iter().map(|&v| f64::from(v)).collect())
        .collect();
    // Exact ReLUs: the f64 ResNet against libtorch.
    let exact: Vec<Vec<f64>> = test64.iter().map(|x| f.net.pass(x, |_, z| z.max(0.0)).0).collect();
    let torch = torch_logits(&f.model, &f.test, &Activations::exact_for(&f.model));
    let d = max_diff(&exact, &torch);
    eprintln!("exact: max logit difference {d:.2e}");
    assert!(d < TOL, "exact logits differ by {d:e}");

    let network = Network::ResNet(f.net.clone());
    let sites = f.net.sites();
    for alpha in [7u32, 9] {
        let sign = CompositeSign::for_alpha(alpha).unwrap();
        let bounds = calibrate::exact_bounds(&network, &f.calib, 1.5);
        assert_eq!(bounds.len(), sites);
        let he = HeResNet::new(f.net.clone(), bounds.clone(), vec![sign.clone(); sites], 1 << 15).unwrap();
        let mirror = program_logits(&he, &test64);
        let effect = max_diff(&mirror, &exact);
        assert!(
            effect > 100.0 * TOL,
            "α = {alpha}: the polynomial changes the logits by only {effect:e}"
        );
        let acts = Activations {
            relu: bounds
                .iter()
                .map(|&b| Activation::Poly(poly_relu(&sign, b, OverflowPolicy::Error, ReluShift::NONE).unwrap()))
                .collect(),
            pool: Vec::new(),
        };
        let torch = torch_logits(&f.model, &f.test, &acts);
        let d = max_diff(&mirror, &torch);
        eprintln!("α = {alpha}: max logit difference {d:.2e} (polynomial effect {effect:.2e})");
        assert!(d < TOL, "α = {alpha}: logits differ by {d:e}");
        for (i, (m, t)) in mirror.iter().zip(&torch).enumerate() {
            assert_eq!(
                pann_encrypted::infer::argmax(m),
                pann_encrypted::infer::argmax(t),
                "α = {alpha}: image {i}"
            );
        }
    }
}
