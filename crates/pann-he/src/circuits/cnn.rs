//! The small CNN as a program on slot vectors, run on plaintext `f64` vectors ([`PlainSlots`]) or on CKKS
//! ciphertexts ([`EncryptedSlots`]) by the very same code, so the plaintext run is an exact mirror of the
//! encrypted one up to CKKS noise.
//!
//! # Slot layout (`S = N/2` slots, images `C × s × s`, block `s²` slots per channel)
//! - Channel `c` of a feature map occupies block `c`: slot `c·s² + i·s + j` holds pixel `(i, j)`. After `k`
//!   average pools the map lives on a grid of gap `g = 2^k`: pixel `(i, j)` sits at `c·s² + g·i·s + g·j`, the
//!   other slots hold values nobody reads.
//! - A convolution input is replicated with the period `C_p·s²` (`C_p` its channel count rounded up to a power
//!   of two) over all `S` slots, so that a rotation by `r·s²` brings channel `(o + r) mod C_p` into block `o`.
//!
//! # Linear layers by rotations
//! - **Convolution** (3×3, same padding, stride 1 on the grid): `Σ_r rot_(r·s²)( Σ_k M_(r,k) ⊙ rot_(δ_k)(x) )`,
//!   `δ_k = g·(d_i·s + d_j)` for the nine kernel offsets (baby steps, shared) and `r` over the channel shifts
//!   (giant steps); `M_(r,k)` carries `w[o][(o+r) mod C_p][k]` at every valid output pixel of block `o + r` whose
//!   neighbour `δ_k` is inside the image, 0 elsewhere — so padding and garbage slots are masked out. Rotations:
//!   `8 + (C_p − 1)`; one level.
//! - **Average pool 2×2**: `v + rot_g(v)`, then `+ rot_(g·s)`: the sums sit on the grid of gap `2g`; the 1/4 is
//!   folded into the next layer. No level.
//! - **Linear head**: class `o = 4b + a` is moved to the slot offset `a + s·b` inside each gap-4 cell (baby steps
//!   `rot_(−a)`, giant steps `rot_(−s·b)`, masks with the weights), then one rotate-and-sum over columns, rows and
//!   channels adds up every cell: logit `o` lands in slot `a + s·b`. One level.
//! - **ReLU**: `y + y·p(y)` on `y = z/B` ([`super::poly_eval::eval_relu_doubled`]); `B` is folded into the
//!   weights before (`1/B`) and after (`B/2`), with the pool's 1/4.
//!
//! Depth: `1 + r + 1 + r + 1` for ReLU depth `r`.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use pann_approx::certify::eval_composite_power;
use pann_approx::CompositeSign;

use super::model::{Conv, SmallCnn};
use super::poly_eval::eval_relu_doubled;
use crate::ckks::{Ciphertext, Evaluator, Plaintext};
use crate::error::{Error, Result};

/// A plaintext slot vector, encoded lazily per (level, scale) for the encrypted backend.
pub struct Mask {
    values: Vec<f64>,
    encoded: Mutex<HashMap<(usize, u64), Arc<Plaintext>>>,
}

impl Mask {
    fn new(values: Vec<f64>) -> Self {
        Self {
            values,
            encoded: Mutex::new(HashMap::new()),
        }
    }

    fn is_zero(&self) -> bool {
        self.values.iter().all(|&v| v == 0.0)
    }

    fn encoded(&self, eval: &Evaluator, level: usize, scale: f64) -> Result<Arc<Plaintext>> {
        let key = (level, scale.to_bits());
        if let Some(p) = self.encoded.lock().expect("mask cache").get(&key) {
            return Ok(p.clone());
        }
        let p = Arc::new(eval.encode(&self.values, level, scale)?);
        self.encoded.lock().expect("mask cache").insert(key, p.clone());
        Ok(p)
    }
}

/// The operations the network program needs, on plaintext vectors or on ciphertexts.
pub trait Slots {
    /// A slot vector.
    type V: Clone;
    /// Left rotation by `k` slots: `out[x] = v[x + k]`.
    fn rotate(&self, v: &Self::V, k: i64) -> Result<Self::V>;
    /// `v ⊙ m`, not yet rescaled.
    fn mul_mask(&self, v: &Self::V, m: &Mask) -> Result<Self::V>;
    /// `a + b`.
    fn add(&self, a: &Self::V, b: &Self::V) -> Result<Self::V>;
    /// Ends a linear layer: rescale after the mask products.
    fn rescale(&self, v: Self::V) -> Result<Self::V>;
    /// `v + m`.
    fn add_mask(&self, v: &Self::V, m: &Mask) -> Result<Self::V>;
    /// `y + y·p(y)`.
    fn relu_doubled(&self, v: &Self::V, sign: &CompositeSign) -> Result<Self::V>;
}

/// Plaintext `f64` slots; records every rotation used and counts ReLU inputs outside `[−1, 1]`.
#[derive(Default)]
pub struct PlainSlots {
    rotations: RefCell<BTreeSet<i64>>,
    overflows: Cell<usize>,
}

