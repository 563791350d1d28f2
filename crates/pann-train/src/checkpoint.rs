//! Checkpoints: everything a killed run needs to continue as if it had never stopped.
//!
//! One safetensors file, `checkpoint.safetensors` in the run directory, holds
//! * `model/<name>`: every model variable (parameters and BN running statistics), `f32`;
//! * `momentum/<name>`: the SGD momentum buffer of every trainable parameter, `f32`;
//! * metadata `pann-train`: a JSON [`State`] — the [`TrainConfig`], the epochs done, the step
//!   count (the schedule position), the epoch records, and a CRC-32 of all tensor names and
//!   bytes; `pann-train-crc`: a CRC-32 of that JSON text itself (format 2), so that an altered
//!   epoch count or schedule position is caught like altered weights; `architecture`: the
//!   architecture name (so `pann eval --model` could read it too). Format-1 checkpoints (no
//!   state CRC, written before 2026-12-03) are still read.
//!
//! There is no generator state to store: every random draw derives from `(seed, epoch)` (see
//! [`crate::loader`]), so the seed in the config and the epoch count are the RNG state.
//!
//! Writes are atomic: the bytes go to `<file>.tmp`, are synced, and the temp file is renamed
//! over the old one, so a kill leaves either the previous checkpoint or the new one. A file
//! that was truncated or altered anyway fails to parse or fails the checksum, and loading
//! reports [`Error::CorruptCheckpoint`] naming it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use pann_nn::Model;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::log::EpochRecord;
use crate::sgd::Sgd;

/// File name of the checkpoint in a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
/// File name of the latest model (plain weights, for `pann eval --model`).
pub const MODEL_FILE: &str = "model.safetensors";
/// File name of the run's config (a readable copy of the one in the checkpoint).
pub const CONFIG_FILE: &str = "config.json";
/// Version of the checkpoint layout that is written (2: the state JSON has its own CRC).
pub const FORMAT: u32 = 2;
/// The oldest layout still read (1: only the tensors are checksummed).
const OLDEST_FORMAT: u32 = 1;
const META_KEY: &str = "pann-train";
const STATE_CRC_KEY: &str = "pann-train-crc";

/// The training state beside the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Layout version.
    pub format: u32,
    /// The run's recipe.
    pub config: TrainConfig,
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken (the schedule position).
    pub step: usize,
    /// One record per finished epoch.
    pub records: Vec<EpochRecord>,
    /// CRC-32 of the tensor names and bytes, in name order.
    pub checksum: u32,
    /// The per-site bounds (and mean-leak offsets) the polynomial trains with, as last fitted: a resume between
    /// two refits needs the bounds fitted on weights it no longer has. Absent from older checkpoints (and for
    /// runs with one global bound and no correction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pann_sites: Option<PannSites>,
}

/// Per-site parameters of the polynomial in training ([`crate::TrainConfig::pann_range`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PannSites {
    /// Bound per ReLU site.
    pub bounds: Vec<f64>,
    /// Bound per max-pool site (training runs exact max-pools; kept for the correction's measurement).
    #[serde(default)]
    pub pool_bounds: Vec<f64>,
    /// Mean-leak offsets per ReLU site and channel (empty without the correction).
    pub offsets: Vec<Vec<f64>>,
    /// The epoch (counted from 0) before which the bounds were fitted.
    pub fitted_before_epoch: usize,
}

/// A checkpoint read back.
pub struct Loaded {
    /// The state.
    pub state: State,
    /// Model variables by name.
    pub model: BTreeMap<String, Tensor>,
    /// Momentum buffers by parameter name.
    pub momentum: BTreeMap<String, Tensor>,
}

/// Writes `bytes` to `path` atomically (temp file, sync, rename, sync of the directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Makes the rename itself durable; not every file system allows it.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    };
    write().map_err(|e| Error::io(path, e))
}

fn f32_bytes(t: &Tensor) -> Result<(Vec<usize>, Vec<u8>)> {
    let t = t.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
    let shape = t.size().iter().map(|&d| d as usize).collect();
    let values = Vec::<f32>::try_from(t.f_flatten(0, -1)?)?;
    Ok((shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
}

fn checksum<'a>(entries: impl Iterator<Item = (&'a str, &'a [u8])>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for (name, bytes) in entries {
        h.update(name.as_bytes());
        h.update(bytes);
    }
    h.finalize()
}

