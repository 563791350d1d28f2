//! The pipeline as a library: configuration errors name their field, a shape mismatch is refused before any key
//! is made, and a short run reports to its observer and agrees with the plaintext PANN. The images are synthetic
//! (the test is about the pipeline, not about accuracy); the model is the committed smallcnn.

use pann_data::test_utils::repo_dir;
use pann_data::Dataset;
use pann_encrypted::{run, EncryptedInferenceConfig, Error, ImageResult, Network, Observer, Setup};
use pann_eval::RangeRule;

fn model() -> Network {
    Network::load(&repo_dir().join("models/smallcnn-cifar10.safetensors")).unwrap()
}

/// `n` deterministic pseudo-random `channels × side × side` images with labels `i mod 10`.
fn synthetic(n: usize, channels: usize, side: usize) -> Dataset {
    let len = n * channels * side * side;
    Dataset {
        images: (0..len).map(|i| ((i * 2654435761) >> 7) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        n,
        channels,
        height: side,
        width: side,
        num_classes: 10,
    }
}

#[test]
fn configuration_errors_name_the_field() {
    let ok = EncryptedInferenceConfig::default();
    ok.validate().unwrap();
    let field = |c: EncryptedInferenceConfig| match c.validate() {
        Err(Error::Config { field, .. }) => field,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    assert_eq!(
        field(EncryptedInferenceConfig {
            images: 0,
            ..ok.clone()
        }),
        "images"
    );
    assert_eq!(
        field(EncryptedInferenceConfig {
            calib_images: 0,
            ..ok.clone()
        }),
        "calib_images"
    );
    for margin in [0.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            field(EncryptedInferenceConfig {
                range: RangeRule::Calibrate { margin },
                ..ok.clone()
            }),
            "margin"
        );
    }
    assert!(matches!(
        EncryptedInferenceConfig { alpha: 40, ..ok }.validate(),
        Err(Error::Approx(_))
    ));
}

#[test]
fn images_of_another_shape_are_refused_with_both_shapes() {
    let grey = synthetic(2, 1, 28);
    let e = run(&EncryptedInferenceConfig::default(), &model(), &grey, &grey, &mut ()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ImageShape {
                got: [1, 28, 28],
                want: [3, 32, 32]
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("1×28×28") && e.to_string().contains("3×32×32"),
        "{e}"
    );
}

#[derive(Default)]
struct Recorder {
    setups: Vec<Setup>,
    images: Vec<ImageResult>,
}

impl Observer for Recorder {
    fn ready(&mut self, setup: &Setup) {
        assert!(self.images.is_empty(), "the set-up comes before any image");
        self.setups.push(setup.clone());
    }
    fn image(&mut self, result: &ImageResult) {
        self.images.push(result.clone());
    }
}

#[test]
fn a_short_run_reports_every_image_and_agrees_with_the_plaintext_pann() {
    let config = EncryptedInferenceConfig {
        alpha: 5,
        images: 2,
        calib_images: 20,
        ..Default::default()
    };
    let (test, calib) = (synthetic(5, 3, 32), synthetic(20, 3, 32));
    let mut seen = Recorder::default();
    let report = run(&config, &model(), &calib, &test, &mut seen).unwrap();

    assert_eq!(seen.setups.len(), 1);
    let setup = &seen.setups[0];
    assert_eq!((setup.network.as_str(), setup.images, setup.alpha), ("smallcnn", 2, 5));
    assert_eq!(setup.bounds.len(), 2);
    assert!(
        setup.bounds.iter().all(|b| b.is_finite() && *b > 0.0),
        "{:?}",
        setup.bounds
    );
    assert_eq!(
        setup.params.levels, setup.depth,
        "the ring has exactly the levels the network uses"
    );

    assert_eq!(seen.images.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1]);
    for r in &seen.images {
        assert_eq!(r.label, test.labels[r.index] as usize);
        assert_eq!(r.encrypted, Some(r.plaintext_pann), "{r:?}");
        let err = r.max_logit_error.unwrap();
        assert!(err < 1e-3, "image {}: logit error {err:e}", r.index);
        assert_eq!(r.logits_encrypted.as_ref().unwrap().len(), 10);
        assert!(r.decryption_failure.is_none());
    }

    // The report is the images' summary.
    assert_eq!(report.images, 2);
    assert_eq!(report.agreement, 1.0);
    let correct = seen.images.iter().filter(|r| r.plaintext_pann == r.label).count();
    assert_eq!(report.accuracy_plaintext_pann, correct as f64 / 2.0);
    let worst = seen.images.iter().filter_map(|r| r.max_logit_error).fold(0.0, f64::max);
    assert_eq!(report.max_logit_error, worst);
    assert_eq!((report.depth, report.rotation_keys), (setup.depth, setup.rotation_keys));
    assert_eq!(report.leak_correction, None);
    assert_eq!(report.range, "calibrate");
    assert!(
        report.bounds_fitted_on.contains("20 training images"),
        "{}",
        report.bounds_fitted_on
    );
    // A smallcnn fits the modulus: no bootstrap; its rotations are at least one per key.
    assert_eq!(report.bootstraps_per_image, 0);
    assert!(report.rotations_per_image >= report.rotation_keys);
    assert!(report.keys_bytes > 0 && report.peak_rss_bytes > 0);

    // The keys `pann he infer --json` has always printed, and the four of a bootstrapping run (issue 27).
    let json = serde_json::to_value(&report).unwrap();
    let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "accuracy_encrypted",
            "accuracy_exact",
            "accuracy_plaintext_pann",
            "agreement",
            "alpha",
            "bootstraps_per_image",
            "bounds",
            "bounds_fitted_on",
            "decryption_failures",
            "degrees",
            "depth",
            "images",
            "keygen_seconds",
            "keys_bytes",
            "leak_correction",
            "max_logit_error",
            "params",
            "peak_rss_bytes",
            "range",
            "relu_input_overflows",
            "rotation_keys",
            "rotations_per_image",
            "seconds_per_image",
            "threads",
        ]
    );
    let mut param_keys: Vec<&str> = json["params"].as_object().unwrap().keys().map(String::as_str).collect();
    param_keys.sort_unstable();
    assert_eq!(
        param_keys,
        [
            "digits",
            "levels",
            "log_n",
            "log_qp",
            "log_scale",
            "max_log_qp_128",
            "p_bits",
            "q_bits"
        ]
    );
}

