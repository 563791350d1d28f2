//! A CIFAR ResNet (He et al. 2016, §4.2; pann-nn's `resnet{20,32,44,56,110}`) as a plain `f64` network with
//! batch norm folded into every convolution, read from the safetensors pann-nn writes (akamaster's names:
//! `conv1`, `bn1`, `layer{s}.{i}.{conv1,bn1,conv2,bn2}`, `layer{s}.{i}.shortcut.{0,1}` for option B,
//! `linear`). The reference of the encrypted program ([`super::HeResNet`]), any ReLU per site.
//!
//! ```text
//! conv1 3×3 · bn1 · relu · [block]×3n · global average pool · linear
//! block: relu( bn2(conv2( relu(bn1(conv1(x))) )) + shortcut(x) )
//! ```
//!
//! Shortcuts where a block changes shape: option A subsamples `x[:, ::2, ::2]` and zero-pads `planes/4`
//! channels on each side; option B is a 1×1 stride-2 convolution with batch norm. ReLU sites in forward order:
//! the stem's, then `relu1`, `relu2` of each block (`1 + 2·3n` sites).

use std::path::Path;

use safetensors::SafeTensors;

use super::model::Conv;
use super::weights::{folded_conv, parse, read, read_file, shape_of};
use crate::error::{Error, Result};

/// The shortcut branch of a block.
#[derive(Clone, Debug)]
pub enum Shortcut {
    /// `x` itself (same shape).
    Identity,
    /// Option A: subsample by 2, zero-pad `pad` channels on each side.
    PadA {
        /// Channels added before (and after) the input's.
        pad: usize,
    },
    /// Option B: 1×1 stride-2 convolution with batch norm folded, weights `[out][in]`.
    Conv1x1 {
        /// `w[o·cin + c]`.
        w: Vec<f64>,
        /// One bias per output channel.
        b: Vec<f64>,
    },
}

/// One basic block.
#[derive(Clone, Debug)]
pub struct Block {
    /// First 3×3 convolution (stride `stride`), BN folded.
    pub conv1: Conv,
    /// Second 3×3 convolution (stride 1), BN folded.
    pub conv2: Conv,
    /// 1 or 2.
    pub stride: usize,
    /// The shortcut.
    pub shortcut: Shortcut,
}

/// The folded ResNet.
#[derive(Clone, Debug)]
pub struct ResNet {
    /// The stem convolution, BN folded.
    pub stem: Conv,
    /// The blocks in order.
    pub blocks: Vec<Block>,
    /// `linear.weight`, `[classes][channels]`.
    pub fc_w: Vec<f64>,
    /// `linear.bias`.
    pub fc_b: Vec<f64>,
    /// Number of classes.
    pub classes: usize,
    /// Input side (square images).
    pub side: usize,
}

impl Block {
    /// The shortcut of a `cin × h × h` map `x`: `cout × h/s × h/s`.
    pub fn shortcut_of(&self, x: &[f64], cin: usize, h: usize) -> Vec<f64> {
        let cout = self.conv1.cout;
        let s = self.stride;
        let ho = h.div_ceil(s);
        let at = |c: usize, i: usize, j: usize| x[(c * h + i * s) * h + j * s];
        let mut out = vec![0.0; cout * ho * ho];
        for o in 0..cout {
            for i in 0..ho {
                for j in 0..ho {
                    out[(o * ho + i) * ho + j] = match &self.shortcut {
                        Shortcut::Identity => at(o, i, j),
                        Shortcut::PadA { pad } => {
                            if o >= *pad && o - pad < cin {
                                at(o - pad, i, j)
                            } else {
                                0.0
                            }
                        }
                        Shortcut::Conv1x1 { w, b } => {
                            b[o] + (0..cin).map(|c| w[o * cin + c] * at(c, i, j)).sum::<f64>()
                        }
                    };
                }
            }
        }
        out
    }
}

