//! Network assembly: the small CNN as one program on slot vectors, from its convolutions ([`super::conv`]), the
//! PANN ReLU, average pools and the linear head, run on plaintext `f64` vectors ([`PlainSlots`]) or on CKKS
//! ciphertexts ([`super::EncryptedSlots`]) by the very same code (the back ends are in [`super::slots`]).
//!
//! # Slot layout (`S = N/2` slots, images `C × s × s`, block `s²` slots per channel)
//! - Channel `c` of a feature map occupies block `c`: slot `c·s² + i·s + j` holds pixel `(i, j)`. After `k`
//!   average pools the map lives on a grid of gap `g = 2^k`: pixel `(i, j)` sits at `c·s² + g·i·s + g·j`, the
//!   other slots hold values nobody reads.
//! - A convolution input is replicated with the period `C_p·s²` (`C_p` its channel count rounded up to a power
//!   of two) over all `S` slots, so that a rotation by `r·s²` brings channel `(o + r) mod C_p` into block `o`.
//!
//! # Linear layers by rotations
//! - **Convolution**: baby steps over the nine kernel offsets, giant steps over the channel shifts; one level
//!   (see [`super::conv`]).
//! - **Average pool 2×2**: `v + rot_g(v)`, then `+ rot_(g·s)`: the sums sit on the grid of gap `2g`; the 1/4 is
//!   folded into the next layer. No level.
//! - **Linear head**: class `o = 4b + a` is moved to the slot offset `a + s·b` inside each gap-4 cell (baby steps
//!   `rot_(−a)`, giant steps `rot_(−s·b)`, masks with the weights), then one rotate-and-sum over columns, rows and
//!   channels adds up every cell: logit `o` lands in slot `a + s·b`. One level.
//! - **ReLU**: `y + y·p(y)` on `y = z/B` ([`super::poly_eval::eval_relu_doubled`]); `B` is folded into the
//!   weights before (`1/B`) and after (`B/2`), with the pool's 1/4.
//!
//! Depth: `1 + r + 1 + r + 1` for ReLU depth `r`.

use pann_approx::CompositeSign;

use super::conv::{compile_conv, layout_error, HeConv, MaskedRotations};
use super::model::SmallCnn;
use super::slots::{Mask, PlainSlots, Slots};
use crate::error::{Error, Result};

/// The linear head compiled to rotations and masks.
struct FcPlan {
    sum: MaskedRotations,
    reduce: Vec<i64>,
    bias: Mask,
    out_slots: Vec<usize>,
}

/// Compiles the linear head for the second pool's output (on the grid of gap 4, scaled by `8/B2`), the second
/// ReLU layer's mean errors `leak2`, if given, folded into its bias.
fn compile_head(net: &SmallCnn, b2: f64, slots: usize, leak2: Option<&[f64]>) -> FcPlan {
    let side = net.side;
    let block = side * side;
    let c2 = net.conv2.cout;
    let p2 = c2.next_power_of_two();
    // The head sees 8·avgpool(ReLU(z2))/B2 on gap 4.
    let g = 4;
    let grid = side / g;
    let feat = c2 * grid * grid;
    let mut outer: Vec<(i64, Vec<(usize, Mask)>)> = Vec::new();
    let mut out_slots = vec![0usize; net.classes];
    for b in 0..4usize {
        let mut masks = Vec::new();
        for a in 0..4usize {
            let o = 4 * b + a;
            if o >= net.classes {
                continue;
            }
            out_slots[o] = a + side * b;
            let mut v = vec![0.0; slots];
            for c in 0..c2 {
                for i in 0..grid {
                    for j in 0..grid {
                        let w = net.fc_w[o * feat + (c * grid + i) * grid + j] * b2 / 8.0;
                        v[c * block + g * i * side + g * j + a] = w;
                    }
                }
            }
            masks.push((a, Mask::new(v)));
        }
        if !masks.is_empty() {
            outer.push((-((side * b) as i64), masks));
        }
    }
    let mut reduce = Vec::new();
    let mut step = g;
    while step < g * grid {
        reduce.push(step as i64);
        step *= 2;
    }
    let mut step = g * side;
    while step < g * side * grid {
        reduce.push(step as i64);
        step *= 2;
    }
    let mut step = block;
    while step < p2 * block {
        reduce.push(step as i64);
        step *= 2;
    }
    let mut bias = vec![0.0; slots];
    for (o, &s) in out_slots.iter().enumerate() {
        let shift = leak2.map_or(0.0, |l2| {
            -(0..feat)
                .map(|k| net.fc_w[o * feat + k] * l2[k / (grid * grid)])
                .sum::<f64>()
        });
        bias[s] = net.fc_b[o] + shift;
    }
    FcPlan {
        sum: MaskedRotations {
            baby: (0..4).map(|a| -(a as i64)).collect(),
            giant: outer,
        },
        reduce,
        bias: Mask::new(bias),
        out_slots,
    }
}

