//! `pann he infer --range`: Lee et al.'s rules fitted by pann-eval on its libtorch PANN give exactly the bounds
//! `pann eval --range lee|lee-layers` finds ([`pann_eval::evaluate_pann`], the function `pann eval` runs) for the
//! same model, images and α, on the committed smallcnn and the bundled uncarded ResNet-20 (PyTorch names,
//! option A); an encrypted run at Lee's bound agrees with the plaintext PANN with no ReLU input outside its
//! bound; and the combinations the rules cannot take yet are refused by field.

use pann_data::test_utils::{cifar10_dir, repo_dir, require, shared_dir};
use pann_data::{load_cifar10, Dataset, Normalization, Split};
use pann_encrypted::range::{fit, FittedBounds};
use pann_encrypted::{run, EncryptedInferenceConfig, EncryptedRun, Error, Network};
use pann_eval::{evaluate_pann, EvalConfig, LayerStep, LeeLayers, LeeSearch, RangeRule, ReluShift, Silent};
use pann_nn::{Model, OverflowPolicy};

/// The CIFAR-10 test and training images, or `None` (skipped) without the bundled data.
fn cifar(test: usize, calib: usize) -> Option<(Dataset, Dataset)> {
    let dir = cifar10_dir();
    if !require(&dir, "the bundled CIFAR-10, ../shared/data/cifar-10-batches-bin") {
        return None;
    }
    Some((
        load_cifar10(&dir, Split::Test, Some(test)).unwrap(),
        load_cifar10(&dir, Split::Train, Some(calib)).unwrap(),
    ))
}

/// What `pann eval --range <rule> --alpha <alpha> --images <test.n> --calib-images <calib.n>` computes: its one
/// row's per-site bounds (the global one repeated for `lee`) and overflows.
fn pann_eval_bounds(model: &Model, test: &Dataset, calib: &Dataset, alpha: u32, range: RangeRule) -> (Vec<f64>, u64) {
    let cfg = EvalConfig {
        alphas: vec![alpha],
        range,
        overflow: OverflowPolicy::Count,
        batch: 500,
        relu_shift: ReluShift::NONE,
        leak_correction: false,
        leak_iterations: 1,
    };
    let s = evaluate_pann(
        model,
        test,
        &Normalization::imagenet(),
        Some(calib),
        &cfg,
        &mut Silent,
        &mut (),
    )
    .unwrap();
    let row = &s.rows[0];
    let bounds = row
        .bounds
        .clone()
        .unwrap_or_else(|| vec![row.bound; model.relu_sites().len()]);
    (bounds, row.overflows)
}

fn fitted(config: &EncryptedInferenceConfig, path: &std::path::Path, test: &Dataset, calib: &Dataset) -> FittedBounds {
    let net = Network::load(path).unwrap();
    let model = Model::load(path).unwrap();
    fit(config, &model, &net, test, calib, &mut Silent).unwrap().unwrap()
}

fn lee_layers_agree(path: &std::path::Path, alpha: u32, images: usize, calib_images: usize, sites: usize) {
    let Some((test, calib)) = cifar(images, calib_images) else {
        return;
    };
    let rule = LeeLayers {
        margin: 1.1,
        step: LayerStep::Factor(1.1),
        ..LeeLayers::default()
    };
    let config = EncryptedInferenceConfig {
        alpha,
        images,
        calib_images,
        range: RangeRule::LeeLayers(rule),
        ..Default::default()
    };
    let f = fitted(&config, path, &test, &calib);
    let (want, overflows) = pann_eval_bounds(
        &Model::load(path).unwrap(),
        &test,
        &calib,
        alpha,
        RangeRule::LeeLayers(rule),
    );
    assert_eq!(f.bounds.len(), sites);
    assert_eq!(f.bounds, want, "he infer's lee-layers bounds are pann eval's");
    assert_eq!((f.overflows, overflows), (0, 0));
    assert_eq!((f.images, f.calib_images), (images, calib_images));
    let start = f.start.as_ref().unwrap();
    assert!(
        f.bounds.iter().zip(start).all(|(b, s)| b >= s),
        "{:?} from {start:?}",
        f.bounds
    );
}

#[test]
fn lee_layers_bounds_are_pann_evals_on_the_smallcnn() {
    lee_layers_agree(&repo_dir().join("models/smallcnn-cifar10.safetensors"), 5, 200, 300, 2);
}