impl PlainSlots {
    /// The rotations the program used so far (for key generation).
    pub fn rotations(&self) -> Vec<i64> {
        self.rotations.borrow().iter().copied().collect()
    }

    /// ReLU inputs seen outside `[−1, 1]`.
    pub fn overflows(&self) -> usize {
        self.overflows.get()
    }
}

impl Slots for PlainSlots {
    type V = Vec<f64>;
    fn rotate(&self, v: &Vec<f64>, k: i64) -> Result<Vec<f64>> {
        let s = v.len() as i64;
        let k = k.rem_euclid(s);
        if k != 0 {
            self.rotations.borrow_mut().insert(k);
        }
        let k = k as usize;
        Ok((0..v.len()).map(|x| v[(x + k) % v.len()]).collect())
    }
    fn mul_mask(&self, v: &Vec<f64>, m: &Mask) -> Result<Vec<f64>> {
        Ok(v.iter().zip(&m.values).map(|(a, b)| a * b).collect())
    }
    fn add(&self, a: &Vec<f64>, b: &Vec<f64>) -> Result<Vec<f64>> {
        Ok(a.iter().zip(b).map(|(x, y)| x + y).collect())
    }
    fn rescale(&self, v: Vec<f64>) -> Result<Vec<f64>> {
        Ok(v)
    }
    fn add_mask(&self, v: &Vec<f64>, m: &Mask) -> Result<Vec<f64>> {
        self.add(v, &m.values)
    }
    fn relu_doubled(&self, v: &Vec<f64>, sign: &CompositeSign) -> Result<Vec<f64>> {
        let lists = sign.coefficient_lists();
        let over = v.iter().filter(|y| y.abs() > 1.0).count();
        self.overflows.set(self.overflows.get() + over);
        Ok(v.iter().map(|&y| y + y * eval_composite_power(&lists, y)).collect())
    }
}

/// CKKS ciphertexts; masks are encoded at the scale `q_ℓ` of the level they meet, so a linear layer returns
/// to the scale it started from.
pub struct EncryptedSlots<'a> {
    /// The evaluator (with the relinearisation and rotation keys).
    pub eval: &'a Evaluator,
}

impl Slots for EncryptedSlots<'_> {
    type V = Ciphertext;
    fn rotate(&self, v: &Ciphertext, k: i64) -> Result<Ciphertext> {
        self.eval.rotate(v, k)
    }
    fn mul_mask(&self, v: &Ciphertext, m: &Mask) -> Result<Ciphertext> {
        let q = self.eval.params().q()[v.level()] as f64;
        let pt = m.encoded(self.eval, v.level(), q)?;
        self.eval.mul_plain(v, &pt)
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.eval.add(a, b)
    }
    fn rescale(&self, v: Ciphertext) -> Result<Ciphertext> {
        self.eval.rescale(&v)
    }
    fn add_mask(&self, v: &Ciphertext, m: &Mask) -> Result<Ciphertext> {
        let pt = m.encoded(self.eval, v.level(), v.scale())?;
        self.eval.add_plain(v, &pt)
    }
    fn relu_doubled(&self, v: &Ciphertext, sign: &CompositeSign) -> Result<Ciphertext> {
        eval_relu_doubled(self.eval, v, sign)
    }
}

/// One 3×3 convolution (same padding, stride 1 or 2) compiled to rotations and masks, for inputs on the grid of
/// gap `g` replicated with period `C_p` blocks; a stride-2 output lives on the grid of gap `2g`.
pub struct HeConv {
    sum: MaskedRotations,
    bias: Mask,
}

/// The linear head compiled to rotations and masks.
struct FcPlan {
    sum: MaskedRotations,
    reduce: Vec<i64>,
    bias: Mask,
    out_slots: Vec<usize>,
}

/// `Σ_g rot_g( Σ_k M_(g,k) ⊙ rot_(b_k)(x) )`, rescaled once: the baby-step giant-step form of every linear layer
/// here (baby rotations shared by all giant steps, masks pre-rotated by `−g`).
struct MaskedRotations {
    /// Baby-step rotations `b_k`.
    baby: Vec<i64>,
    /// `(giant rotation g, [(index into baby, mask)])`, each list non-empty.
    giant: Vec<(i64, Vec<(usize, Mask)>)>,
}

impl MaskedRotations {
    fn run<B: Slots>(&self, b: &B, x: &B::V) -> Result<B::V> {
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

fn layout_error(m: String) -> Error {
    Error::Model(format!("no slot layout: {m}"))
}

/// Compiles a convolution for inputs on the grid of gap `g`, replicated with period `cin_p` blocks.
#[allow(clippy::too_many_arguments)]
fn compile_conv(
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
            let shift = leaks.map_or(0.0, |[_, l2]| {
                -(0..feat)
                    .map(|k| net.fc_w[o * feat + k] * l2[k / (grid * grid)])
                    .sum::<f64>()
            });
            bias[s] = net.fc_b[o] + shift;
        }
        let fc = FcPlan {
            sum: MaskedRotations {
                baby: (0..4).map(|a| -(a as i64)).collect(),
                giant: outer,
            },
            reduce,
            bias: Mask::new(bias),
            out_slots,
        };
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
