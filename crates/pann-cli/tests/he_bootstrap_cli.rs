//! `pann he bootstrap-bench`: the report's fields at a small (insecure, timing-only) ring, and one-line errors.

mod common;

use common::{assert_clean_error, pann};

#[test]
fn bootstrap_bench_reports_every_field_and_restores_levels() {
    let out = pann(&["he", "bootstrap-bench", "--log-n", "10", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = [
        "log_n",
        "log_qp",
        "slots",
        "levels_before",
        "levels_after",
        "precision_bits_min",
        "precision_bits_mean",
        "seconds",
        "threads",
        "keys_bytes",
        "peak_rss_bytes",
    ];
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want, "{r}");
    assert_eq!(r["log_n"], 10);
    assert_eq!(r["slots"], 512, "full slots at N = 2^10");
    assert!(
        r["levels_after"].as_u64().unwrap() > r["levels_before"].as_u64().unwrap(),
        "{r}"
    );
    // The precision the bootstrapping tests hold at this ring (crates/pann-he/tests/bootstrap.rs).
    assert!(r["precision_bits_min"].as_f64().unwrap() >= 16.0, "{r}");
    assert!(r["keys_bytes"].as_u64().unwrap() > 0, "{r}");
}

#[test]
fn bootstrap_bench_refuses_bad_flags_in_one_line() {
    // clap's own refusal (exit 2) names the flag.
    let out = pann(&["he", "bootstrap-bench", "--log-n", "17"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-n"));
    assert_clean_error(
        &pann(&["he", "bootstrap-bench", "--log-n", "10", "--slots", "64", "--openfhe"]),
        &["--openfhe", "--slots"],
    );
}
