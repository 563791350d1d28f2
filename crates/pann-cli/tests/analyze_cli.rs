//! `pann analyze precision | profile | layerwise | headline` end to end on a few real images: the files they
//! write, and one-line errors on bad input.

mod common;
use common::{assert_clean_error, pann};

#[test]
fn precision_writes_one_row_per_model_rule_and_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let bundled = pann_data::test_utils::shared_dir().join("models/resnet20-akamaster.safetensors");
    let m = format!("aka={}", bundled.display());
    let out = pann(&[
        "analyze",
        "precision",
        "--model",
        &m,
        "--alpha",
        "8,12",
        "--rules",
        "lee,calibrate+leak",
        "--images",
        "100",
        "--calib-images",
        "200",
        "--out",
        out_dir,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(dir.path().join("precision.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(
        rows[0].starts_with("aka,lee,") && rows[3].starts_with("aka,calibrate+leak,"),
        "{csv}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("precision.json")).unwrap()).unwrap();
    assert_eq!(v[1]["summary"]["rows"][1]["alpha"], 12);
    assert!(v[1]["summary"]["rows"][0]["leak_correction_max"].as_f64().unwrap() > 0.0);
    assert!(std::fs::read_to_string(dir.path().join("precision.svg"))
        .unwrap()
        .starts_with("<svg"));
}

#[test]
fn profile_and_layerwise_write_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = pann(&[
        "analyze",
        "profile",
        "--images",
        "50",
        "--calib-images",
        "100",
        "--alpha",
        "6,9",
        "--out",
        out_dir,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let zones = std::fs::read_to_string(dir.path().join("profile-zones.csv")).unwrap();
    // 19 sites + the pooled row, 2 α, 2 bound choices.
    assert_eq!(zones.lines().count(), 1 + 20 * 2 * 2, "{zones}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("profile.json")).unwrap()).unwrap();
    assert_eq!(v[0]["profile"]["bounds"], "calibrated");
    assert_eq!(v[1]["profile"]["bounds"], "B=50");
    assert!(v[0]["profile"]["negative_fraction"].as_f64().unwrap() > 0.1);

    let out = pann(&[
        "analyze",
        "layerwise",
        "--images",
        "120",
        "--search-images",
        "60",
        "--calib-images",
        "1000",
        "--alpha",
        "7..12",
        "--tolerance",
        "3",
        "--out",
        out_dir,
        "--name",
        "lw",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("lw.json")).unwrap()).unwrap();
    assert_eq!(v["held_out_images"], 60);
    let u = v["search"]["uniform"]["network_depth"].as_u64().unwrap();
    let l = v["search"]["layerwise"]["network_depth"].as_u64().unwrap();
    assert!(l <= u);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lw.csv"))
            .unwrap()
            .lines()
            .count(),
        20
    );
}

/// `pann analyze headline` with `[common, friendly, finetuned]` models at `alpha`, on 50 test images and 100
/// calibration images, writing `out`; `extra` flags appended.
fn headline(models: [&str; 3], alpha: &str, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let [common, friendly, finetuned] = models;
    let mut args = vec![
        "analyze",
        "headline",
        "--common",
        common,
        "--friendly",
        friendly,
        "--finetuned",
        finetuned,
        "--alpha",
        alpha,
        "--images",
        "50",
        "--calib-images",
        "100",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    pann(&args)
}

#[test]
fn headline_tabulates_the_models_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("h.md");
    let missing = dir.path().join("none.safetensors");
    let m = missing.to_str().unwrap();
    let run = |extra: &[&str]| headline([m, m, m], "9", &md, extra);
    assert_clean_error(&run(&[]), &["none.safetensors", "does not exist"]);
    let out = run(&["--allow-missing"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("| 9 | [15, 15] | 9 | 191 |"), "{text}");
    assert!(
        text.contains("Lee et al., bundled ResNet-20") && text.contains("bundled + leak corr."),
        "{text}"
    );
    assert!(text.contains("none.safetensors"), "{text}");
    // The table records the command that made it, flags included.
    assert!(
        text.contains("Made by `pann analyze headline --common ") && text.contains("--allow-missing`"),
        "{text}"
    );
    assert!(dir.path().join("h.json").exists());
}

#[test]
fn headline_assembles_a_column_from_one_fine_tune_per_alpha() {
    // `--finetuned` with `{alpha}`: the row of α comes from that α's file, evaluated at that α only; a missing
    // α stays empty and is listed. The bundled model stands in for both the base and the α = 9 "fine-tune".
    let dir = tempfile::tempdir().unwrap();
    let bundled = pann_data::test_utils::shared_dir().join("models/resnet20-akamaster.safetensors");
    let b = bundled.to_str().unwrap();
    std::fs::copy(&bundled, dir.path().join("ft9.safetensors")).unwrap();
    let pattern = dir.path().join("ft{alpha}.safetensors");
    let md = dir.path().join("h.md");
    let missing = dir.path().join("none.safetensors");
    let pattern = pattern.to_str().unwrap();
    let out = headline(
        [missing.to_str().unwrap(), b, pattern],
        "9,10",
        &md,
        &["--allow-missing"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("before fine-tuning)"), "{text}");
    assert!(
        text.contains("  - α = 9: `") && text.contains("ft9.safetensors"),
        "{text}"
    );
    assert!(
        text.contains("ft10.safetensors"),
        "the missing α = 10 file is listed: {text}"
    );
    // The α = 10 cell of the fine-tuned column (the last one) is empty; the α = 9 cell is filled.
    let row = |a: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("| {a} |")))
            .unwrap()
            .to_string()
    };
    assert!(row("10").ends_with("| — |"), "{}", row("10"));
    assert!(!row("9").ends_with("| — |"), "{}", row("9"));
    // Claims are checked against the bundled column (no common-recipe model) for each of pann's columns.
    assert!(
        text.contains("'pann fine-tuned, Lee's B' is more accurate than 'Lee et al., bundled ResNet-20'"),
        "{text}"
    );
}

#[test]
fn headline_adds_the_recalibrated_friendly_model_under_both_range_rules() {
    // `--recalibrated`: two more pann columns (Lee's B, calibrated B), each checked against Lee et al.'s column.
    // The bundled model stands in for the common and the recalibrated one; the other pann models are missing.
    let dir = tempfile::tempdir().unwrap();
    let bundled = pann_data::test_utils::shared_dir().join("models/resnet20-akamaster.safetensors");
    let missing = dir.path().join("none.safetensors");
    let m = missing.to_str().unwrap();
    let md = dir.path().join("h.md");
    let bundled = bundled.to_str().unwrap();
    let out = headline(
        [bundled, m, m],
        "9",
        &md,
        &["--recalibrated", bundled, "--allow-missing"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&md).unwrap();
    let header = text.lines().find(|l| l.starts_with("| α |")).unwrap();
    assert!(
        header.ends_with(
            "| bundled + leak corr. | common recipe, calibrated B | pann model BN-recal., Lee's B \
             | pann model BN-recal., calibrated B |"
        ),
        "{header}"
    );
    // pann's range rule on the common model is one of pann's columns, checked against Lee et al. on that model.
    assert!(
        text.contains("'common recipe, calibrated B' is more accurate than 'Lee et al., common recipe'"),
        "{text}"
    );
    for label in ["pann model BN-recal., Lee's B", "pann model BN-recal., calibrated B"] {
        assert!(
            text.contains(&format!("'{label}' is more accurate than 'Lee et al., common recipe'")),
            "{text}"
        );
    }
    // The calibrated column reports per-layer bounds, not Lee's B = 50.
    let row = text.lines().find(|l| l.starts_with("| 9 |")).unwrap();
    let cells: Vec<&str> = row.split(" | ").collect();
    assert_ne!(cells[cells.len() - 1], cells[cells.len() - 2], "{row}");
}

#[test]
fn analyses_reject_bad_arguments_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"not a safetensors file").unwrap();
    let b = format!("x={}", bad.display());
    assert_clean_error(
        &pann(&["analyze", "precision", "--model", &b, "--images", "10"]),
        &["bad.safetensors"],
    );
    assert_clean_error(
        &pann(&["analyze", "precision", "--rules", "lee,fast", "--images", "10"]),
        &["'fast'"],
    );
    assert_clean_error(&pann(&["analyze", "profile", "--alpha", "2"]), &["α = 2"]);
    assert_clean_error(
        &pann(&["analyze", "profile", "--calib-images", "0", "--images", "10"]),
        &["--calib-images"],
    );
    assert_clean_error(
        &pann(&["analyze", "layerwise", "--images", "100", "--search-images", "100"]),
        &["--search-images"],
    );
    assert_clean_error(&pann(&["analyze", "layerwise", "--tolerance=-1"]), &["--tolerance"]);
    assert_clean_error(&pann(&["analyze", "layerwise", "--name", ""]), &["--name"]);
    assert_clean_error(
        &pann(&["analyze", "perturb", "--log2-deltas=-1100", "--images", "2"]),
        &["--log2-deltas"],
    );
    assert_clean_error(&pann(&["analyze", "perturb", "--images", "0"]), &["--images"]);
    // An image count of 0 is refused by name in every analysis, before any data is read.
    let out = dir.path().join("zero-images");
    let out = out.to_str().unwrap();
    for cmd in ["precision", "profile", "headline"] {
        assert_clean_error(
            &pann(&["analyze", cmd, "--images", "0", "--out", out]),
            &["--images", "at least 1"],
        );
    }
    let m = shared_model();
    let (a, b) = (format!("x={m}"), format!("x={m}"));
    assert_clean_error(
        &pann(&["analyze", "precision", "--model", &a, "--model", &b, "--images", "2"]),
        &["label 'x'", "twice"],
    );
    // Output locations under a plain file fail at once, not after the sweep or the table.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("sub");
    let under = under.to_str().unwrap();
    for what in ["perturb", "precision", "profile", "layerwise"] {
        assert_clean_error(
            &pann(&["analyze", what, "--out", under, "--images", "2"]),
            &["output directory", "plain-file"],
        );
    }
    let md = file.join("headline.md");
    assert_clean_error(
        &pann(&["analyze", "headline", "--out", md.to_str().unwrap(), "--images", "2"]),
        &["output file", "headline.md"],
    );
}

fn shared_model() -> String {
    pann_data::test_utils::shared_dir()
        .join("models/resnet20-akamaster.safetensors")
        .display()
        .to_string()
}

#[test]
fn precision_channels_last_matches_nchw() {
    let run = |extra: &[&str]| -> Vec<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "analyze",
            "precision",
            "--alpha",
            "8,12",
            "--rules",
            "lee",
            "--images",
            "100",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", dir.path().to_str().unwrap()]);
        let out = pann(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let csv = std::fs::read_to_string(dir.path().join("precision.csv")).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let (nchw, nhwc) = (run(&[]), run(&["--channels-last"]));
    assert_eq!(nchw.len(), 2);
    for (a, b) in nchw.iter().zip(&nhwc) {
        // alpha, B, depths equal; the accuracy (column 5) within one image of 100.
        assert_eq!((&a[3], &a[6], &a[8]), (&b[3], &b[6], &b[8]), "{a:?} vs {b:?}");
        let acc = |r: &[String]| r[5].parse::<f64>().unwrap();
        assert!((acc(a) - acc(b)).abs() <= 0.0101, "{a:?} vs {b:?}");
    }
}
