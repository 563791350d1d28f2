//! A model file knows what it is: the committed models carry their card, a model/data mismatch is refused
//! with one `error:` line (and run with a warning when forced), `pann train` and `pann recalibrate-bn` write
//! cards; and an installed `pann` needs neither the repository nor `../shared` for what does not read them.

mod common;

use common::{assert_clean_error, committed_model, pann, pann_in, write_idx_dir};
use pann_data::DatasetKind;
use pann_nn::ModelCard;
use std::path::Path;

fn card_of(path: &str) -> Option<ModelCard> {
    ModelCard::read(Path::new(path)).unwrap()
}

#[test]
fn committed_models_carry_the_data_set_they_were_trained_on() {
    let models = pann_data::test_utils::repo_dir().join("models");
    let mut seen = 0;
    for entry in std::fs::read_dir(&models).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "safetensors") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let card = ModelCard::read(&path)
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no card"));
        let want = if name.contains("fashion-mnist") {
            DatasetKind::FashionMnist
        } else {
            DatasetKind::Cifar10
        };
        assert_eq!(card.dataset, want, "{name}");
        assert_eq!(
            (card.input_shape, card.normalization.as_str()),
            ([3, 32, 32], "imagenet"),
            "{name}"
        );
        seen += 1;
    }
    assert_eq!(seen, 8, "the eight committed models");
}

