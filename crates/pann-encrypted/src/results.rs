//! Per-image results in a JSON-lines file: one [`ImageResult`] per line, appended (and flushed) as each image
//! finishes, so that a long run (minutes per image under bootstrapping) loses at most the image in progress,
//! and a resumed run reads the file back and runs only the images not in it ([`run_resumable`]). The report
//! is built from the results alone, so a resumed run reports exactly as one that ran every image.

use std::io::Write;
use std::path::Path;

use pann_data::Dataset;

use crate::error::{Error, Result};
use crate::{EncryptedInferenceConfig, EncryptedRun, ImageResult, Network, Observer, Report};

fn bad(path: &Path, problem: String) -> Error {
    Error::Results {
        path: path.to_path_buf(),
        problem,
    }
}

/// The results in `path` (none if it does not exist); an error names the file and the line that is not a
/// result.
pub fn read(path: &Path) -> Result<Vec<ImageResult>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad(path, e.to_string())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| bad(path, format!("line {}: {e}", i + 1))))
        .collect()
}

/// Appends `result` as one line of `path` (created if missing) and flushes it.
pub fn append(path: &Path, result: &ImageResult) -> Result<()> {
    let line = serde_json::to_string(result).map_err(|e| bad(path, e.to_string()))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| bad(path, e.to_string()))?;
    writeln!(f, "{line}")
        .and_then(|_| f.flush())
        .map_err(|e| bad(path, e.to_string()))
}

/// [`crate::run`] with the per-image results in `path`: the first `config.images` images of `test`, those
/// already in the file read back instead of run (the observer hears of them through [`Observer::resumed`]),
/// the others run in order and appended as they finish. Results in the file for images beyond the run are
/// left alone and not reported.
pub fn run_resumable(
    config: &EncryptedInferenceConfig,
    net: &Network,
    calib: &Dataset,
    test: &Dataset,
    path: &Path,
    observer: &mut dyn Observer,
) -> Result<Report> {
    config.validate()?;
    let n = config.images.min(test.n);
    let mut done: Vec<Option<ImageResult>> = vec![None; n];
    for r in read(path)? {
        if r.index < n {
            if r.label != test.labels[r.index] as usize {
                return Err(bad(
                    path,
                    format!(
                        "image {} has label {} there, {} in the test set: another data set?",
                        r.index, r.label, test.labels[r.index]
                    ),
                ));
            }
            let i = r.index;
            done[i] = Some(r);
        }
    }
    let mut run = EncryptedRun::prepare(config, net, calib)?;
    run.setup.images = n;
    observer.ready(run.setup());
    observer.resumed(done.iter().filter(|r| r.is_some()).count());
    for (i, slot) in done.iter_mut().enumerate() {
        if slot.is_none() {
            let r = run.image(test, i)?;
            append(path, &r)?;
            observer.image(&r);
            *slot = Some(r);
        }
    }
    let results: Vec<ImageResult> = done.into_iter().flatten().collect();
    Ok(run.report(&results))
}
