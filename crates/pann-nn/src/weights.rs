//! Model weights in the safetensors format, under PyTorch state-dict names.
//!
//! Reading is strict, because a silently half-loaded network gives plausible but wrong
//! accuracies: every parameter of the model must be in the file with the same shape, and
//! every tensor of the file must be a parameter. Two things PyTorch files commonly have are
//! accepted: a `module.` prefix (from `nn.DataParallel`) and BN `num_batches_tracked`
//! counters (unused at inference). Float tensors of any width (F16, BF16, F32, F64) are
//! converted to `f32`. Each failure names the file and the tensor.
//!
//! The architecture is inferred from names and shapes: `conv1.weight` + `linear.weight` +
//! `layer{1,2,3}.{i}` is a CIFAR ResNet with `n` = number of blocks per stage (depth `6n+2`),
//! option B if `shortcut.0.weight` tensors exist; `features.{i}.weight` + `classifier.weight`
//! is a VGG whose depth follows from the number of convolutions; `conv1.weight` +
//! `conv2.weight` + `fc.weight` is a SmallCNN whose widths are the convolutions' output
//! channels (their shapes must chain: `[c1, 3, 3, 3]`, `[c2, c1, 3, 3]`,
//! `[classes, c2·8·8]`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use tch::{nn, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model_card::ModelCard;
use crate::models::{smallcnn_fc_features, Architecture, Shortcut};

/// Tensors of a weight file by their (prefix-stripped) names, as `f32` CPU tensors.
pub struct StateDict {
    /// The file they came from (for error messages).
    pub path: PathBuf,
    /// Name → tensor.
    pub tensors: BTreeMap<String, Tensor>,
}

/// Reads a safetensors file; see the module doc for what is accepted.
pub fn read_state_dict(path: &Path) -> Result<StateDict> {
    let bytes = std::fs::read(path).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    check_framing(path, &bytes)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| deserialize_error(path, &bytes, e))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        let name = name.strip_prefix("module.").unwrap_or(&name).to_string();
        if name.ends_with("num_batches_tracked") {
            continue;
        }
        let kind = match view.dtype() {
            Dtype::F16 => Kind::Half,
            Dtype::BF16 => Kind::BFloat16,
            Dtype::F32 => Kind::Float,
            Dtype::F64 => Kind::Double,
            other => {
                return Err(Error::UnsupportedDtype {
                    path: path.to_path_buf(),
                    name,
                    dtype: format!("{other:?}"),
                })
            }
        };
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind)?.f_to_kind(Kind::Float)?;
        check_finite(path, &name, &t)?;
        tensors.insert(name, t);
    }
    Ok(StateDict {
        path: path.to_path_buf(),
        tensors,
    })
}

/// Refuses a tensor with a NaN or an infinity, naming the first one: a NaN weight makes every
/// output NaN, which downstream looks like 0% accuracy or, in a range search, like an input
/// that no bound contains.
fn check_finite(path: &Path, name: &str, t: &Tensor) -> Result<()> {
    let bad = t
        .f_isfinite()?
        .f_logical_not()?
        .f_flatten(0, -1)?
        .f_to_kind(Kind::Uint8)?;
    if bad.f_any()?.f_int64_value(&[])? == 0 {
        return Ok(());
    }
    let index = bad.f_argmax(0, false)?.f_int64_value(&[])?;
    let value = t.f_flatten(0, -1)?.f_double_value(&[index])? as f32;
    Err(Error::NonFinite {
        path: path.to_path_buf(),
        name: name.to_string(),
        index,
        value,
    })
}

/// Checks the 8-byte header length and the start of the JSON header, so that a file that is
/// not safetensors at all is not reported as a truncated one.
pub(crate) fn check_framing(path: &Path, bytes: &[u8]) -> Result<()> {
    let not = |problem: String| Error::NotSafetensors {
        path: path.to_path_buf(),
        problem,
    };
    if bytes.len() < 8 {
        return Err(not(format!(
            "{} bytes, too short for the 8-byte header length",
            bytes.len()
        )));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if let Some(&first) = bytes.get(8) {
        if first != b'{' {
            return Err(not("the header does not start with '{'".into()));
        }
    }
    if n > 100_000_000 {
        return Err(not(format!("implausible header length {n}")));
    }
    let available = bytes.len() as u64 - 8;
    if n > available {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            problem: format!("header of {n} bytes announced, {available} bytes follow"),
        });
    }
    Ok(())
}

