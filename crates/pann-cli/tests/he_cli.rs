//! `pann he`: parameter listing, one encrypted image end to end, and one-line errors for bad input.

mod common;

use common::{assert_clean_error, pann, write_idx_dir};

fn model() -> String {
    format!(
        "{}/../../models/smallcnn-cifar10.safetensors",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs `pann he infer --json` with `args`; checks that it succeeded and that the encrypted predictions agree with
/// the plaintext PANN's (logits within 10^-3); returns the report.
fn infer_agreeing(args: &[&str]) -> serde_json::Value {
    let all: Vec<&str> = ["he", "infer", "--json"].iter().chain(args).copied().collect();
    let out = pann(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["agreement"], 1.0, "{r}");
    assert!(r["max_logit_error"].as_f64().unwrap() < 1e-3, "{r}");
    assert!(r["decryption_failures"].as_array().unwrap().is_empty(), "{r}");
    // The encrypted program consumes exactly the depth the evaluation engine's cost model charges the network.
    let alpha = r["alpha"].as_u64().unwrap() as u32;
    let relu_depth = pann_approx::CompositeSign::for_alpha(alpha).unwrap().relu_depth();
    let arch: pann_nn::Architecture = "smallcnn".parse().unwrap();
    assert_eq!(
        r["depth"].as_u64().unwrap() as u32,
        pann_eval::depth::network_depth(arch, relu_depth, relu_depth),
        "{r}"
    );
    r
}

#[test]
fn params_lists_secure_presets_with_their_levels() {
    let out = pann(&["he", "params", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = all["leveled"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert!(r["log_qp"].as_f64().unwrap() <= r["max_log_qp_128"].as_f64().unwrap() + 0.01);
        assert!(r["levels"].as_u64().unwrap() >= 7);
    }
    // The bootstrapping presets: 128-bit, at least 10 levels left to the circuit (one α = 9 ReLU and a
    // convolution), the levels adding up, and keys for the plan's rotations only.
    let boot = all["bootstrapping"].as_array().unwrap();
    assert!(!boot.is_empty());
    for b in boot {
        assert_eq!(b["log_n"], 16, "{b}");
        assert!(
            b["log_qp"].as_f64().unwrap() <= b["max_log_qp_128"].as_f64().unwrap(),
            "{b}"
        );
        assert!(b["levels_left"].as_u64().unwrap() >= 10, "{b}");
        assert_eq!(
            b["levels_left"].as_u64().unwrap() + b["levels_bootstrap"].as_u64().unwrap(),
            b["levels_total"].as_u64().unwrap(),
            "{b}"
        );
        assert!(
            b["rotations"].as_u64().unwrap() > 0 && b["keys_bytes"].as_u64().unwrap() > 0,
            "{b}"
        );
    }
    assert_eq!(boot[0]["slots"], 1 << 15, "the first is full-slot");
}

#[test]
fn one_encrypted_image_agrees_with_the_plaintext_pann() {
    let out = pann(&[
        "he",
        "infer",
        "--model",
        &model(),
        "--images",
        "1",
        "--calib-images",
        "200",
        "--alpha",
        "6",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["images"], 1);
    assert_eq!(r["agreement"], 1.0);
    assert!(r["max_logit_error"].as_f64().unwrap() < 1e-3, "{r}");
    assert_eq!(r["depth"], 15);
    assert_eq!(r["params"]["levels"], 15);
    assert!(r["params"]["log_qp"].as_f64().unwrap() <= 881.0);
    assert!(r["decryption_failures"].as_array().unwrap().is_empty());
    // No secret key material in the default output.
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.to_lowercase().contains("secret"));
}

#[test]
fn leak_correction_runs_encrypted_and_is_reported() {
    let model = model();
    let args = [
        "--model",
        &model,
        "--images",
        "1",
        "--calib-images",
        "100",
        "--alpha",
        "5",
        "--leak-correction",
    ];
    let r = infer_agreeing(&args);
    assert!(r["leak_correction"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn bad_input_gives_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a model at all").unwrap();
    assert_clean_error(
        &pann(&["he", "infer", "--model", junk.to_str().unwrap()]),
        &["junk.safetensors", "safetensors"],
    );
    // A bad --range is refused before anything is loaded (the bundled ResNet would run for minutes).
    let resnet = pann_data::test_utils::shared_dir().join("models/resnet20-akamaster.safetensors");
    let resnet = resnet.to_str().unwrap();
    assert_clean_error(
        &pann(&["he", "infer", "--model", resnet, "--range", "lees"]),
        &["--range 'lees'", "lee, calibrate, lee-layers or a positive number"],
    );
    assert_clean_error(
        &pann(&["he", "infer", "--model", resnet, "--range", "-3"]),
        &["--range -3", "positive"],
    );
    assert_clean_error(
        &pann(&[
            "he",
            "infer",
            "--model",
            resnet,
            "--range",
            "lee-layers",
            "--layer-step",
            "x0.9",
        ]),
        &["--layer-step"],
    );
    assert_clean_error(
        &pann(&[
            "he",
            "infer",
            "--model",
            resnet,
            "--range",
            "lee",
            "--site-alphas",
            "9,9",
        ]),
        &["--site-alphas", "lee"],
    );
    assert_clean_error(&pann(&["he", "infer", "--model", &model(), "--alpha", "40"]), &["α"]);
    assert_clean_error(
        &pann(&["he", "infer", "--model", &model(), "--images", "0"]),
        &["--images"],
    );
    assert_clean_error(
        &pann(&["he", "infer", "--model", &model(), "--margin", "0.5"]),
        &["--margin"],
    );
    let missing = dir.path().join("nothing.safetensors");
    assert_clean_error(
        &pann(&["he", "infer", "--model", missing.to_str().unwrap()]),
        &["nothing.safetensors"],
    );
}

#[test]
fn idx_data_runs_encrypted_as_pann_train_feeds_it() {
    // The layout of Fashion-MNIST (grey 28×28, IDX): padded to 3×32×32 as for training, then run encrypted.
    // (The pixels are synthetic: the test is about the data path and the agreement, not about accuracy.)
    let dir = tempfile::tempdir().unwrap();
    write_idx_dir(dir.path(), 20);
    // The Fashion-MNIST model: its card refuses any other data set.
    let model = common::committed_model("smallcnn-fashion-mnist.safetensors");
    let data = dir.path().to_str().unwrap().to_string();
    infer_agreeing(&[
        "--model",
        &model,
        "--dataset",
        "fashion-mnist",
        "--data",
        &data,
        "--images",
        "1",
        "--calib-images",
        "20",
        "--alpha",
        "6",
    ]);
}

#[test]
fn infer_refuses_zero_images_and_names_a_bad_scale_flag() {
    let m = model();
    let infer = |extra: &[&str]| {
        let mut args = vec!["he", "infer", "--model", &m];
        args.extend_from_slice(extra);
        pann(&args)
    };
    assert_clean_error(&infer(&["--calib-images", "0"]), &["--calib-images"]);
    assert_clean_error(&infer(&["--images", "0"]), &["--images"]);
    assert_clean_error(
        &infer(&["--log-scale", "10", "--images", "1", "--calib-images", "2"]),
        &["--log-scale 10"],
    );
}

#[test]
fn without_json_each_image_gets_a_line_and_the_report_follows() {
    let m = model();
    let out = pann(&[
        "he",
        "infer",
        "--model",
        &m,
        "--images",
        "2",
        "--calib-images",
        "50",
        "--alpha",
        "5",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
    assert_eq!(lines.len(), 3, "a set-up line and one line per image: {err}");
    assert!(
        lines[0].starts_with("smallcnn ") && lines[0].contains("rotation keys"),
        "{err}"
    );
    for (i, line) in lines[1..].iter().enumerate() {
        assert!(line.starts_with(&format!("image {i:>4}: label ")), "{err}");
        assert!(
            line.contains("plaintext-PANN") && line.contains("max logit error"),
            "{err}"
        );
    }
    // The report, pretty-printed, with the same keys as --json's.
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["images"], 2);
    assert_eq!(r["agreement"], 1.0, "{r}");
    assert!(
        String::from_utf8_lossy(&out.stdout).lines().count() > 20,
        "pretty-printed"
    );
}

#[test]
fn range_takes_pann_evals_rules_and_the_uncarded_bundled_resnet() {
    let resnet = pann_data::test_utils::shared_dir().join("models/resnet20-akamaster.safetensors");
    let resnet = resnet.to_str().unwrap();
    // The flags parse (clap's help ends the run: no key, no image).
    let help = pann(&[
        "he",
        "infer",
        "--model",
        resnet,
        "--range",
        "lee-layers",
        "--layer-step",
        "x1.05",
        "--help",
    ]);
    assert!(help.status.success(), "{}", String::from_utf8_lossy(&help.stderr));
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--range", "--layer-step", "--margin", "--bounds-only", "lee-layers"] {
        assert!(text.contains(flag), "{flag} not in the help:\n{text}");
    }
    if !pann_data::test_utils::require(
        std::path::Path::new(resnet),
        "the bundled model, ../shared beside the repository",
    ) || !pann_data::test_utils::require(&pann_data::test_utils::cifar10_dir(), "the bundled CIFAR-10")
    {
        return;
    }
    // The bundled ResNet has no card: it runs as `pann eval` runs it (CIFAR-10, imagenet normalisation), here
    // only as far as its bounds (--bounds-only: seconds, no keys): lee-layers on the 3 test images, from 30
    // training images, 19 sites, no input outside its bound.
    let out = pann(&[
        "he",
        "infer",
        "--model",
        resnet,
        "--range",
        "lee-layers",
        "--alpha",
        "9",
        "--images",
        "3",
        "--calib-images",
        "30",
        "--bounds-only",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["network"].as_str(), r["range"].as_str()),
        (Some("resnet20"), Some("lee-layers")),
        "{r}"
    );
    let bounds = r["bounds"].as_array().unwrap();
    let start = r["start_bounds"].as_array().unwrap();
    assert_eq!((bounds.len(), start.len()), (19, 19), "{r}");
    for (b, s) in bounds.iter().zip(start) {
        assert!(b.as_f64().unwrap() >= s.as_f64().unwrap(), "{r}");
    }
    assert_eq!(r["relu_input_overflows"], 0, "{r}");
    assert!(
        r["bounds_fitted_on"].as_str().unwrap().contains("first 3 test images"),
        "{r}"
    );
    // Exactly what `pann eval --range lee-layers` finds with the same model, images and α.
    let eval = pann(&[
        "eval",
        "--model",
        resnet,
        "--range",
        "lee-layers",
        "--alpha",
        "9",
        "--images",
        "3",
        "--calib-images",
        "30",
        "--json",
    ]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let e: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(e["rows"][0]["bounds"], r["bounds"], "pann eval: {e}");
    assert_eq!(e["rows"][0]["overflows"], 0, "{e}");
    // The default rule is still calibrate on the f64 network.
    let out = pann(&[
        "he",
        "infer",
        "--model",
        resnet,
        "--images",
        "1",
        "--calib-images",
        "5",
        "--bounds-only",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["range"], "calibrate", "{r}");
    assert_eq!(r["bounds"].as_array().unwrap().len(), 19, "{r}");
    assert!(r["relu_input_overflows"].is_null(), "{r}");
}
