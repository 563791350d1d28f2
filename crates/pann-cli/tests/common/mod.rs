//! Helpers shared by the CLI test files.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the `pann` binary with `args`, from this crate's directory, with the bundled data and models
/// named by `PANN_SHARED` (the binary's own default, `../shared` from the current directory, is not
/// there from here).
pub fn pann(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pann"))
        .args(args)
        .env(pann_data::SHARED_ENV, pann_data::test_utils::shared_dir())
        .output()
        .expect("pann runs")
}

/// Runs the `pann` binary with `args` as an installed one would run for a user: from `dir`, with no
/// `PANN_SHARED`.
pub fn pann_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pann"))
        .args(args)
        .current_dir(dir)
        .env_remove(pann_data::SHARED_ENV)
        .output()
        .expect("pann runs")
}

/// A committed model file, `models/NAME` of the repository.
pub fn committed_model(name: &str) -> String {
    pann_data::test_utils::repo_dir()
        .join("models")
        .join(name)
        .display()
        .to_string()
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

/// Writes a Fashion-MNIST-layout directory (IDX files) of `n` synthetic grey 28×28 images per split.
pub fn write_idx_dir(dir: &std::path::Path, n: usize) {
    for prefix in ["train", "t10k"] {
        let mut images = vec![0, 0, 8, 3];
        for v in [n as u32, 28, 28] {
            images.extend_from_slice(&v.to_be_bytes());
        }
        images.extend((0..n * 28 * 28).map(|i| ((i * 37 + i / 28) % 256) as u8));
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        let mut labels = vec![0, 0, 8, 1];
        labels.extend_from_slice(&(n as u32).to_be_bytes());
        labels.extend((0..n).map(|i| (i % 10) as u8));
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
}