pub(crate) fn deserialize_error(path: &Path, bytes: &[u8], e: SafeTensorError) -> Error {
    if let SafeTensorError::MetadataIncompleteBuffer = e {
        // Tell truncation from trailing bytes by the largest end offset in the header.
        let n = u64::from_le_bytes(bytes[..8].try_into().expect("checked")) as usize;
        let header: HashMap<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap_or_default();
        let needed = header
            .values()
            .filter_map(|v| v.get("data_offsets")?.get(1)?.as_u64())
            .max()
            .unwrap_or(0);
        let have = (bytes.len() - 8 - n) as u64;
        let problem = format!("the tensors need {needed} data bytes, the file holds {have}");
        return if have < needed {
            Error::Truncated {
                path: path.to_path_buf(),
                problem,
            }
        } else {
            Error::NotSafetensors {
                path: path.to_path_buf(),
                problem,
            }
        };
    }
    Error::NotSafetensors {
        path: path.to_path_buf(),
        problem: e.to_string(),
    }
}

/// Copies a state dict into the variables of `vs`, strictly (see the module doc).
pub(crate) fn copy_into(vs: &mut nn::VarStore, dict: &StateDict) -> Result<()> {
    let vars = vs.variables();
    let wanted: BTreeSet<&String> = vars.keys().collect();
    if let Some(name) = dict.tensors.keys().find(|n| !wanted.contains(n)) {
        return Err(Error::UnexpectedTensor {
            path: dict.path.clone(),
            name: name.clone(),
        });
    }
    // Check everything before copying anything, so a failed load leaves the model as it was.
    for name in &wanted {
        let src = dict.tensors.get(*name).ok_or_else(|| Error::MissingTensor {
            path: dict.path.clone(),
            name: (*name).clone(),
        })?;
        let (expected, found) = (vars[*name].size(), src.size());
        if expected != found {
            return Err(Error::ShapeMismatch {
                path: dict.path.clone(),
                name: (*name).clone(),
                expected,
                found,
            });
        }
    }
    tch::no_grad(|| -> Result<()> {
        for (name, var) in &vars {
            let mut var = var.shallow_clone();
            var.f_copy_(&dict.tensors[name])?;
        }
        Ok(())
    })
}

/// Writes the variables of `vs` as an `f32` safetensors file, with the architecture name and,
/// when given, the model card in the metadata ([`crate::model_card`]). Equal weights and card
/// give equal bytes.
pub(crate) fn save(vs: &nn::VarStore, arch: &Architecture, card: Option<&ModelCard>, path: &Path) -> Result<()> {
    let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(vars.len());
    for (name, t) in vars {
        let t = t.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let values = Vec::<f32>::try_from(t.f_flatten(0, -1)?)?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        data.push((name, shape, bytes));
    }
    let views = data
        .iter()
        .map(|(name, shape, bytes)| TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.as_str(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| io_error(path, e))?;
    let mut meta = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        (crate::model_card::ARCHITECTURE.to_string(), arch.to_string()),
    ]);
    if let Some(card) = card {
        meta.extend(card.to_metadata());
    }
    let bytes = crate::model_card::serialize(views, &meta)?;
    std::fs::write(path, bytes).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    // A model is a shareable artefact like the logs beside it, whatever the umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
    }
    Ok(())
}

