//! The independent PyTorch implementations in `reference/` that `pann bench` and `pann train --bench`
//! time pann against: the one place that runs Python — where the scripts and the Python that runs them
//! are, the command line of each script, and its JSON output parsed into [`InferenceTiming`] and
//! [`TrainingTiming`], so the commands only compare and print.
//!
//! Nothing here depends on where `pann` was built: the scripts are looked for in `--reference DIR`,
//! else in `reference/` under the current directory (the repository root), and the Python in
//! `--python`, else in the `.venv-ref/` that `reference/setup.sh` makes beside that directory.

use anyhow::{bail, Context, Result};
use clap::Args;
use pann_approx::CompositeSign;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the PyTorch reference is.
#[derive(Args, Debug, Clone, Default)]
pub struct ReferenceFlags {
    /// Python with PyTorch for the comparison [default: .venv-ref/bin/python beside the reference
    /// directory, made by reference/setup.sh].
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Directory of the PyTorch reference scripts [default: reference/ under the current directory].
    #[arg(long)]
    pub reference: Option<PathBuf>,
}

impl ReferenceFlags {
    fn dir(&self) -> PathBuf {
        self.reference.clone().unwrap_or_else(|| PathBuf::from("reference"))
    }

    /// The Python to run the reference with, or `None` when none is installed and none was named:
    /// the comparison is then skipped. A `--python` that does not exist is a mistake.
    pub fn python(&self) -> Result<Option<PathBuf>> {
        if let Some(p) = &self.python {
            if !p.is_file() {
                bail!("--python {}: no such file", p.display());
            }
            return Ok(Some(p.clone()));
        }
        let dir = self.dir();
        let default = dir.parent().unwrap_or(Path::new(".")).join(".venv-ref/bin/python");
        Ok(default.is_file().then_some(default))
    }

    /// Where the default Python would be.
    fn default_python(&self) -> PathBuf {
        self.dir()
            .parent()
            .unwrap_or(Path::new("."))
            .join(".venv-ref/bin/python")
    }

    /// The line printed when the comparison is skipped for want of a Python.
    pub fn missing_note(&self) -> String {
        format!(
            "(no PyTorch at {}: run reference/setup.sh for the comparison)",
            self.default_python().display()
        )
    }

    /// The reference script `name` (`lee_pann.py`), which must exist.
    pub fn script(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir().join(name);
        if !path.is_file() {
            bail!(
                "{}: the PyTorch reference script is not there; run pann from the repository root or pass \
                 --reference DIR",
                path.display()
            );
        }
        Ok(path)
    }

    /// `reference/lee_pann.py --bench`: PyTorch's exact and α = 14 (B = 50) inference of the bundled
    /// ResNet-20 on the first `images` CIFAR-10 test images under `shared`, with `sign`'s coefficients
    /// (so that both sides evaluate the same polynomial), in NCHW or channels-last memory.
    pub fn inference_bench(
        &self,
        python: &Path,
        shared: &Path,
        sign: &CompositeSign,
        images: usize,
        channels_last: bool,
    ) -> Result<InferenceTiming> {
        let coeffs = std::env::temp_dir().join(format!("pann-bench-alpha14-{}.json", std::process::id()));
        std::fs::write(&coeffs, serde_json::to_string(&pann_approx::ApproxSummary::from(sign))?)
            .with_context(|| format!("cannot write {}", coeffs.display()))?;
        let mut args: Vec<String> = vec![
            "--bench".into(),
            "--images".into(),
            images.to_string(),
            "--coeffs".into(),
        ];
        args.push(coeffs.display().to_string());
        if channels_last {
            args.push("--channels-last".into());
        }
        let out = self.run_json(python, "lee_pann.py", Some(shared), &args);
        let _ = std::fs::remove_file(&coeffs);
        out
    }

    /// `reference/train_bench.py`: PyTorch's training throughput of ResNet-20 under `bench`.
    pub fn training_bench(&self, python: &Path, bench: &TrainingBench<'_>) -> Result<TrainingTiming> {
        let mut args: Vec<String> = vec![
            "--data".into(),
            bench.data_dir.display().to_string(),
            "--batch".into(),
            bench.batch.to_string(),
            "--steps".into(),
            bench.steps.to_string(),
            "--warmup".into(),
            bench.warmup.to_string(),
            "--threads".into(),
            bench.threads.to_string(),
        ];
        for (on, flag) in [
            (!bench.augment, "--no-augment"),
            (bench.channels_last, "--channels-last"),
            (bench.bf16, "--bf16"),
        ] {
            if on {
                args.push(flag.into());
            }
        }
        let shared = pann_data::shared_dir().ok();
        self.run_json(python, "train_bench.py", shared.as_deref(), &args)
    }