#[test]
fn pann_card_shows_writes_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let fashion = committed_model("smallcnn-fashion-mnist.safetensors");
    let out = pann(&["card", &fashion]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("smallcnn fashion-mnist (10 classes, input 3×32×32, normalisation imagenet)"),
        "{stdout}"
    );
    // Re-carded as CIFAR-10 elsewhere: same tensors, the other card.
    let copy = dir.path().join("copy.safetensors");
    let copy = copy.to_str().unwrap();
    let out = pann(&[
        "card",
        &fashion,
        "--dataset",
        "cifar10",
        "--norm",
        "cifar",
        "--out",
        copy,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let card = card_of(copy).unwrap();
    assert_eq!(
        (card.dataset, card.normalization.as_str()),
        (DatasetKind::Cifar10, "cifar")
    );
    assert_clean_error(
        &pann(&["card", copy, "--dataset", "cifar100", "--out", copy]),
        &["copy.safetensors", "100"],
    );
    assert_eq!(card_of(copy), Some(card), "a refused card changed the file");
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a model").unwrap();
    assert_clean_error(&pann(&["card", junk.to_str().unwrap()]), &["junk.safetensors"]);
    assert_clean_error(
        &pann(&[
            "card",
            &fashion,
            "--dataset",
            "cifar10",
            "--norm",
            "bogus",
            "--out",
            copy,
        ]),
        &["bogus"],
    );
}

#[test]
fn a_fashion_mnist_model_on_the_default_cifar10_is_refused() {
    let model = committed_model("smallcnn-fashion-mnist.safetensors");
    let needles = [
        "smallcnn-fashion-mnist.safetensors was trained on fashion-mnist",
        "the data is cifar10",
        "--force-mismatch",
    ];
    assert_clean_error(&pann(&["he", "infer", "--model", &model, "--images", "1"]), &needles);
    assert_clean_error(&pann(&["eval", "--model", &model, "--images", "10"]), &needles);
    let out_dir = tempfile::tempdir().unwrap();
    let out_dir = out_dir.path().to_str().unwrap();
    assert_clean_error(
        &pann(&[
            "analyze", "profile", "--model", &model, "--images", "10", "--out", out_dir,
        ]),
        &needles,
    );
    // Named explicitly it is still refused: only --force-mismatch runs it.
    assert_clean_error(
        &pann(&["eval", "--model", &model, "--dataset", "cifar10", "--images", "10"]),
        &needles,
    );
    let out = pann(&[
        "eval",
        "--model",
        &model,
        "--images",
        "20",
        "--alpha",
        "7",
        "--force-mismatch",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.starts_with("warning: ") && err.contains("trained on fashion-mnist"),
        "{err}"
    );
    // A normalisation other than the card's, given explicitly, runs with a warning.
    let cifar = committed_model("smallcnn-cifar10.safetensors");
    let out = pann(&[
        "eval", "--model", &cifar, "--images", "20", "--alpha", "7", "--norm", "cifar",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: ") && err.contains("normalisation asked is 0.4914"),
        "{err}"
    );
}

#[test]
fn the_fashion_mnist_model_on_its_own_data_gives_its_committed_accuracy() {
    // Its card chooses the data set and normalisation; `--data` alone is enough. The exact accuracy is
    // models/README.md's 8,877 of 10,000 (one image of slack: another memory layout may flip a near tie).
    let dir = std::path::Path::new(pann_data::test_utils::FASHION_MNIST);
    if !pann_data::test_utils::require(dir, "apt-get install dataset-fashion-mnist") {
        return;
    }
    let model = committed_model("smallcnn-fashion-mnist.safetensors");
    let out = pann(&[
        "eval",
        "--model",
        &model,
        "--data",
        dir.to_str().unwrap(),
        "--alpha",
        "7",
        "--range",
        "30",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exact"]["total"], 10_000, "{v}");
    let correct = v["exact"]["correct"].as_i64().unwrap();
    assert!(
        (correct - 8877).abs() <= 1,
        "{correct} of 10,000, models/README.md says 8,877"
    );
}

#[test]
fn the_card_chooses_the_data_set_of_a_data_directory() {
    // Synthetic IDX files: `--data` alone is read as Fashion-MNIST, the layout it holds.
    let dir = tempfile::tempdir().unwrap();
    write_idx_dir(dir.path(), 40);
    let data = dir.path().to_str().unwrap();
    let model = committed_model("smallcnn-fashion-mnist.safetensors");
    let out = pann(&[
        "eval",
        "--model",
        &model,
        "--data",
        data,
        "--alpha",
        "7",
        "--calib-images",
        "40",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("(40 images"), "{stdout}");
    // The CIFAR-10 model on that directory is refused, naming where the data is.
    let cifar = committed_model("smallcnn-cifar10.safetensors");
    assert_clean_error(
        &pann(&["eval", "--model", &cifar, "--data", data]),
        &["trained on cifar10", "the data is fashion-mnist", data],
    );
}

#[test]
fn train_and_recalibrate_write_cards_and_init_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = pann(&[
        "train",
        "--out",
        run.to_str().unwrap(),
        "--arch",
        "smallcnn",
        "--epochs",
        "1",
        "--batch",
        "32",
        "--train-images",
        "64",
        "--test-images",
        "50",
        "--norm",
        "cifar",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let model = run.join("model.safetensors");
    let card = ModelCard::read(&model).unwrap().expect("pann train writes a card");
    assert_eq!(
        (card.dataset, card.normalization.as_str()),
        (DatasetKind::Cifar10, "cifar")
    );
    assert_eq!(card.architecture.to_string(), "smallcnn");
    let model = model.to_str().unwrap();

    // Fine-tuning it on Fashion-MNIST is refused; its card gives the norm a fine-tune defaults to.
    let idx = tempfile::tempdir().unwrap();
    write_idx_dir(idx.path(), 40);
    let tune = dir.path().join("tune");
    assert_clean_error(
        &pann(&[
            "train",
            "--out",
            tune.to_str().unwrap(),
            "--init",
            model,
            "--dataset",
            "fashion-mnist",
            "--data",
            idx.path().to_str().unwrap(),
            "--epochs",
            "1",
        ]),
        &[
            "was trained on cifar10",
            "the data is fashion-mnist",
            "--force-mismatch",
        ],
    );
    assert!(!tune.exists(), "a refused fine-tune created its directory");

    let bn = dir.path().join("bn.safetensors");
    let out = pann(&[
        "recalibrate-bn",
        "--model",
        model,
        "--out",
        bn.to_str().unwrap(),
        "--images",
        "64",
        "--test-images",
        "50",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The norm came from the input's card (cifar), and the output says so.
    assert_eq!(card_of(bn.to_str().unwrap()), Some(card));
}

#[test]
fn an_installed_pann_runs_anywhere_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let approx = pann_in(dir.path(), &["approx", "--alpha", "9"]);
    assert!(approx.status.success(), "{}", String::from_utf8_lossy(&approx.stderr));
    assert!(String::from_utf8_lossy(&approx.stdout).contains("α = 9"));
    for help in [
        &["eval", "--help"][..],
        &["he", "infer", "--help"],
        &["train", "--help"],
    ] {
        assert!(pann_in(dir.path(), help).status.success(), "{help:?}");
    }
    assert_clean_error(&pann_in(dir.path(), &["eval"]), &["PANN_SHARED", "--data", "--model"]);
    assert_clean_error(
        &pann_in(dir.path(), &["he", "infer"]),
        &["models/smallcnn-cifar10.safetensors", "--model"],
    );
    let fashion = committed_model("smallcnn-fashion-mnist.safetensors");
    assert_clean_error(
        &pann_in(dir.path(), &["eval", "--model", &fashion, "--dataset", "fashion-mnist"]),
        &["fashion-mnist", "--data DIR"],
    );
    // The reference scripts are found from the current directory or --reference, else named.
    let shared = pann_data::test_utils::shared_dir();
    let python = std::env::current_exe().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pann"))
        .args([
            "train",
            "--bench",
            "--bench-steps",
            "1",
            "--bench-warmup",
            "0",
            "--bench-rounds",
            "1",
        ])
        .args(["--batch", "8", "--python", python.to_str().unwrap()])
        .current_dir(dir.path())
        .env(pann_data::SHARED_ENV, &shared)
        .output()
        .unwrap();
    assert_clean_error(&out, &["reference/train_bench.py", "--reference DIR"]);
    // With --reference the script is found there and run by --python (here a stand-in that answers as
    // train_bench.py does).
    let reference = dir.path().join("ref");
    std::fs::create_dir(&reference).unwrap();
    std::fs::write(reference.join("train_bench.py"), "").unwrap();
    let fake = dir.path().join("fake-python");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho '{\"images_per_sec\": 123, \"threads\": 1, \"peak_rss_mib\": 1}'\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pann"))
        .args([
            "train",
            "--bench",
            "--bench-steps",
            "1",
            "--bench-warmup",
            "0",
            "--bench-rounds",
            "1",
        ])
        .args(["--batch", "8", "--python", fake.to_str().unwrap(), "--reference"])
        .arg(&reference)
        .current_dir(dir.path())
        .env(pann_data::SHARED_ENV, &shared)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("123 images/s"), "{stdout}");
}