#[test]
fn lee_layers_bounds_are_pann_evals_on_the_uncarded_bundled_resnet20() {
    let path = shared_dir().join("models/resnet20-akamaster.safetensors");
    if !require(&path, "the bundled ResNet-20, ../shared/models") {
        return;
    }
    assert!(
        pann_nn::ModelCard::read(&path).unwrap().is_none(),
        "the bundled model has no card"
    );
    let net = Network::load(&path).unwrap();
    assert_eq!((net.name(), net.relu_layers(), net.classes()), ("resnet20", 19, 10));
    lee_layers_agree(&path, 9, 24, 64, 19);
}

#[test]
fn an_encrypted_run_at_lees_bound_agrees_with_the_plaintext_pann() {
    let Some((test, calib)) = cifar(2, 20) else { return };
    let path = repo_dir().join("models/smallcnn-cifar10.safetensors");
    let mut config = EncryptedInferenceConfig {
        alpha: 6,
        images: 2,
        calib_images: 20,
        range: RangeRule::Lee(LeeSearch::default()),
        ..Default::default()
    };
    let net = Network::load(&path).unwrap();
    // Without the fit the run does not guess: Lee's rule is defined on the test images.
    assert!(matches!(
        EncryptedRun::prepare(&config, &net, &calib),
        Err(Error::Config { field: "range", .. })
    ));
    let f = fitted(&config, &path, &test, &calib);
    let (want, _) = pann_eval_bounds(&Model::load(&path).unwrap(), &test, &calib, 6, config.range.clone());
    assert_eq!(f.bounds, want, "he infer's lee bound is pann eval's");
    assert!(f
        .bounds
        .iter()
        .all(|&b| b == f.bounds[0] && b >= 50.0 && (b - 50.0) % 5.0 == 0.0));
    assert_eq!(f.overflows, 0);
    config.fitted = Some(f.clone());
    let report = run(&config, &net, &calib, &test, &mut ()).unwrap();
    assert_eq!(report.bounds, f.bounds);
    assert_eq!(report.range, "lee");
    assert!(
        report.bounds_fitted_on.contains("first 2 test images"),
        "{}",
        report.bounds_fitted_on
    );
    assert_eq!(
        report.relu_input_overflows, 0,
        "the plaintext PANN of the run: no input outside B"
    );
    assert_eq!(report.agreement, 1.0);
    assert!(report.decryption_failures.is_empty());
    assert!(report.max_logit_error < 1e-3, "{}", report.max_logit_error);
}

#[test]
fn lee_rules_refuse_what_they_cannot_take_and_other_data_is_refused() {
    let lee = EncryptedInferenceConfig {
        range: RangeRule::LeeLayers(LeeLayers::default()),
        ..Default::default()
    };
    lee.validate().unwrap();
    let field = |c: EncryptedInferenceConfig| match c.validate() {
        Err(Error::Config { field, .. }) => field,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    assert_eq!(
        field(EncryptedInferenceConfig {
            site_alphas: vec![7, 7],
            ..lee.clone()
        }),
        "site_alphas"
    );
    assert_eq!(
        field(EncryptedInferenceConfig {
            leak_correction: true,
            ..lee.clone()
        }),
        "leak_correction"
    );
    assert_eq!(
        field(EncryptedInferenceConfig {
            range: RangeRule::LeeLayers(LeeLayers {
                step: LayerStep::Factor(1.0),
                ..LeeLayers::default()
            }),
            ..lee.clone()
        }),
        "layer_step"
    );
    assert_eq!(
        field(EncryptedInferenceConfig {
            range: RangeRule::Fixed(-1.0),
            ..lee.clone()
        }),
        "range"
    );
    // Fitted bounds of another network are refused by count, before anything is compiled.
    let net = Network::load(&repo_dir().join("models/smallcnn-cifar10.safetensors")).unwrap();
    let images = |classes: usize| Dataset {
        images: vec![128; 4 * 3 * 32 * 32],
        labels: vec![0; 4],
        n: 4,
        channels: 3,
        height: 32,
        width: 32,
        num_classes: classes,
    };
    let three = EncryptedInferenceConfig {
        fitted: Some(FittedBounds {
            bounds: vec![10.0; 3],
            start: None,
            images: 4,
            calib_images: 0,
            tries: 1,
            overflows: 0,
        }),
        ..lee
    };
    assert!(matches!(
        EncryptedRun::prepare(&three, &net, &images(10)),
        Err(Error::Config { field: "fitted", .. })
    ));
    // A model run on a data set with another number of classes (a model without a card is not checked
    // otherwise).
    let e = EncryptedRun::prepare(&EncryptedInferenceConfig::default(), &net, &images(100))
        .err()
        .unwrap();
    assert!(matches!(e, Error::Classes { data: 100, model: 10 }), "{e}");
}