#[test]
fn images_run_one_by_one_and_results_read_back_give_the_same_report() {
    // What a resumed run does: prepare once, run the images not yet done in any order, read earlier results
    // back from their JSON lines, and report over all of them.
    use pann_encrypted::EncryptedRun;
    let config = EncryptedInferenceConfig {
        alpha: 4,
        images: 2,
        calib_images: 10,
        ..Default::default()
    };
    let (test, calib) = (synthetic(3, 3, 32), synthetic(10, 3, 32));
    let mut run = EncryptedRun::prepare(&config, &model(), &calib).unwrap();
    let second = run.image(&test, 1).unwrap();
    let first = run.image(&test, 0).unwrap();
    assert_eq!((first.index, second.index), (0, 1));
    assert!(
        run.image(&test, 3).is_err(),
        "an index past the test set is an error, not a panic"
    );

    let lines: Vec<String> = [&first, &second]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let read_back: Vec<ImageResult> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(read_back, [first.clone(), second.clone()]);
    let report = run.report(&read_back);
    let mut again = run.report(&[first, second]);
    // The peak memory is read when the report is made; everything else comes from the results.
    again.peak_rss_bytes = report.peak_rss_bytes;
    assert_eq!(report, again);
    assert_eq!((report.images, report.agreement), (2, 1.0));
}