impl ResNet {
    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.stem.cin
    }

    /// ReLU sites: the stem's and two per block.
    pub fn sites(&self) -> usize {
        1 + 2 * self.blocks.len()
    }

    /// Channels of the last block (the linear layer's inputs).
    pub fn out_channels(&self) -> usize {
        self.blocks.last().map_or(self.stem.cout, |b| b.conv2.cout)
    }

    /// Logits of one normalised CHW image with `relu(site, z)` as the activations, and every site's
    /// pre-activations (`C × h × h` each, in site order).
    pub fn pass(&self, x: &[f64], relu: impl Fn(usize, f64) -> f64) -> (Vec<f64>, Vec<Vec<f64>>) {
        let mut h = self.side;
        let mut pre = Vec::with_capacity(self.sites());
        let z = self.stem.apply(x, h, h);
        let mut a: Vec<f64> = z.iter().map(|&v| relu(0, v)).collect();
        pre.push(z);
        let mut c = self.stem.cout;
        for (k, blk) in self.blocks.iter().enumerate() {
            let z1 = blk.conv1.apply_strided(&a, h, h, blk.stride);
            let ho = h.div_ceil(blk.stride);
            let a1: Vec<f64> = z1.iter().map(|&v| relu(1 + 2 * k, v)).collect();
            pre.push(z1);
            let short = blk.shortcut_of(&a, c, h);
            let z2: Vec<f64> = blk
                .conv2
                .apply(&a1, ho, ho)
                .iter()
                .zip(&short)
                .map(|(m, s)| m + s)
                .collect();
            a = z2.iter().map(|&v| relu(2 + 2 * k, v)).collect();
            pre.push(z2);
            h = ho;
            c = blk.conv2.cout;
        }
        let q = (h * h) as f64;
        let pooled: Vec<f64> = (0..c)
            .map(|ch| a[ch * h * h..(ch + 1) * h * h].iter().sum::<f64>() / q)
            .collect();
        let logits = (0..self.classes)
            .map(|o| self.fc_b[o] + (0..c).map(|ch| self.fc_w[o * c + ch] * pooled[ch]).sum::<f64>())
            .collect();
        (logits, pre)
    }

    /// Logits and the largest `|input|` of each ReLU site.
    pub fn forward(&self, x: &[f64], relu: impl Fn(usize, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
        let (logits, pre) = self.pass(x, relu);
        let max = pre.iter().map(|z| z.iter().fold(0f64, |m, v| m.max(v.abs()))).collect();
        (logits, max)
    }

    /// Reads and folds a CIFAR ResNet safetensors file (option A or B shortcuts, any depth `6n + 2`); every
    /// problem names the file and the tensor.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = read_file(path)?;
        let st = parse(path, &bytes)?;
        let bad = |problem: String| Error::BadFile {
            path: path.to_path_buf(),
            problem,
        };
        let stem_shape = shape_of(&st, path, "conv1.weight")?;
        if stem_shape.len() != 4 || stem_shape[2..] != [3, 3] {
            return Err(bad(format!(
                "conv1.weight has shape {stem_shape:?}, expected [16, 3, 3, 3]"
            )));
        }
        let (c0, mut cin) = (stem_shape[1], stem_shape[0]);
        let stem = folded_conv(&st, path, "conv1", "bn1", c0, cin)?;
        let names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
        let per_stage = (0..)
            .take_while(|i| names.iter().any(|n| n.starts_with(&format!("layer1.{i}."))))
            .count();
        if per_stage == 0 {
            return Err(bad("no tensor `layer1.0.*`: not a CIFAR ResNet".into()));
        }
        let mut blocks = Vec::new();
        for stage in 0..3 {
            for i in 0..per_stage {
                let q = format!("layer{}.{i}", stage + 1);
                let w1 = shape_of(&st, path, &format!("{q}.conv1.weight"))?;
                let Some(&planes) = w1.first().filter(|_| w1.len() == 4) else {
                    return Err(bad(format!(
                        "{q}.conv1.weight has shape {w1:?}, expected [planes, {cin}, 3, 3]"
                    )));
                };
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                let conv1 = folded_conv(&st, path, &format!("{q}.conv1"), &format!("{q}.bn1"), cin, planes)?;
                let conv2 = folded_conv(&st, path, &format!("{q}.conv2"), &format!("{q}.bn2"), planes, planes)?;
                let shortcut = if stride == 1 && cin == planes {
                    Shortcut::Identity
                } else if names.iter().any(|n| n == &format!("{q}.shortcut.0.weight")) {
                    let c = folded_conv1x1(&st, path, &format!("{q}.shortcut"), cin, planes)?;
                    Shortcut::Conv1x1 { w: c.0, b: c.1 }
                } else {
                    if planes != cin + 2 * (planes / 4) {
                        return Err(bad(format!(
                            "{q}: an option-A shortcut pads {} channels on each side of {cin}, not {planes}",
                            planes / 4
                        )));
                    }
                    Shortcut::PadA { pad: planes / 4 }
                };
                blocks.push(Block {
                    conv1,
                    conv2,
                    stride,
                    shortcut,
                });
                cin = planes;
            }
        }
        let fc = shape_of(&st, path, "linear.weight")?;
        if fc.len() != 2 || fc[1] != cin {
            return Err(bad(format!(
                "linear.weight has shape {fc:?}, expected [classes, {cin}]"
            )));
        }
        let classes = fc[0];
        let fc_w = read(&st, path, "linear.weight", &[classes, cin])?;
        let fc_b = read(&st, path, "linear.bias", &[classes])?;
        let side = side_from_metadata(&bytes).unwrap_or(32);
        Ok(Self {
            stem,
            blocks,
            fc_w,
            fc_b,
            classes,
            side,
        })
    }
}

/// The input side from the safetensors metadata `input_shape` ("3,32,32"), if present.
fn side_from_metadata(bytes: &[u8]) -> Option<usize> {
    let (_, meta) = SafeTensors::read_metadata(bytes).ok()?;
    let shape = meta.metadata().as_ref()?.get("input_shape")?.clone();
    shape.split(',').next_back()?.trim().parse().ok()
}

/// `{prefix}.0.weight` (`cout × cin × 1 × 1`) with batch norm `{prefix}.1` folded: weights and biases.
fn folded_conv1x1(
    st: &SafeTensors<'_>,
    path: &Path,
    prefix: &str,
    cin: usize,
    cout: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut w = read(st, path, &format!("{prefix}.0.weight"), &[cout, cin, 1, 1])?;
    let bn = format!("{prefix}.1");
    let gamma = read(st, path, &format!("{bn}.weight"), &[cout])?;
    let beta = read(st, path, &format!("{bn}.bias"), &[cout])?;
    let mean = read(st, path, &format!("{bn}.running_mean"), &[cout])?;
    let var = read(st, path, &format!("{bn}.running_var"), &[cout])?;
    let mut b = vec![0.0; cout];
    for o in 0..cout {
        if var[o] < 0.0 {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("`{bn}.running_var` is negative for channel {o}"),
            });
        }
        let k = gamma[o] / (var[o] + 1e-5).sqrt();
        for v in &mut w[o * cin..(o + 1) * cin] {
            *v *= k;
        }
        b[o] = beta[o] - mean[o] * k;
    }
    Ok((w, b))
}