/// The compiled network: folded weights in masks, the ReLU approximation and bounds, the slot layout.
pub struct HeCnn {
    /// The folded network.
    pub net: SmallCnn,
    /// `B` of each ReLU layer.
    pub bounds: [f64; 2],
    /// The composite sign.
    pub sign: CompositeSign,
    slots: usize,
    in_period: usize,
    conv1: HeConv,
    replicate2: Vec<i64>,
    conv2: HeConv,
    fc: FcPlan,
}

impl HeCnn {
    /// Compiles `net` for `slots` slots with ReLU bounds `bounds` and the approximation `sign`; `leaks`, if
    /// given, are the per-channel mean errors `m_c` of both ReLU layers ([`SmallCnn::mean_leaks`]), subtracted
    /// from the ReLU outputs — folded into the next layer's bias, so free under encryption.
    pub fn new(
        net: SmallCnn,
        bounds: [f64; 2],
        sign: CompositeSign,
        slots: usize,
        leaks: Option<&[Vec<f64>; 2]>,
    ) -> Result<Self> {
        let side = net.side;
        let block = side * side;
        if !side.is_power_of_two() || side < 8 {
            return Err(layout_error(format!("image side {side} must be a power of two ≥ 8")));
        }
        if bounds.iter().any(|b| !(b.is_finite() && *b > 0.0)) {
            return Err(Error::Model(format!(
                "ReLU bounds {bounds:?} must be positive and finite"
            )));
        }
        let (c0, c1, c2) = (net.conv1.cin, net.conv1.cout, net.conv2.cout);
        let (p0, p1, p2) = (c0.next_power_of_two(), c1.next_power_of_two(), c2.next_power_of_two());
        for (what, need) in [("input", p0 * block), ("conv1", p1 * block), ("conv2", p2 * block)] {
            if need > slots {
                return Err(layout_error(format!("{what} needs {need} slots, the ring has {slots}")));
            }
        }
        if net.classes > 16 {
            return Err(layout_error(format!(
                "{} classes; the head packs at most 16",
                net.classes
            )));
        }
        let [b1, b2] = bounds;
        // conv1 sees the input; returns z1/B1.
        if let Some([l1, l2]) = leaks {
            if l1.len() != c1 || l2.len() != c2 || l1.iter().chain(l2).any(|v| !v.is_finite()) {
                return Err(Error::Model(format!(
                    "leak corrections need {c1} and {c2} finite values, got {} and {}",
                    l1.len(),
                    l2.len()
                )));
            }
        }
        let conv1 = compile_conv(&net.conv1, 1.0 / b1, 1.0 / b1, side, 1, 1, p0, slots, None);
        // Subtracting m_c from every ReLU output of channel c shifts conv2's output by −conv2(m) (bias excluded;
        // position-dependent at the borders) and the head's by −Σ_k w_(o,k)·m_(c(k)).
        let half = side / 2;
        let conv2_shift = leaks.map(|[l1, _]| {
            let m: Vec<f64> = (0..c1 * half * half).map(|i| l1[i / (half * half)]).collect();
            let with_bias = net.conv2.apply(&m, half, half);
            with_bias
                .iter()
                .enumerate()
                .map(|(i, v)| -(v - net.conv2.b[i / (half * half)]))
                .collect::<Vec<f64>>()
        });
        // conv2 sees 4·avgpool(2·ReLU(z1)/B1) = 8·avgpool(ReLU(z1))/B1 on gap 2; returns z2/B2.
        let conv2 = compile_conv(
            &net.conv2,
            b1 / 8.0 / b2,
            1.0 / b2,
            side,
            2,
            1,
            p1,
            slots,
            conv2_shift.as_deref(),
        );
        let replicate2 = (0..)
            .map(|t| (p1 * block) << t)
            .take_while(|&span| span < slots)
            .map(|span| -(span as i64))
            .collect();
        let fc = compile_head(&net, b2, slots, leaks.map(|[_, l2]| l2.as_slice()));
        Ok(Self {
            net,
            bounds,
            sign,
            slots,
            in_period: p0,
            conv1,
            replicate2,
            conv2,
            fc,
        })
    }

