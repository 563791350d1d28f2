//! Output locations, checked before the work that fills them.
//!
//! An analysis or sweep can take minutes to an hour; finding out only at the end that its
//! output directory cannot be created (a typo, a read-only mount, `/proc`) loses all of it. So
//! commands call these first: they create the directory and prove it writable with a probe
//! file, and the error names the path.

use anyhow::{Context, Result};
use std::path::Path;

/// Creates `dir` if needed and checks that files can be created in it.
pub fn ensure_writable_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("output directory {}: cannot create it", dir.display()))?;
    let probe = dir.join(format!(".pann-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| format!("output directory {}: cannot create files in it", dir.display()))?;
    // The probe proved the point; failing to remove it is not worth failing the command.
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Checks that the file `path` can be written: its directory is created and probed, and
/// `path` itself must not be a directory.
pub fn ensure_writable_file(path: &Path) -> Result<()> {
    if path.is_dir() {
        anyhow::bail!("output file {}: is a directory", path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    ensure_writable_dir(dir).with_context(|| format!("output file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_missing_directories_and_leaves_no_probe() {
        let root = std::env::temp_dir().join(format!("pann-output-test-{}", std::process::id()));
        let dir = root.join("a/b");
        ensure_writable_dir(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "the probe file was left behind"
        );
        ensure_writable_file(&root.join("c/x.svg")).unwrap();
        assert!(root.join("c").is_dir());
        let err = ensure_writable_file(&dir).unwrap_err();
        assert!(format!("{err:#}").contains("is a directory"), "{err:#}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn refuses_a_location_under_a_file() {
        let root = std::env::temp_dir().join(format!("pann-output-file-{}", std::process::id()));
        std::fs::write(&root, b"x").unwrap();
        let err = ensure_writable_dir(&root.join("sub")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("cannot create it") && msg.contains(&root.display().to_string()),
            "{msg}"
        );
        std::fs::remove_file(&root).unwrap();
    }
}