/// Saves model, optimiser and `state` (its checksum is filled in) to `path`, atomically.
pub fn save(path: &Path, model: &Model, sgd: &Sgd, state: &State) -> Result<()> {
    let mut data: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for (name, t) in model.var_store().variables() {
        data.insert(format!("model/{name}"), f32_bytes(&t)?);
    }
    for (name, t) in sgd.buffers() {
        data.insert(format!("momentum/{name}"), f32_bytes(t)?);
    }
    let mut state = state.clone();
    state.format = FORMAT;
    state.checksum = checksum(data.iter().map(|(n, (_, b))| (n.as_str(), b.as_slice())));
    let json = serde_json::to_string(&state).expect("state serialises");
    let meta = BTreeMap::from([
        (
            STATE_CRC_KEY.to_string(),
            format!("{:08x}", crc32fast::hash(json.as_bytes())),
        ),
        (META_KEY.to_string(), json),
        ("architecture".to_string(), model.architecture().to_string()),
        ("format".to_string(), "pt".to_string()),
    ]);
    let views = data
        .iter()
        .map(|(n, (shape, bytes))| TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (n.as_str(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
    // Metadata in sorted key order, so the same state gives the same bytes (see `pann_nn::model_card`).
    let bytes = pann_nn::model_card::serialize(views, &meta)
        .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
    write_atomic(path, &bytes)
}

/// Reads a checkpoint; any damage is an [`Error::CorruptCheckpoint`] naming `path`.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let corrupt = |problem: String| Error::CorruptCheckpoint {
        path: path.to_path_buf(),
        problem,
    };
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        corrupt(format!(
            "not a readable safetensors file ({e}); truncated or overwritten?"
        ))
    })?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let metadata = meta.metadata().as_ref();
    let json = metadata
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| corrupt("no pann-train state in the metadata (not a pann train checkpoint)".into()))?;
    let state: State = serde_json::from_str(json).map_err(|e| corrupt(format!("unreadable state: {e}")))?;
    if !(OLDEST_FORMAT..=FORMAT).contains(&state.format) {
        return Err(corrupt(format!(
            "checkpoint format {}, this pann reads {OLDEST_FORMAT} to {FORMAT}",
            state.format
        )));
    }
    if state.format >= 2 {
        let stored = metadata
            .and_then(|m| m.get(STATE_CRC_KEY))
            .ok_or_else(|| corrupt("the state's CRC is missing".into()))?;
        let sum = format!("{:08x}", crc32fast::hash(json.as_bytes()));
        if &sum != stored {
            return Err(corrupt(format!(
                "state checksum {sum} does not match the stored {stored} (the epoch count, records or recipe were altered)"
            )));
        }
    }
    let mut views: Vec<(String, TensorView<'_>)> = st.tensors();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    let sum = checksum(views.iter().map(|(n, v)| (n.as_str(), v.data())));
    if sum != state.checksum {
        return Err(corrupt(format!(
            "checksum {sum:08x} does not match the stored {:08x} (the file was altered)",
            state.checksum
        )));
    }
    let (mut model, mut momentum) = (BTreeMap::new(), BTreeMap::new());
    for (name, v) in views {
        if v.dtype() != Dtype::F32 {
            return Err(corrupt(format!(
                "tensor `{name}` has dtype {:?}, expected F32",
                v.dtype()
            )));
        }
        let shape: Vec<i64> = v.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(v.data(), &shape, Kind::Float)?;
        if let Some(n) = name.strip_prefix("model/") {
            model.insert(n.to_string(), t);
        } else if let Some(n) = name.strip_prefix("momentum/") {
            momentum.insert(n.to_string(), t);
        } else {
            return Err(corrupt(format!("unexpected tensor `{name}`")));
        }
    }
    Ok(Loaded { state, model, momentum })
}

/// Copies checkpoint variables into `model`, which must have exactly these names and shapes.
pub fn restore_model(path: &Path, model: &mut Model, vars: &BTreeMap<String, Tensor>) -> Result<()> {
    let corrupt = |problem: String| Error::CorruptCheckpoint {
        path: path.to_path_buf(),
        problem,
    };
    let mine = model.var_store().variables();
    if mine.len() != vars.len() {
        return Err(corrupt(format!(
            "{} model tensors, {} has {}",
            vars.len(),
            model.architecture(),
            mine.len()
        )));
    }
    for (name, var) in &mine {
        let src = vars
            .get(name)
            .ok_or_else(|| corrupt(format!("no tensor for `{name}` of {}", model.architecture())))?;
        if src.size() != var.size() {
            return Err(corrupt(format!(
                "`{name}` has shape {:?}, {} needs {:?}",
                src.size(),
                model.architecture(),
                var.size()
            )));
        }
    }
    tch::no_grad(|| -> Result<()> {
        for (name, var) in mine {
            var.shallow_clone().f_copy_(&vars[&name])?;
        }
        Ok(())
    })
}
