//! The `pann` binary end to end: output contracts and clear one-line errors on bad input.

mod common;
use common::{assert_clean_error, pann};
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    pann_data::test_utils::shared_dir()
}

#[test]
fn approx_json_contract() {
    let out = pann(&["approx", "--alpha", "9", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alpha"], 9);
    assert_eq!(v["degrees"], serde_json::json!([15, 15]));
    assert_eq!(v["depth"], 8);
    assert_eq!(v["relu_depth"], 9);
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 2);
    assert_eq!(comps[0]["coefficients"].as_array().unwrap().len(), 16);
    assert!(v["max_relu_error"].as_f64().unwrap() <= 2f64.powi(-9));
}

#[test]
fn approx_table_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("sign.svg");
    let out = pann(&["approx", "--alpha", "6", "--plot", svg.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    let out = pann(&["approx", "--table", "4..6", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows.iter().map(|r| r["alpha"].as_u64().unwrap()).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
}

#[test]
fn approx_rejects_bad_arguments() {
    assert_clean_error(&pann(&["approx", "--alpha", "3"]), &["α = 3", "outside"]);
    assert_clean_error(
        &pann(&["approx", "--alpha", "9", "--degrees", "15,16"]),
        &["16", "even"],
    );
    assert_clean_error(&pann(&["approx", "--degrees", ""]), &["degree"]);
    assert_clean_error(
        &pann(&["approx", "--alpha", "14", "--degrees", "7,7"]),
        &["cannot reach"],
    );
    assert_clean_error(&pann(&["approx"]), &["--alpha"]);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn eval_rejects_malformed_models_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write(dir.path(), "garbage.safetensors", b"this is not a model");
    assert_clean_error(
        &pann(&["eval", "--model", garbage.to_str().unwrap(), "--images", "10"]),
        &["garbage.safetensors"],
    );
    let real = std::fs::read(shared().join("models/resnet20-akamaster.safetensors")).unwrap();
    let cut = write(dir.path(), "cut.safetensors", &real[..real.len() / 2]);
    assert_clean_error(
        &pann(&["eval", "--model", cut.to_str().unwrap(), "--images", "10"]),
        &["cut.safetensors", "truncated"],
    );
    let data = dir.path().join("cifar");
    std::fs::create_dir(&data).unwrap();
    write(&data, "test_batch.bin", &[0u8; 3073 * 2 + 5]);
    assert_clean_error(
        &pann(&["eval", "--data", data.to_str().unwrap(), "--images", "2"]),
        &["test_batch.bin"],
    );
    assert_clean_error(&pann(&["eval", "--arch", "resnet21", "--images", "2"]), &["resnet21"]);
    assert_clean_error(&pann(&["eval", "--alpha", "25", "--images", "2"]), &["α = 25"]);
    assert_clean_error(&pann(&["eval", "--range", "-3", "--images", "2"]), &["--range"]);
    assert_clean_error(&pann(&["eval", "--norm", "bogus", "--images", "2"]), &["bogus"]);
}

#[test]
fn eval_rejects_bad_relu_shifts() {
    for bad in ["-0.1", "0.5", "0.7", "1", "NaN", "inf"] {
        assert_clean_error(
            &pann(&["eval", "--relu-shift", bad, "--images", "2"]),
            &["--relu-shift", bad, "[0, 0.5)"],
        );
    }
    for garbage in ["abc", "", "epsilon", "0.1x", "xeps", "0.5 eps"] {
        assert_clean_error(
            &pann(&["eval", "--relu-shift", garbage, "--images", "2"]),
            &["--relu-shift", "expected eps, Feps (F in (0, 1]) or a number"],
        );
    }
    for bad_fraction in ["0eps", "1.5eps", "-0.5eps", "NaNeps"] {
        assert_clean_error(
            &pann(&["eval", "--relu-shift", bad_fraction, "--images", "2"]),
            &["--relu-shift", bad_fraction, "(0, 1]"],
        );
    }
}

#[test]
fn eval_lee_layers_flags_are_checked() {
    for step in ["x1", "x0.9", "+0", "5", "xabc"] {
        assert_clean_error(
            &pann(&["eval", "--range", "lee-layers", "--layer-step", step, "--images", "2"]),
            &["--layer-step", step],
        );
    }
    assert_clean_error(
        &pann(&["eval", "--range", "lee-layers", "--calib-images", "0", "--images", "2"]),
        &["--range lee-layers", "--calib-images"],
    );
}

#[test]
fn eval_leak_correction_needs_calibration_images() {
    for range in ["calibrate", "lee", "30"] {
        assert_clean_error(
            &pann(&[
                "eval",
                "--leak-correction",
                "--calib-images",
                "0",
                "--range",
                range,
                "--images",
                "2",
            ]),
            &["--leak-correction", "--calib-images"],
        );
    }
}

#[test]
fn eval_leak_correction_json_reports_the_largest_offset() {
    let run = |leak: bool| {
        let mut args = vec![
            "eval",
            "--images",
            "50",
            "--alpha",
            "7",
            "--range",
            "30",
            "--calib-images",
            "50",
            "--json",
        ];
        if leak {
            args.push("--leak-correction");
        }
        let out = pann(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let plain = run(false);
    assert!(plain["rows"][0].get("leak_correction_max").is_none());
    let corrected = run(true);
    let m = corrected["rows"][0]["leak_correction_max"].as_f64().unwrap();
    assert!(m > 0.0 && m < 1.0, "{m}");
}

/// The JSON rows of `pann eval` at a fixed bound 30 with `--relu-shift shift`.
fn shifted_rows(alphas: &str, shift: &str, images: &str) -> Vec<serde_json::Value> {
    let args = [
        "eval",
        "--images",
        images,
        "--alpha",
        alphas,
        "--range",
        "30",
        "--relu-shift",
        shift,
        "--json",
    ];
    let out = pann(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["rows"].as_array().unwrap().clone()
}

fn epsilon(alpha: u32) -> f64 {
    pann_approx::CompositeSign::for_alpha(alpha)
        .unwrap()
        .certificate()
        .epsilon
}

#[test]
fn eval_relu_shift_eps_is_each_alphas_epsilon() {
    let rows = shifted_rows("6,9", "eps", "100");
    for (row, alpha, depth) in [(&rows[0], 6, 6), (&rows[1], 9, 9)] {
        assert_eq!(row["alpha"], alpha);
        assert_eq!(row["relu_shift"].as_f64().unwrap(), epsilon(alpha));
        assert_eq!(row["relu_depth"], depth);
    }
    assert!(rows[0]["relu_shift"].as_f64().unwrap() > rows[1]["relu_shift"].as_f64().unwrap());
    // `Feps` takes the fraction F of each α's ε.
    let rows = shifted_rows("7", "0.25eps", "20");
    assert_eq!(rows[0]["relu_shift"].as_f64().unwrap(), 0.25 * epsilon(7));
}

#[test]
fn eval_json_contract_on_real_data() {
    let out = pann(&["eval", "--images", "200", "--alpha", "9,14", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exact = v["exact"]["accuracy"].as_f64().unwrap();
    assert!((0.8..=1.0).contains(&exact));
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["alpha"], 9);
    assert_eq!(rows[1]["relu_depth"], 15);
    assert!(rows[1]["B"].as_f64().unwrap() >= 50.0);
    assert_eq!(rows[1]["overflows"], 0);
    let acc14 = rows[1]["accuracy"].as_f64().unwrap();
    assert!((acc14 - exact).abs() <= 0.02, "{acc14} vs {exact}");
}

#[test]
fn eval_channels_last_gives_the_nchw_counts_and_bounds() {
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["eval", "--images", "300", "--alpha", "8,12", "--json"];
        args.extend_from_slice(extra);
        let out = pann(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (nchw, nhwc) = (run(&[]), run(&["--channels-last"]));
    // The flag reaches the model: the table's header names the layout. --json-out writes the JSON beside it.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("eval.json");
    let table = pann(&[
        "eval",
        "--images",
        "20",
        "--alpha",
        "9",
        "--range",
        "50",
        "--channels-last",
        "--json-out",
        json.to_str().unwrap(),
    ]);
    assert!(table.status.success(), "{}", String::from_utf8_lossy(&table.stderr));
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(stdout.lines().next().unwrap().contains(", channels-last"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["rows"][0]["alpha"], 9);
    assert!(v["rows"][0]["correct"].as_i64().unwrap() > 0, "{v}");
    let correct = |v: &serde_json::Value, i: usize| v["rows"][i]["correct"].as_i64().unwrap();
    // The same network up to the convolutions' summation order: at most a near-tie image or two may flip.
    let exact = |v: &serde_json::Value| v["exact"]["correct"].as_i64().unwrap();
    assert!((exact(&nchw) - exact(&nhwc)).abs() <= 1, "{nchw} vs {nhwc}");
    for i in 0..2 {
        assert!((correct(&nchw, i) - correct(&nhwc, i)).abs() <= 2, "{nchw} vs {nhwc}");
        assert_eq!(nchw["rows"][i]["B"], nhwc["rows"][i]["B"]);
    }
}

#[test]
fn eval_refuses_empty_and_repeated_inputs_before_running() {
    assert_clean_error(&pann(&["eval", "--images", "0"]), &["--images", "at least 1"]);
    assert_clean_error(
        &pann(&["eval", "--range", "calibrate", "--calib-images", "0", "--images", "2"]),
        &["--range calibrate", "--calib-images"],
    );
    assert_clean_error(&pann(&["eval", "--alpha", "6,6", "--images", "2"]), &["α = 6", "twice"]);
    let dir = tempfile::tempdir().unwrap();
    // A test file that holds no records: zero images, which must not read as 0% accuracy.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    write(&empty, "test_batch.bin", b"");
    assert_clean_error(
        &pann(&["eval", "--data", empty.to_str().unwrap(), "--alpha", "6"]),
        &["empty", "no Test images", "hold no images"],
    );
    // A directory where the batch file should be is not data of 4096 bytes.
    let odd = dir.path().join("odd");
    std::fs::create_dir_all(odd.join("test_batch.bin")).unwrap();
    assert_clean_error(
        &pann(&["eval", "--data", odd.to_str().unwrap(), "--images", "2"]),
        &["test_batch.bin", "not a regular file"],
    );
    // An output location that cannot exist is reported before any image is evaluated.
    let file = write(dir.path(), "plain-file", b"x");
    let plot = file.join("acc.svg");
    assert_clean_error(
        &pann(&["eval", "--plot", plot.to_str().unwrap(), "--images", "2"]),
        &["--plot", "plain-file", "cannot create"],
    );
}

#[test]
fn eval_refuses_a_model_with_nan_weights_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(shared().join("models/resnet20-akamaster.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let start = header["linear.bias"]["data_offsets"][0].as_u64().unwrap() as usize;
    let mut bad = bytes.clone();
    bad[8 + n + start..8 + n + start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let p = write(dir.path(), "nan.safetensors", &bad);
    assert_clean_error(
        &pann(&["eval", "--model", p.to_str().unwrap(), "--images", "2"]),
        &["nan.safetensors", "linear.bias", "non-finite", "NaN"],
    );
}

#[test]
fn approx_names_why_a_degree_list_fails() {
    let out = pann(&["approx", "--degrees", "1"]);
    assert_clean_error(&out, &["degrees [1]", "for every ε"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("NaN"), "{err}");
    assert_eq!(err.matches("degrees [1]").count(), 1, "{err}");
}

#[test]
fn bench_refuses_an_explicit_python_that_does_not_exist() {
    assert_clean_error(
        &pann(&["bench", "--python", "/nonexistent/python3", "--images", "10"]),
        &["--python", "/nonexistent/python3"],
    );
    assert_clean_error(&pann(&["bench", "--images", "0"]), &["--images"]);
    assert_clean_error(&pann(&["bench", "--rounds", "0"]), &["--rounds"]);
}
