//! The convolution compiler: a 3×3 convolution as rotations and plaintext masks on slot vectors, in the
//! baby-step giant-step form (`MaskedRotations`) that every linear layer of the circuits shares.
//!
//! Inputs: channel `c` in block `c` (`s²` slots), pixels on the grid of gap `g` (`g = 2^k` after `k` pools),
//! replicated with the period `C_p·s²` (`C_p` the input channels rounded up to a power of two) over all slots, so
//! that a rotation by `r·s²` brings channel `(o + r) mod C_p` into block `o`.
//!
//! **Convolution** (3×3, same padding, stride 1 or 2 on the grid): `Σ_r rot_(r·s²)( Σ_k M_(r,k) ⊙ rot_(δ_k)(x) )`,
//! `δ_k = g·(d_i·s + d_j)` for the nine kernel offsets (baby steps, shared) and `r` over the channel shifts
//! (giant steps); `M_(r,k)` carries `w[o][(o+r) mod C_p][k]` at every valid output pixel of block `o + r` whose
//! neighbour `δ_k` is inside the image, 0 elsewhere — so padding and garbage slots are masked out. Rotations:
//! `8 + (C_p − 1)`; one level.

use super::model::Conv;
use super::slots::{Mask, Slots};
use crate::error::{Error, Result};

/// One 3×3 convolution (same padding, stride 1 or 2) compiled to rotations and masks, for inputs on the grid of
/// gap `g` replicated with period `C_p` blocks; a stride-2 output lives on the grid of gap `2g`.
pub struct HeConv {
    sum: MaskedRotations,
    bias: Mask,
}

/// `Σ_g rot_g( Σ_k M_(g,k) ⊙ rot_(b_k)(x) )`, rescaled once: the baby-step giant-step form of every linear layer
/// here (baby rotations shared by all giant steps, masks pre-rotated by `−g`).
pub(crate) struct MaskedRotations {
    /// Baby-step rotations `b_k`.
    pub(crate) baby: Vec<i64>,
    /// `(giant rotation g, [(index into baby, mask)])`, each list non-empty.
    pub(crate) giant: Vec<(i64, Vec<(usize, Mask)>)>,
}

impl MaskedRotations {
    /// Runs the sum on `x`; baby steps no mask reads are skipped.
    pub(crate) fn run<B: Slots>(&self, b: &B, x: &B::V) -> Result<B::V> {
        let used = |k: usize| self.giant.iter().any(|(_, ms)| ms.iter().any(|(i, _)| *i == k));
        let rotated: Vec<Option<B::V>> = self
            .baby
            .iter()
            .enumerate()
            .map(|(k, &d)| {
                used(k)
                    .then(|| if d == 0 { Ok(x.clone()) } else { b.rotate(x, d) })
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let mut total: Option<B::V> = None;
        for (shift, masks) in &self.giant {
            let mut acc: Option<B::V> = None;
            for (k, m) in masks {
                let r = rotated[*k].as_ref().expect("used baby steps were rotated");
                let p = b.mul_mask(r, m)?;
                acc = Some(match acc {
                    None => p,
                    Some(a) => b.add(&a, &p)?,
                });
            }
            let acc = acc.ok_or_else(|| layout_error("a giant step without masks".into()))?;
            let rotated = if *shift == 0 { acc } else { b.rotate(&acc, *shift)? };
            total = Some(match total {
                None => rotated,
                Some(t) => b.add(&t, &rotated)?,
            });
        }
        b.rescale(total.ok_or_else(|| layout_error("a linear layer without weights".into()))?)
    }
}

/// The error of a network whose shape the slot layout cannot hold.
pub(crate) fn layout_error(m: String) -> Error {
    Error::Model(format!("no slot layout: {m}"))
}

/// Compiles a convolution for inputs on the grid of gap `g`, replicated with period `cin_p` blocks.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compile_conv(
    conv: &Conv,
    w_factor: f64,
    b_factor: f64,
    side: usize,
    g: usize,
    stride: usize,
    cin_p: usize,
    slots: usize,
    extra_bias: Option<&[f64]>,
) -> HeConv {
    let block = side * side;
    let grid = side / g;
    let blocks = slots / block;
    let mut offsets = Vec::new();
    let mut kernel = Vec::new();
    for di in -1i64..=1 {
        for dj in -1i64..=1 {
            offsets.push(g as i64 * (di * side as i64 + dj));
            kernel.push((di, dj));
        }
    }
    let mut shifts = Vec::new();
    for r in 0..cin_p {
        let mut masks = Vec::new();
        for (k, &(di, dj)) in kernel.iter().enumerate() {
            let mut v = vec![0.0; slots];
            for o in 0..conv.cout {
                let c = (o + r) % cin_p;
                if c >= conv.cin {
                    continue;
                }
                let w = conv.weight(o, c, (di + 1) as usize, (dj + 1) as usize) * w_factor;
                let base = ((o + r) % blocks) * block;
                for i in (0..grid).step_by(stride) {
                    for j in (0..grid).step_by(stride) {
                        let (ii, jj) = (i as i64 + di, j as i64 + dj);
                        if ii < 0 || jj < 0 || ii >= grid as i64 || jj >= grid as i64 {
                            continue;
                        }
                        v[base + g * i * side + g * j] = w;
                    }
                }
            }
            let m = Mask::new(v);
            if !m.is_zero() {
                masks.push((k, m));
            }
        }
        if !masks.is_empty() {
            shifts.push(((r * block) as i64, masks));
        }
    }
    let mut bias = vec![0.0; slots];
    for o in 0..conv.cout {
        for i in (0..grid).step_by(stride) {
            for j in (0..grid).step_by(stride) {
                // `extra_bias` is a `cout × grid × grid` map in the layer's output units (before `b_factor`).
                let extra = extra_bias.map_or(0.0, |e| e[(o * grid + i) * grid + j]);
                bias[o * block + g * i * side + g * j] = (conv.b[o] + extra) * b_factor;
            }
        }
    }
    HeConv {
        sum: MaskedRotations {
            baby: offsets,
            giant: shifts,
        },
        bias: Mask::new(bias),
    }
}

impl HeConv {
    /// Compiles `conv` (weights times `w_factor`, bias times `b_factor`) for `side × side` images in blocks of
    /// `side²` slots, inputs on the grid of gap `gap` replicated with period `cin.next_power_of_two()` blocks.
    pub fn new(
        conv: &Conv,
        w_factor: f64,
        b_factor: f64,
        side: usize,
        gap: usize,
        stride: usize,
        slots: usize,
    ) -> Result<Self> {
        let cin_p = conv.cin.next_power_of_two();
        let block = side * side;
        if !(stride == 1 || stride == 2) || gap == 0 || !side.is_multiple_of(gap * stride) {
            return Err(layout_error(format!(
                "stride {stride} on a gap-{gap} grid of side {side}"
            )));
        }
        if !slots.is_multiple_of(cin_p * block) || conv.cout.max(cin_p) * block > slots {
            return Err(layout_error(format!(
                "{} → {} channels of {block} slots do not fit {slots} slots",
                conv.cin, conv.cout
            )));
        }
        Ok(compile_conv(
            conv, w_factor, b_factor, side, gap, stride, cin_p, slots, None,
        ))
    }

    /// Runs the convolution on an input slot vector.
    pub fn run<B: Slots>(&self, b: &B, x: &B::V) -> Result<B::V> {
        let out = self.sum.run(b, x)?;
        b.add_mask(&out, &self.bias)
    }
}
