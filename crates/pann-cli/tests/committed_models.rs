//! The ResNet-20s committed under `models/` (issue 4) are what their logs, models/README.md and results/headline.md
//! say: each of the pair reaches 90% exact accuracy on all 10,000 CIFAR-10 test images, with the accuracy its
//! recalibration log and the headline record, and a per-α fine-tune reproduces its headline cell.
//!
//! The figures are read from the committed files, not written here. The headline ran channels-last, as these checks
//! do: the same computation, so counts must be equal. The training and recalibration logs come from the trainer's own
//! evaluation pass (channels-last too, other batches): the convolutions' summation order may differ, so a near-tie
//! image may flip, and one image of 10,000 is allowed against them.

mod common;
use common::{assert_clean_error, pann};
use std::path::{Path, PathBuf};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// Accuracies differ by at most this (one image of 10,000).
const ONE_IMAGE: f64 = 1.0 / 10_000.0;

/// Runs `pann eval --json` on all test images with the given model and extra arguments.
fn eval_json(model: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["eval", "--model", model.to_str().unwrap(), "--json", "--channels-last"];
    args.extend_from_slice(extra);
    let out = pann(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The accuracy after recalibration in a `pann recalibrate-bn` log: its first "…, NN.NN% after (…)" line.
fn recalibrated_accuracy(log: &Path) -> f64 {
    let text = std::fs::read_to_string(log).unwrap();
    let line = text.lines().find(|l| l.contains("% after")).expect("an 'after' line");
    let before_after = line.split("% after").next().unwrap();
    let pct: f64 = before_after.rsplit(' ').next().unwrap().parse().unwrap();
    pct / 100.0
}

/// One column of the last row of a training `log.csv`.
fn last_logged(csv: &Path, column: &str) -> f64 {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == column).expect("column in the log");
    let last = lines.rfind(|l| !l.trim().is_empty()).unwrap();
    last.split(',').nth(col).unwrap().parse().unwrap()
}

#[test]
fn the_resnet20_pair_reaches_90_percent_as_its_logs_say() {
    for name in ["resnet20-common", "resnet20-pann"] {
        let model = models_dir().join(format!("{name}.safetensors"));
        let logged = recalibrated_accuracy(&models_dir().join(format!("{name}.recalibrate.out")));
        // α = 14 with a fixed bound: the cheapest single PANN row; the exact accuracy is what is checked.
        let v = eval_json(&model, &["--alpha", "14", "--range", "50"]);
        assert_eq!(v["exact"]["total"], 10_000, "{v}");
        let exact = v["exact"]["accuracy"].as_f64().unwrap();
        assert!(exact >= 0.90, "{name}: exact accuracy {exact} below issue 4's 90%");
        assert!(
            (exact - logged).abs() <= ONE_IMAGE,
            "{name}: {exact} against the logged {logged}"
        );
    }
}

/// The row for `alpha` of the committed headline's column `label` (results/headline.json).
fn headline_cell(label: &str, alpha: u64) -> (serde_json::Value, serde_json::Value) {
    let path = models_dir().join("../results/headline.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let column = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == label)
        .unwrap_or_else(|| panic!("no column {label:?} in results/headline.json"))
        .clone();
    let rows = column["summary"]["rows"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["alpha"] == alpha)
        .expect("the α in the column")
        .clone();
    (column, row)
}

#[test]
fn a_fine_tune_reproduces_its_headline_cell_and_fails_with_exact_relus() {
    // α = 7: the fine-tune whose exact-ReLU accuracy collapses (models/README.md), so both halves are checked.
    let model = models_dir().join("resnet20-pann-ft7.safetensors");
    let (column, row) = headline_cell("pann fine-tuned, Lee's B", 7);
    let per_alpha = column["per_alpha"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alpha"] == 7)
        .expect("α = 7 in per_alpha")
        .clone();
    assert!(per_alpha["model"]
        .as_str()
        .unwrap()
        .ends_with("resnet20-pann-ft7.safetensors"));
    // The headline ran channels-last, as this does: the same computation, so the same counts and bound.
    let v = eval_json(&model, &["--alpha", "7", "--range", "lee"]);
    assert_eq!(v["rows"][0]["correct"], row["correct"], "{v}");
    assert_eq!(v["rows"][0]["B"], row["B"], "{v}");
    let exact = v["exact"]["accuracy"].as_f64().unwrap();
    assert_eq!(v["exact"]["accuracy"], per_alpha["exact_accuracy"], "{v}");
    // The training log's exact accuracy (the trainer's own evaluation pass) agrees too.
    let log = models_dir().join("resnet20-pann-ft7.log.csv");
    assert!((exact - last_logged(&log, "test_acc")).abs() <= ONE_IMAGE, "{v}");
    let pann_acc = v["rows"][0]["accuracy"].as_f64().unwrap();
    assert!(
        pann_acc > exact + 0.5,
        "a fine-tune through the α = 7 polynomial is a network for that α: {v}"
    );
}

#[test]
fn a_committed_model_read_as_a_deeper_resnet_is_refused_naming_file_and_tensor() {
    let model = models_dir().join("resnet20-pann.safetensors");
    let out = pann(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--arch",
        "resnet32",
        "--images",
        "10",
        "--alpha",
        "9",
    ]);
    assert_clean_error(&out, &["resnet20-pann.safetensors", "missing tensor", "layer1.3"]);
}
