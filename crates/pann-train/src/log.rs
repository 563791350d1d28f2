//! Per-epoch records and the CSV and JSON logs written from them.
//!
//! Both files are rewritten whole after every epoch from the records kept in the checkpoint,
//! each atomically, so after a kill and a resume they hold exactly one line per finished epoch.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::write_atomic;
use crate::error::Result;

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss (against the possibly smoothed or mixed targets).
    pub train_loss: f64,
    /// Training accuracy against the label of larger weight.
    pub train_acc: f64,
    /// Test accuracy with exact ReLU (BN in inference mode).
    pub test_acc: f64,
    /// Test accuracy with the training activation (PANN ReLU), if it is not the exact one.
    pub test_acc_pann: Option<f64>,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Wall-clock seconds of the epoch's training steps.
    pub train_seconds: f64,
    /// Wall-clock seconds of the test evaluation.
    pub test_seconds: f64,
    /// Training images per second.
    pub images_per_sec: f64,
    /// Peak resident memory of the process so far, MiB.
    pub peak_rss_mib: Option<f64>,
    /// The largest per-site bound the polynomial trained with in this epoch (per-site bounds only). Absent from
    /// older logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_bound_max: Option<f64>,
    /// Test accuracy as `pann eval --range lee-layers` gives it at `--pann-alpha` (inference kernels, bounds
    /// fitted on the test images, mean-leak correction if the run trains with it), with
    /// [`crate::RunOptions::eval_lee_layers`]. Absent from older logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_acc_lee_layers: Option<f64>,
    /// The largest bound `lee-layers` found on the test images. Absent from older logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_lee_layers_bound_max: Option<f64>,
}

const CSV_HEADER: &str =
    "epoch,train_loss,train_acc,test_acc,test_acc_pann,lr,train_seconds,test_seconds,images_per_sec,peak_rss_mib";
/// Columns added for per-site bounds; written only when some record has them, so older runs' logs keep their
/// shape.
const CSV_RULE_COLUMNS: &str = ",train_bound_max,test_acc_lee_layers,test_lee_layers_bound_max";

/// The CSV log of `records`, one header line and one line per epoch.
pub fn csv(records: &[EpochRecord]) -> String {
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    let extra = records
        .iter()
        .any(|r| r.train_bound_max.is_some() || r.test_acc_lee_layers.is_some());
    let mut s = format!("{CSV_HEADER}{}\n", if extra { CSV_RULE_COLUMNS } else { "" });
    for r in records {
        let tail = if extra {
            format!(
                ",{},{},{}",
                opt(r.train_bound_max),
                opt(r.test_acc_lee_layers),
                opt(r.test_lee_layers_bound_max)
            )
        } else {
            String::new()
        };
        s += &format!(
            "{},{:.6},{:.6},{:.6},{},{:.6e},{:.3},{:.3},{:.1},{}{tail}\n",
            r.epoch,
            r.train_loss,
            r.train_acc,
            r.test_acc,
            opt(r.test_acc_pann),
            r.lr,
            r.train_seconds,
            r.test_seconds,
            r.images_per_sec,
            opt(r.peak_rss_mib)
        );
    }
    s
}

/// Writes `log.csv` and `log.json` into `dir`.
pub fn write_logs(dir: &Path, records: &[EpochRecord]) -> Result<()> {
    write_atomic(&dir.join("log.csv"), csv(records).as_bytes())?;
    let json = serde_json::to_vec_pretty(records).expect("records serialise");
    write_atomic(&dir.join("log.json"), &json)
}