    /// The Python with OpenFHE's wheel (`.venv-openfhe/bin/python` beside the reference directory, made by
    /// `reference/openfhe_setup.sh`), or `None` when it is not installed.
    pub fn openfhe_python(&self) -> Option<PathBuf> {
        let p = self
            .dir()
            .parent()
            .unwrap_or(Path::new("."))
            .join(".venv-openfhe/bin/python");
        p.is_file().then_some(p)
    }

    /// `reference/openfhe_bootstrap.py`: OpenFHE's `EvalBootstrap` at `N = 2^log_n`, full slots, uniform ternary
    /// secret, level budget [3, 3], on `threads` OpenMP threads, reported in the fields of
    /// [`pann_he::bootstrap::BenchReport`].
    pub fn openfhe_bootstrap(&self, python: &Path, log_n: u32, threads: usize) -> Result<OpenFheBootstrap> {
        let args: Vec<String> = vec![
            "--log-n".into(),
            log_n.to_string(),
            "--threads".into(),
            threads.to_string(),
        ];
        self.run_json(python, "openfhe_bootstrap.py", None, &args)
    }

    /// Runs `python script args…`, with the bundled data directory `shared` (if known) as
    /// `PANN_SHARED`, so the reference reads the very files pann read, and parses the one JSON object
    /// it prints; an error naming the script, with its standard error, when it fails.
    fn run_json<T: DeserializeOwned>(
        &self,
        python: &Path,
        name: &str,
        shared: Option<&Path>,
        args: &[String],
    ) -> Result<T> {
        let script = self.script(name)?;
        let mut cmd = Command::new(python);
        cmd.arg(&script).args(args);
        if let Some(s) = shared {
            cmd.env(pann_data::SHARED_ENV, s);
        }
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {} {}", python.display(), script.display()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            bail!(
                "the reference ({} {name}) failed with {}{}",
                python.display(),
                out.status,
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", stderr.trim())
                }
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| format!("the output of the reference {name}"))
    }
}

/// What `reference/lee_pann.py --bench` measured.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct InferenceTiming {
    /// Seconds of exact inference.
    pub exact_seconds: f64,
    /// Seconds of PANN inference at α = 14, B = 50.
    pub pann_alpha14_seconds: f64,
    /// Correct predictions at α = 14 (pann's must be the same).
    pub pann_alpha14_correct: usize,
}

/// A training benchmark for `reference/train_bench.py`: the model, batch and augmentation pann timed.
#[derive(Clone, Copy, Debug)]
pub struct TrainingBench<'a> {
    /// CIFAR-10 directory.
    pub data_dir: &'a Path,
    /// Images per batch.
    pub batch: usize,
    /// Timed steps.
    pub steps: usize,
    /// Untimed warm-up steps.
    pub warmup: usize,
    /// PyTorch threads (pann's count, so that both sides use the same cores).
    pub threads: i32,
    /// Random crop and flip.
    pub augment: bool,
    /// The input in channels-last memory.
    pub channels_last: bool,
    /// bfloat16 autocast.
    pub bf16: bool,
}

/// What `reference/train_bench.py` measured.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct TrainingTiming {
    /// Training throughput.
    pub images_per_sec: f64,
    /// Threads PyTorch used.
    pub threads: i64,
    /// Peak resident memory, where the platform reports it.
    #[serde(default)]
    pub peak_rss_mib: Option<f64>,
}

/// What `reference/openfhe_bootstrap.py` measured: the fields of pann's bootstrapping report (`log_qp` from Q's
/// primes in the serialised context and P's in a ciphertext extended to QP; `null` if the script cannot find them).
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct OpenFheBootstrap {
    /// `log2 N`.
    pub log_n: u32,
    /// `log2(QP)`, when known.
    pub log_qp: Option<f64>,
    /// Slots filled.
    pub slots: usize,
    /// Level of the input.
    pub levels_before: usize,
    /// Levels left after bootstrapping.
    pub levels_after: usize,
    /// `−log2` of the largest error over real and imaginary parts.
    pub precision_bits_min: f64,
    /// `−log2` of the mean absolute error.
    pub precision_bits_mean: f64,
    /// Wall-clock seconds of one `EvalBootstrap` (the second call: the first finishes precomputations).
    pub seconds: f64,
    /// OpenMP threads.
    pub threads: usize,
    /// Bytes of the serialised evaluation keys.
    pub keys_bytes: u64,
    /// Peak resident memory of the Python process, bytes.
    pub peak_rss_bytes: u64,
}
