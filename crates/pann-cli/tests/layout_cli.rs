//! The memory layout of `pann eval` / `pann analyze`: channels-last by default, `--nchw` on request, the same
//! predictions either way on the bundled ResNet-20 (results/bench/layout_check.txt checks all 10,000 images).

mod common;

use common::pann;

fn eval_json(extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["eval", "--images", "300", "--alpha", "8", "--range", "50", "--json"];
    args.extend_from_slice(extra);
    let out = pann(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut text = vec!["eval", "--images", "300", "--alpha", "8", "--range", "50"];
    text.extend_from_slice(extra);
    let header = String::from_utf8_lossy(&pann(&text).stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    (serde_json::from_slice(&out.stdout).unwrap(), header)
}

#[test]
fn eval_runs_channels_last_by_default_and_nchw_on_request_with_the_same_counts() {
    let shared = pann_data::test_utils::shared_dir();
    if !pann_data::test_utils::require(
        &shared.join("models"),
        "../shared beside the repository, or PANN_SHARED",
    ) {
        return;
    }
    let (default, default_header) = eval_json(&[]);
    let (nchw, nchw_header) = eval_json(&["--nchw"]);
    assert!(default_header.contains("channels-last"), "{default_header}");
    assert!(!nchw_header.contains("channels-last"), "{nchw_header}");
    let correct = |v: &serde_json::Value| v.to_string();
    // Exact and α = 8 counts agree across layouts on these images (the summation order differs, the
    // predictions do not).
    assert_eq!(
        default["exact"]["correct"],
        nchw["exact"]["correct"],
        "{}",
        correct(&default)
    );
    assert_eq!(
        default["rows"][0]["correct"],
        nchw["rows"][0]["correct"],
        "{}",
        correct(&default)
    );
    assert!(default["rows"][0]["correct"].as_u64().is_some(), "{default}");
}

#[test]
fn nchw_and_channels_last_flags_conflict() {
    let out = pann(&["eval", "--nchw", "--channels-last", "--images", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nchw"));
}
