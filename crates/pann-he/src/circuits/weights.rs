//! Reading a network's weights from safetensors with PyTorch names (as `pann train --arch smallcnn` writes them),
//! batch norm folded into the convolution before it: `w' = w·γ/√(σ² + ε)`, `b' = β − μ·γ/√(σ² + ε)` with
//! PyTorch's `ε = 1e-5`. Every problem names the file and the tensor.
//!
//! Kept apart from the `f64` networks ([`super::model`]) so that a further architecture reads its tensors with
//! the same [`read`] and [`folded_conv`].

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::model::{Conv, SmallCnn};
use crate::error::{Error, Result};

/// The bytes of a model file, the error naming it.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })
}

/// `bytes` (read from `path`) as safetensors, the error naming the file.
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        problem: format!("not a safetensors file: {e}"),
    })
}

/// Tensor `name` as `f64` values (F32 or F64), checked against `shape` and for finite values.
pub fn read(st: &SafeTensors<'_>, path: &Path, name: &str, shape: &[usize]) -> Result<Vec<f64>> {
    let bad = |problem: String| Error::BadFile {
        path: path.to_path_buf(),
        problem,
    };
    let t = st
        .tensor(name)
        .map_err(|_| bad(format!("tensor `{name}` is missing (not this architecture's file?)")))?;
    if t.shape() != shape {
        return Err(bad(format!(
            "tensor `{name}` has shape {:?}, expected {shape:?}",
            t.shape()
        )));
    }
    let values: Vec<f64> = match t.dtype() {
        Dtype::F32 => t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
            .collect(),
        Dtype::F64 => t
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        other => return Err(bad(format!("tensor `{name}` has dtype {other:?}, expected F32 or F64"))),
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!("tensor `{name}` holds a non-finite value at {i}")));
    }
    Ok(values)
}

/// The shape of tensor `name`.
pub fn shape_of(st: &SafeTensors<'_>, path: &Path, name: &str) -> Result<Vec<usize>> {
    st.tensor(name).map(|t| t.shape().to_vec()).map_err(|_| Error::BadFile {
        path: path.to_path_buf(),
        problem: format!("tensor `{name}` is missing (not this architecture's file?)"),
    })
}

/// The 3×3 convolution `{conv}.weight` (`cout × cin × 3 × 3`, no bias) with batch norm `{bn}` folded in.
pub fn folded_conv(st: &SafeTensors<'_>, path: &Path, conv: &str, bn: &str, cin: usize, cout: usize) -> Result<Conv> {
    let w = read(st, path, &format!("{conv}.weight"), &[cout, cin, 3, 3])?;
    let gamma = read(st, path, &format!("{bn}.weight"), &[cout])?;
    let beta = read(st, path, &format!("{bn}.bias"), &[cout])?;
    let mean = read(st, path, &format!("{bn}.running_mean"), &[cout])?;
    let var = read(st, path, &format!("{bn}.running_var"), &[cout])?;
    let mut fw = w;
    let mut b = vec![0.0; cout];
    for o in 0..cout {
        if var[o] < 0.0 {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("`{bn}.running_var` is negative for channel {o}"),
            });
        }
        let k = gamma[o] / (var[o] + 1e-5).sqrt();
        for v in &mut fw[o * cin * 9..(o + 1) * cin * 9] {
            *v *= k;
        }
        b[o] = beta[o] - mean[o] * k;
    }
    Ok(Conv { cin, cout, w: fw, b })
}

impl SmallCnn {
    /// Reads and folds a smallcnn safetensors file; every problem names the file and the tensor.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = read_file(path)?;
        let st = parse(path, &bytes)?;
        let names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
        if let Some(unknown) = names.iter().find(|n| {
            let n = n.strip_prefix("module.").unwrap_or(n);
            !["conv1.", "conv2.", "bn1.", "bn2.", "fc."]
                .iter()
                .any(|p| n.starts_with(p))
        }) {
            return Err(Error::Model(format!(
                "{}: tensor `{unknown}` is not part of a smallcnn (conv1, bn1, conv2, bn2, fc); \
                 only that architecture runs encrypted",
                path.display()
            )));
        }
        let c1s = shape_of(&st, path, "conv1.weight")?;
        let c2s = shape_of(&st, path, "conv2.weight")?;
        let fcs = shape_of(&st, path, "fc.weight")?;
        if c1s.len() != 4 || c2s.len() != 4 || fcs.len() != 2 {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("unexpected tensor ranks: conv1 {c1s:?}, conv2 {c2s:?}, fc {fcs:?}"),
            });
        }
        let (c0, c1, c2, classes) = (c1s[1], c1s[0], c2s[0], fcs[0]);
        let conv1 = folded_conv(&st, path, "conv1", "bn1", c0, c1)?;
        let conv2 = folded_conv(&st, path, "conv2", "bn2", c1, c2)?;
        let feat = fcs[1];
        if c2 == 0 || feat % c2 != 0 {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("fc.weight has {feat} inputs, not a multiple of conv2's {c2} channels"),
            });
        }
        let side4 = ((feat / c2) as f64).sqrt().round() as usize;
        if side4 * side4 * c2 != feat {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("fc.weight has {feat} inputs: not {c2} square feature maps"),
            });
        }
        let fc_w = read(&st, path, "fc.weight", &[classes, feat])?;
        let fc_b = read(&st, path, "fc.bias", &[classes])?;
        Ok(Self {
            conv1,
            conv2,
            fc_w,
            fc_b,
            classes,
            side: side4 * 4,
        })
    }
}
