//! For the workspace's test suites only (feature `test-utils`): where the data outside the
//! repository is, and one rule for a test whose data is missing.
//!
//! Tests run from their crate's directory, where the run-time [`crate::shared_dir`] (`../shared`
//! from the current directory) would not find the bundled data; here it is located from this
//! crate's source directory instead, which is right for tests and only for them.
//!
//! The rule: a test that needs data the machine may lack calls [`require`]. Without the data it
//! prints `skipped: …` and passes on a developer's machine, but fails when the environment variable
//! `CI` is set (`.ci/run` sets it), so a CI run cannot pass by skipping.

use std::path::{Path, PathBuf};

/// Where Debian's `dataset-fashion-mnist` package puts Fashion-MNIST (gzipped IDX files).
pub const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The repository's root directory.
pub fn repo_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// The bundled data and models: `$PANN_SHARED` if set, else `shared/` beside the repository.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os(crate::SHARED_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("../shared"));
    dir.canonicalize().unwrap_or(dir)
}

/// The bundled CIFAR-10 directory.
pub fn cifar10_dir() -> PathBuf {
    shared_dir().join("data/cifar-10-batches-bin")
}

/// Whether the environment variable `CI` is set to something other than empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// True when `path` exists. Otherwise, under CI ([`in_ci`]) it panics, naming the path and `how` to
/// get it; elsewhere it prints `skipped: …` and returns false, and the test should return.
pub fn require(path: &Path, how: &str) -> bool {
    if path.exists() {
        return true;
    }
    assert!(
        !in_ci(),
        "{} not found ({how}); CI is set, so the test fails instead of skipping",
        path.display()
    );
    eprintln!("skipped: {} not found ({how})", path.display());
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_passes_present_paths_and_skips_or_fails_missing_ones() {
        assert!(require(Path::new(env!("CARGO_MANIFEST_DIR")), "the crate itself"));
        let missing = Path::new("/nonexistent/pann-test-data");
        if in_ci() {
            let caught = std::panic::catch_unwind(|| require(missing, "nowhere"));
            let msg = caught.unwrap_err();
            let msg = msg.downcast_ref::<String>().unwrap();
            assert!(
                msg.contains("/nonexistent/pann-test-data") && msg.contains("CI"),
                "{msg}"
            );
        } else {
            assert!(!require(missing, "nowhere"));
        }
    }
}