fn io_error(path: &Path, e: SafeTensorError) -> Error {
    let cause = match e {
        SafeTensorError::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Infers the architecture from the names and shapes of a state dict.
pub fn infer_architecture(dict: &StateDict) -> Result<Architecture> {
    let unknown = |problem: String| Error::UnknownArchitecture {
        path: dict.path.clone(),
        problem,
    };
    let shape = |name: &str| dict.tensors.get(name).map(|t| t.size());
    let classes = |name: &str| -> Result<usize> {
        match shape(name).as_deref() {
            Some([c, _]) if *c > 0 => Ok(*c as usize),
            other => Err(unknown(format!(
                "`{name}` has shape {other:?}, expected [classes, features]"
            ))),
        }
    };
    if shape("conv1.weight").is_some() && shape("linear.weight").is_some() {
        let mut blocks = [BTreeSet::new(), BTreeSet::new(), BTreeSet::new()];
        for name in dict.tensors.keys() {
            let Some(rest) = name.strip_prefix("layer") else {
                continue;
            };
            let mut parts = rest.split('.');
            let stage: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let block: Option<usize> = parts.next().and_then(|s| s.parse().ok());
            match (stage, block) {
                (1..=3, Some(b)) => {
                    blocks[stage - 1].insert(b);
                }
                _ => return Err(unknown(format!("unexpected ResNet tensor `{name}`"))),
            }
        }
        let n = blocks[0].len();
        let contiguous = blocks.iter().all(|b| b.len() == n && b.iter().copied().eq(0..n));
        if n == 0 || !contiguous {
            let counts: Vec<usize> = blocks.iter().map(BTreeSet::len).collect();
            return Err(unknown(format!(
                "a CIFAR ResNet has the same number of blocks 0..n in layer1..3, found {counts:?}"
            )));
        }
        let shortcut = if dict.tensors.keys().any(|k| k.contains(".shortcut.0.")) {
            Shortcut::B
        } else {
            Shortcut::A
        };
        return Ok(Architecture::ResNet {
            depth: 6 * n + 2,
            shortcut,
            num_classes: classes("linear.weight")?,
        });
    }
    if shape("conv1.weight").is_some() && shape("fc.weight").is_some() {
        return infer_smallcnn(dict);
    }
    if shape("features.0.weight").is_some() && shape("classifier.weight").is_some() {
        let convs = dict
            .tensors
            .iter()
            .filter(|(k, t)| k.starts_with("features.") && k.ends_with(".weight") && t.dim() == 4)
            .count();
        let depth = convs + 3;
        let arch = Architecture::Vgg {
            depth,
            num_classes: classes("classifier.weight")?,
        };
        arch.validate()
            .map_err(|_| unknown(format!("VGG with {convs} convolutions (depth {depth})")))?;
        return Ok(arch);
    }
    Err(unknown(
        "expected a CIFAR ResNet (conv1, layer1..3, linear), a VGG (features, classifier) or a SmallCNN \
         (conv1, conv2, fc)"
            .into(),
    ))
}

/// SmallCNN widths and classes from the shapes of `conv1`, `conv2` and `fc`, which must chain.
fn infer_smallcnn(dict: &StateDict) -> Result<Architecture> {
    let unknown = |problem: String| Error::UnknownArchitecture {
        path: dict.path.clone(),
        problem: format!("SmallCNN (conv1, conv2, fc): {problem}"),
    };
    let shape = |name: &str| dict.tensors.get(name).map(|t| t.size());
    let found = |s: Option<&[i64]>| s.map_or("missing".to_string(), |s| format!("of shape {s:?}"));
    let c1 = match shape("conv1.weight").as_deref() {
        Some(&[c1, 3, 3, 3]) if c1 > 0 => c1,
        other => {
            return Err(unknown(format!(
                "`conv1.weight` is {}, expected [c1, 3, 3, 3]",
                found(other)
            )))
        }
    };
    let c2 = match shape("conv2.weight").as_deref() {
        Some(&[c2, cin, 3, 3]) if c2 > 0 && cin == c1 => c2,
        other => {
            return Err(unknown(format!(
                "`conv2.weight` is {}, expected [c2, {c1}, 3, 3] (its input channels are the {c1} \
                 output channels of conv1)",
                found(other)
            )))
        }
    };
    let features = smallcnn_fc_features(c2);
    let classes = match shape("fc.weight").as_deref() {
        Some(&[k, f]) if k > 0 && f == features => k,
        other => {
            return Err(unknown(format!(
                "`fc.weight` is {}, expected [classes, {features}] ({c2} channels of conv2 × 8 × 8 \
                 after two 2×2 pools of a 32×32 input)",
                found(other)
            )))
        }
    };
    Ok(Architecture::SmallCnn {
        c1: c1 as usize,
        c2: c2 as usize,
        num_classes: classes as usize,
    })
}
