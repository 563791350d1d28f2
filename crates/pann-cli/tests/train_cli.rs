//! `pann train` end to end: a one-epoch run that `pann eval --model` reads, resume refusals,
//! and one-line errors for bad flags and damaged checkpoints.

mod common;
use common::{assert_clean_error, pann};

fn cifar10() -> String {
    pann_data::test_utils::shared_dir()
        .join("data/cifar-10-batches-bin")
        .display()
        .to_string()
}

#[test]
fn train_then_eval_then_refused_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.display().to_string();
    let data = cifar10();
    let base = [
        "--data",
        &data,
        "--train-images",
        "96",
        "--test-images",
        "50",
        "--batch",
        "32",
    ];
    let mut args = vec![
        "train",
        "--out",
        &run_s,
        "--epochs",
        "2",
        "--keep-checkpoints",
        "1",
        "--quiet",
    ];
    args.extend(base);
    let out = pann(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A branch from the kept epoch-1 checkpoint: a longer one-cycle would have annealed epoch 1
    // differently, so it is refused; the unchanged recipe continues from epoch 2.
    let kept = run.join("checkpoint-e001.safetensors").display().to_string();
    let twin = dir.path().join("twin");
    let twin_s = twin.display().to_string();
    let branch = |extra: &[&str]| {
        let mut a = vec![
            "train",
            "--branch",
            &kept,
            "--out",
            &twin_s,
            "--data",
            &data,
            "--test-images",
            "50",
        ];
        a.extend(extra);
        a.push("--quiet");
        pann(&a)
    };
    assert_clean_error(
        &branch(&["--epochs", "3"]),
        &["checkpoint-e001", "cannot branch after epoch 1", "schedule"],
    );
    assert_clean_error(&branch(&["--wd", "0"]), &["checkpoint-e001", "--wd"]);
    assert!(!twin.exists(), "a refused branch created its directory");
    let out = branch(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = |d: &std::path::Path| std::fs::read_to_string(d.join("log.csv")).unwrap();
    let (parent_log, twin_log) = (log(&run), log(&twin));
    assert_eq!(twin_log.lines().count(), 3, "{twin_log}");
    assert_eq!(
        parent_log.lines().nth(1),
        twin_log.lines().nth(1),
        "epoch 1 is inherited"
    );
    // Epoch 2, trained again from the kept checkpoint with the same recipe: the same loss, accuracy, lr.
    let fields = |log: &str| -> Vec<String> {
        log.lines()
            .nth(2)
            .unwrap()
            .split(',')
            .take(6)
            .map(String::from)
            .collect()
    };
    assert_eq!(fields(&parent_log), fields(&twin_log));
    assert!(
        !twin.join("checkpoint-e001.safetensors").exists(),
        "the parent's kept epochs are its own"
    );

    // Stop after one epoch is simulated by resuming a finished run: refused, naming the file.
    let out = pann(&["train", "--resume", &run_s, "--data", &data, "--quiet"]);
    assert_clean_error(&out, &["checkpoint.safetensors", "already finished"]);

    // The model is what `pann eval --model` reads.
    let model = run.join("model.safetensors").display().to_string();
    let out = pann(&[
        "eval", "--model", &model, "--alpha", "9", "--range", "50", "--images", "50", "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Another architecture on resume.
    let out = pann(&["train", "--resume", &run_s, "--data", &data, "--arch", "resnet32"]);
    assert_clean_error(&out, &["checkpoint.safetensors", "--arch", "resnet32"]);

    // A truncated checkpoint.
    let ckpt = run.join("checkpoint.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() / 3]).unwrap();
    let out = pann(&["train", "--resume", &run_s, "--data", &data]);
    assert_clean_error(&out, &["checkpoint.safetensors", "corrupt checkpoint"]);
}

#[test]
fn bad_flags_are_one_line_errors() {
    let data = cifar10();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("x").display().to_string();
    for (flags, needle) in [
        (vec!["--batch", "1"], "--batch"),
        (vec!["--schedule", "linear"], "linear"),
        (vec!["--warmup-shape", "sine"], "warm-up shape \"sine\""),
        (vec!["--neg-noise", "0.5"], "--noise-alpha"),
        (vec!["--pann-alpha", "3"], "3"),
        (vec!["--arch", "resnet19"], "resnet19"),
        (vec!["--lr", "0"], "--lr"),
        (vec!["--mixup-epochs", "3"], "needs --mixup"),
        (
            vec!["--mixup", "0.5", "--epochs", "2", "--mixup-epochs", "3"],
            "--mixup-epochs 3",
        ),
        (vec!["--bf16", "--pann-alpha", "8"], "--bf16 with --pann-alpha"),
        (
            vec!["--epochs", "2", "--keep-checkpoints", "1,5"],
            "--keep-checkpoints 5",
        ),
        (vec!["--pann-range", "lee-layer"], "--pann-range \"lee-layer\""),
        (vec!["--pann-range", "calibrate"], "--pann-alpha"),
        (vec!["--pann-alpha", "8", "--layer-step", "x0.9"], "--layer-step"),
        (
            vec![
                "--pann-alpha",
                "8",
                "--pann-range",
                "calibrate",
                "--refit-bounds-every",
                "0",
            ],
            "--refit-bounds-every",
        ),
        (
            vec!["--pann-alpha", "8", "--refit-bounds-every", "2"],
            "--refit-bounds-every needs per-site bounds",
        ),
        (vec!["--distill-weight", "0.5"], "--distill MODEL"),
        (vec!["--distill-weight", "1.5"], "--distill-weight 1.5"),
        (vec!["--temperature", "0"], "--temperature 0"),
    ] {
        let mut args = vec!["train", "--out", &out_dir, "--data", &data];
        args.extend(flags);
        assert_clean_error(&pann(&args), &[needle]);
    }
    assert_clean_error(&pann(&["train"]), &["--out"]);
    assert_clean_error(&pann(&["train", "--branch", "x.safetensors"]), &["--out"]);
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let file = file.display().to_string();
    assert_clean_error(
        &pann(&["train", "--out", &file, "--data", &data]),
        &["--out", "a-file", "not a directory"],
    );
    let empty_test = dir.path().join("t0").display().to_string();
    assert_clean_error(
        &pann(&[
            "train",
            "--out",
            &empty_test,
            "--data",
            &data,
            "--test-images",
            "0",
            "--train-images",
            "64",
        ]),
        &["no test images", "--test-images 0"],
    );
}

#[test]
fn recalibrate_bn_writes_a_model_eval_reads_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let data = cifar10();
    let model = pann_data::test_utils::shared_dir()
        .join("models/resnet20-akamaster.safetensors")
        .display()
        .to_string();
    let out_model = dir.path().join("bn.safetensors").display().to_string();
    let out = pann(&[
        "recalibrate-bn",
        "--model",
        &model,
        "--out",
        &out_model,
        "--data",
        &data,
        "--images",
        "256",
        "--test-images",
        "100",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("19 BatchNorm layers re-estimated on 256 training images (crop+flip; 2 batches"),
        "{stdout}"
    );
    assert!(stdout.contains("before") && stdout.contains("after"), "{stdout}");
    let out = pann(&[
        "eval", "--model", &out_model, "--alpha", "9", "--range", "50", "--images", "50", "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = pann(&["recalibrate-bn", "--model", &model, "--out", &model]);
    assert_clean_error(&out, &["--out", "is the input model"]);
    let missing = dir.path().join("missing.safetensors").display().to_string();
    let out = pann(&["recalibrate-bn", "--model", &missing, "--out", &out_model]);
    assert_clean_error(&out, &["missing.safetensors"]);
    let out = pann(&[
        "recalibrate-bn",
        "--model",
        &model,
        "--out",
        &out_model,
        "--data",
        &data,
        "--batch",
        "1",
    ]);
    assert_clean_error(&out, &["at least 2 images per batch"]);
}
