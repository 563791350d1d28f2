//! Helpers shared by the CLI test files.

use std::process::{Command, Output};

/// Runs the `pann` binary with `args`.
pub fn pann(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pann"))
        .args(args)
        .output()
        .expect("pann runs")
}

/// Fails with exit status 1 and one `error:` line that contains every `needle`, and no panic.
pub fn assert_clean_error(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in {err}");
    }
}