    /// Levels the network consumes: two convolutions, two ReLUs, the head.
    pub fn depth(&self) -> usize {
        3 + 2 * self.sign.relu_depth() as usize
    }

    /// Number of slots the layout was made for.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The input slot vector of a normalised `C0 × s × s` image (CHW), replicated as conv1 reads it.
    pub fn input_slots(&self, image: &[f64]) -> Result<Vec<f64>> {
        let block = self.net.side * self.net.side;
        let c0 = self.net.in_channels();
        if image.len() != c0 * block {
            return Err(Error::Model(format!(
                "image of {} values, the model takes {c0}×{}×{}",
                image.len(),
                self.net.side,
                self.net.side
            )));
        }
        if let Some(i) = image.iter().position(|v| !v.is_finite()) {
            return Err(Error::Encode(format!("pixel {i} is not finite")));
        }
        let period = self.in_period * block;
        let mut v = vec![0.0; self.slots];
        for (x, slot) in v.iter_mut().enumerate() {
            let within = x % period;
            if within < image.len() {
                *slot = image[within];
            }
        }
        Ok(v)
    }

    /// The slots holding the logits.
    pub fn logit_slots(&self) -> &[usize] {
        &self.fc.out_slots
    }

    fn pool<B: Slots>(&self, b: &B, x: &B::V, gap: usize) -> Result<B::V> {
        let side = self.net.side as i64;
        let h = b.add(x, &b.rotate(x, gap as i64)?)?;
        b.add(&h, &b.rotate(&h, gap as i64 * side)?)
    }

    /// Runs the network on an input slot vector; returns the output slot vector (logits in
    /// [`Self::logit_slots`]).
    pub fn run<B: Slots>(&self, b: &B, x: &B::V) -> Result<B::V> {
        let z1 = self.conv1.run(b, x)?;
        let a1 = b.relu_doubled(&z1, &self.sign)?;
        let mut p1 = self.pool(b, &a1, 1)?;
        for &r in &self.replicate2 {
            p1 = b.add(&p1, &b.rotate(&p1, r)?)?;
        }
        let z2 = self.conv2.run(b, &p1)?;
        let a2 = b.relu_doubled(&z2, &self.sign)?;
        let p2 = self.pool(b, &a2, 2)?;
        // Head: baby steps rot(−a), giant steps rot(−s·b), then rotate-and-sum.
        let mut out = self.fc.sum.run(b, &p2)?;
        for &r in &self.fc.reduce {
            out = b.add(&out, &b.rotate(&out, r)?)?;
        }
        b.add_mask(&out, &self.fc.bias)
    }

    /// The plaintext PANN (same slots program, `f64`): logits and the number of ReLU inputs outside `[−1, 1]`.
    pub fn run_plain(&self, image: &[f64]) -> Result<(Vec<f64>, usize)> {
        let b = PlainSlots::default();
        let out = self.run(&b, &self.input_slots(image)?)?;
        Ok((self.fc.out_slots.iter().map(|&s| out[s]).collect(), b.overflows()))
    }

    /// Every rotation the program performs (the rotation keys it needs).
    pub fn rotations(&self) -> Result<Vec<i64>> {
        let b = PlainSlots::default();
        self.run(&b, &vec![0.0; self.slots])?;
        Ok(b.rotations())
    }
}
