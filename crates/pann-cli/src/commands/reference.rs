//! The independent PyTorch implementations in `reference/` that `pann bench` and `pann train --bench`
//! time pann against: where the scripts and the Python that runs them are.
//!
//! Nothing here depends on where `pann` was built: the scripts are looked for in `--reference DIR`,
//! else in `reference/` under the current directory (the repository root), and the Python in
//! `--python`, else in the `.venv-ref/` that `reference/setup.sh` makes beside that directory.

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

    /// Where the default Python would be, for the message that says it is missing.
    pub fn default_python(&self) -> PathBuf {
        self.dir()
            .parent()
            .unwrap_or(Path::new("."))
            .join(".venv-ref/bin/python")
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

    /// Runs `python script args…`, with the bundled data directory `shared` (if known) as
    /// `PANN_SHARED`, so the reference reads the very files pann read; its output, or an error naming
    /// the script.
    pub fn run(&self, python: &Path, name: &str, shared: Option<&Path>, args: &[String]) -> Result<Output> {
        let script = self.script(name)?;
        let mut cmd = Command::new(python);
        cmd.arg(&script).args(args);
        if let Some(s) = shared {
            cmd.env(pann_data::SHARED_ENV, s);
        }
        cmd.output()
            .with_context(|| format!("cannot run {} {}", python.display(), script.display()))
    }
}
