//! pann-he's `f64` SmallCnn — the plaintext mirror every encrypted run is checked against — against pann-nn's
//! libtorch smallcnn, the network `pann eval` measures: the same weights (models/smallcnn-cifar10.safetensors),
//! the same CIFAR-10 test images, exact ReLUs, and polynomial ReLUs built as `pann eval` builds them with the
//! bounds `pann he infer` calibrates (with and without the mean-leak correction).
//!
//! Tolerance: libtorch runs in `f32` with batch norm as a separate layer, the mirror in `f64` with batch norm
//! folded into the convolutions; logits of magnitude ~10 then differ by `f32` rounding: at most 9.6·10^-6 over
//! these 100 images, in both memory layouts, at every α here. The bound [`TOL`] = 10^-4 is ten times that, and
//! a hundred times below the polynomial's own effect on the logits (asserted, so the comparison can see it).

use pann_approx::CompositeSign;
use pann_data::test_utils::{cifar10_dir, repo_dir, require};
use pann_data::{load_cifar10, Dataset, Normalization, Split};
use pann_encrypted::{calibrate, Network};
use pann_eval::plan::poly_relu;
use pann_eval::ReluShift;
use pann_he::circuits::SmallCnn;
use pann_nn::tch::{self, Tensor};
use pann_nn::{Activation, Activations, ForwardCtx, Model, OverflowPolicy};

/// Largest allowed `|mirror − libtorch|` over all logits.
const TOL: f64 = 1e-4;
/// Test images compared.
const IMAGES: usize = 100;
/// Training images the bounds are calibrated on (as `pann he infer --calib-images`).
const CALIB: usize = 200;

struct Fixture {
    model: Model,
    mirror: SmallCnn,
    test: Vec<Vec<f32>>,
    calib: Vec<Vec<f64>>,
}

fn fixture() -> Option<Fixture> {
    let dir = cifar10_dir();
    if !require(&dir, "the bundled CIFAR-10, ../shared/data/cifar-10-batches-bin") {
        return None;
    }
    let path = repo_dir().join("models/smallcnn-cifar10.safetensors");
    let model = Model::load(&path).unwrap();
    let mirror = SmallCnn::load(&path).unwrap();
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
        mirror,
        test,
        calib,
    })
}

/// libtorch's logits for `images` under `acts`, in `f64`; fails on any ReLU input beyond its bound.
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

fn argmax(v: &[f64]) -> usize {
    pann_encrypted::infer::argmax(v)
}

/// Largest `|a − b|` over all logits of all images.
fn max_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f64::max)
}

/// Compares the mirror with libtorch in both of libtorch's memory layouts.
fn assert_agree(f: &mut Fixture, mirror: &[Vec<f64>], acts: &Activations, what: &str) {
    for channels_last in [false, true] {
        f.model.set_channels_last(channels_last);
        let torch = torch_logits(&f.model, &f.test, acts);
        let d = max_diff(mirror, &torch);
        eprintln!("{what}, channels-last {channels_last}: max logit difference {d:.2e}");
        assert!(d < TOL, "{what}, channels-last {channels_last}: logits differ by {d:e}");
        for (i, (m, t)) in mirror.iter().zip(&torch).enumerate() {
            assert_eq!(argmax(m), argmax(t), "{what}: image {i} predicted differently");
        }
    }
    f.model.set_channels_last(false);
}

#[test]
fn exact_logits_agree_with_libtorch() {
    let Some(mut f) = fixture() else { return };
    let mirror: Vec<Vec<f64>> = f
        .test
        .iter()
        .map(|x| {
            let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            f.mirror.forward(&x, |z| z.max(0.0), |z| z.max(0.0)).0
        })
        .collect();
    let acts = Activations::exact_for(&f.model);
    assert_agree(&mut f, &mirror, &acts, "exact");
}

#[test]
fn polynomial_logits_agree_with_libtorch_at_the_calibrated_bounds() {
    let Some(mut f) = fixture() else { return };
    let net = Network::SmallCnn(f.mirror.clone());
    let test64: Vec<Vec<f64>> = f
        .test
        .iter()
        .map(|x| x.iter().map(|&v| f64::from(v)).collect())
        .collect();
    let exact: Vec<Vec<f64>> = test64.iter().map(|x| net.exact_logits(x)).collect();
    for alpha in [5, 7, 10] {
        let sign = CompositeSign::for_alpha(alpha).unwrap();
        let bounds = calibrate::bounds(&net, &f.calib, &sign, 1.5);
        let lists = sign.coefficient_lists();
        let pann = |l: usize, z: f64| calibrate::pann_relu(&lists, bounds[l], z);
        // libtorch's ReLUs as `pann eval` builds them; an input beyond its bound is an error, so the mirror's
        // clamp (calibration only) never acts on these images.
        let plan = |offsets: Option<&[Vec<f64>]>| Activations {
            relu: (0..2)
                .map(|l| {
                    let mut p = poly_relu(&sign, bounds[l], OverflowPolicy::Error, ReluShift::NONE).unwrap();
                    p.offsets = offsets.map_or_else(Vec::new, |o| o[l].clone());
                    Activation::Poly(p)
                })
                .collect(),
            pool: Vec::new(),
        };

        let mirror: Vec<Vec<f64>> = test64.iter().map(|x| net.forward(x, pann).0).collect();
        let effect = max_diff(&mirror, &exact);
        assert!(
            effect > 100.0 * TOL,
            "α = {alpha}: the polynomial changes the logits by only {effect:e}; the comparison would not see it"
        );
        assert_agree(&mut f, &mirror, &plan(None), &format!("α = {alpha}"));

        // The mean-leak correction: per-channel offsets in pann-nn, subtracted per channel in the mirror.
        let leaks = calibrate::mean_leaks(&net, &f.calib, &sign, &bounds).unwrap();
        assert!(leaks.iter().flatten().any(|&m| m != 0.0));
        let corrected: Vec<Vec<f64>> = test64
            .iter()
            .map(|x| {
                f.mirror
                    .pass(x, |c, z| pann(0, z) - leaks[0][c], |c, z| pann(1, z) - leaks[1][c])
                    .logits
            })
            .collect();
        assert!(
            max_diff(&corrected, &mirror) > 10.0 * TOL,
            "α = {alpha}: the correction changes nothing"
        );
        assert_agree(
            &mut f,
            &corrected,
            &plan(Some(&leaks)),
            &format!("α = {alpha}, leak-corrected"),
        );
    }
}
