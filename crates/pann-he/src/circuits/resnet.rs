//! A CIFAR ResNet ([`ResNet`]) as one program on slot vectors, every feature map of an image in one vector in
//! the multiplexed layout of [`super::packing`], run on [`super::PlainSlots`], the level-tracking mirror
//! [`MirrorSlots`], CKKS ciphertexts ([`super::EncryptedSlots`]) or ciphertexts with bootstrapping
//! ([`super::mirror::BootstrappingSlots`]) by the very same code.
//!
//! # Values
//! ReLU site `k` (bound `B_k`) sees `y_k = z_k/B_k ∈ [−1, 1]` and returns `a_k = y + y·p(y) ≈ 2·ReLU(z_k)/B_k`
//! ([`super::poly_eval::eval_relu_doubled`]); every linear layer after it carries the factor `B_k/2` in its
//! weights and the `1/B` of the ReLU it feeds, so the slots hold values of order 1 and every scale stays `Δ`:
//! masks are encoded at the scale `q_ℓ` of the prime the rescale removes.
//!
//! # Layers (one level each, rotations of [`LinearMap`])
//! - **Convolutions** 3×3, stride 1 or 2, batch norm folded: a map between two layouts (stride 2 doubles the
//!   gap and keeps the pixels where they are: output pixel `(i, j)` sits on input pixel `(2i, 2j)`).
//! - **Shortcuts**, from the block's (replicated) input at its higher level: identity as one mask product by
//!   the constant `B_in/(2·B_out)`; option A (subsample, channels moved up by `planes/4`) as a masked
//!   permutation; option B (1×1 stride-2 convolution with batch norm) as a map. Then the **residual addition**
//!   at the lower of the two levels ([`super::Slots::add_aligned`]): both branches have scale `Δ` exactly, so
//!   the only alignment is a level drop — never an error at run time.
//! - **Global average pooling**: rotate-and-sum over the columns and rows of the map (no level; the `1/h²` is
//!   folded into the head), then the **linear head** as a map onto logit slot `o·s²` (wrapped if the ring has
//!   fewer blocks than classes).
//!
//! Before each layer the input is replicated with its layout's period (rotate-and-add, no level).
//! Bootstraps go on ReLU inputs where [`super::planner`] places them.

use pann_approx::CompositeSign;

use super::mirror::{Leveled, MirrorSlots};
use super::packing::{Entry, Layout, LinearMap};
use super::planner::{self, Plan, Step};
use super::resnet_model::{ResNet, Shortcut};
use super::rotations::{tally, KeyedSlots, RotationKeys};
use super::slots::Slots;
use crate::error::{Error, Result};

/// One block compiled.
struct HeBlock {
    input: Layout,
    output: Layout,
    conv1: LinearMap,
    conv2: LinearMap,
    shortcut: LinearMap,
}

/// The compiled ResNet (see the module documentation).
pub struct HeResNet {
    /// The folded network.
    pub net: ResNet,
    /// `B` of each ReLU site.
    pub bounds: Vec<f64>,
    /// The approximation of each ReLU site.
    pub signs: Vec<CompositeSign>,
    input: Layout,
    stem: LinearMap,
    blocks: Vec<HeBlock>,
    last: Layout,
    gap_rotations: Vec<i64>,
    head: LinearMap,
    logit_slots: Vec<usize>,
    plan: Plan,
}

/// What a plaintext mirror run gives: logits and the costs of one image.
#[derive(Clone, Debug, PartialEq)]
pub struct MirrorRun {
    /// The logits.
    pub logits: Vec<f64>,
    /// ReLU inputs outside `[−1, 1]`.
    pub overflows: usize,
    /// Bootstrap inputs outside `[−1, 1]`.
    pub boot_overflows: usize,
    /// The largest `|value|` a bootstrap saw.
    pub boot_max: f64,
    /// Bootstraps performed.
    pub bootstraps: usize,
    /// Rotations performed.
    pub rotations: usize,
    /// The lowest level reached.
    pub min_level: usize,
}

/// Entries of a 3×3 convolution (weights times `wf`) from `inp` to `out` with stride `stride`.
fn conv_entries(conv: &super::model::Conv, wf: f64, inp: &Layout, out: &Layout, stride: usize) -> Vec<Entry> {
    let (h, ho) = (inp.map_side(), out.map_side());
    let mut e = Vec::new();
    for o in 0..conv.cout {
        for i in 0..ho {
            for j in 0..ho {
                let t_out = out.slot(o, i, j);
                for c in 0..conv.cin {
                    for ki in 0..3 {
                        for kj in 0..3 {
                            let (ii, jj) = ((stride * i + ki) as i64 - 1, (stride * j + kj) as i64 - 1);
                            if ii < 0 || jj < 0 || ii >= h as i64 || jj >= h as i64 {
                                continue;
                            }
                            let t_in = inp.slot(c, ii as usize, jj as usize);
                            e.push(Entry {
                                t_out,
                                t_in,
                                w: conv.weight(o, c, ki, kj) * wf,
                            });
                        }
                    }
                }
            }
        }
    }
    e
}

/// A bias slot vector: `b[o]·bf` at every pixel of channel `o`.
fn bias_slots(b: &[f64], bf: f64, out: &Layout) -> Vec<f64> {
    let h = out.map_side();
    let mut v = vec![0.0; out.slots];
    for (o, &bo) in b.iter().enumerate() {
        for i in 0..h {
            for j in 0..h {
                v[out.slot(o, i, j)] = bo * bf;
            }
        }
    }
    v
}

/// Entries (weights times `f`) and bias of a shortcut from `inp` to `out`; an option-A pad must fit.
fn shortcut_entries(
    sc: &Shortcut,
    inp: &Layout,
    out: &Layout,
    stride: usize,
    f: f64,
    block: usize,
) -> Result<(Vec<Entry>, Option<Vec<f64>>)> {
    let ho = out.map_side();
    let mut e = Vec::new();
    let mut pixels = |o: usize, c: usize, w: f64| {
        for i in 0..ho {
            for j in 0..ho {
                e.push(Entry {
                    t_out: out.slot(o, i, j),
                    t_in: inp.slot(c, stride * i, stride * j),
                    w,
                });
            }
        }
    };
    let bias = match sc {
        Shortcut::Identity => {
            if inp.channels != out.channels || stride != 1 {
                return Err(Error::Model(format!(
                    "block {block}: an identity shortcut from {} to {} channels with stride {stride}",
                    inp.channels, out.channels
                )));
            }
            (0..out.channels).for_each(|c| pixels(c, c, f));
            None
        }
        Shortcut::PadA { pad } => {
            if pad + inp.channels > out.channels {
                return Err(Error::Model(format!(
                    "block {block}: option A pads {pad} channels around {}, more than {}",
                    inp.channels, out.channels
                )));
            }
            (0..inp.channels).for_each(|c| pixels(c + pad, c, f));
            None
        }
        Shortcut::Conv1x1 { w, b } => {
            let cin = inp.channels;
            if w.len() != out.channels * cin || b.len() != out.channels {
                return Err(Error::Model(format!(
                    "block {block}: a 1×1 shortcut of {} weights for {cin} → {} channels",
                    w.len(),
                    out.channels
                )));
            }
            for o in 0..out.channels {
                for c in 0..cin {
                    pixels(o, c, w[o * cin + c] * f);
                }
            }
            Some(b.clone())
        }
    };
    Ok((e, bias))
}

impl HeResNet {
    /// Compiles `net` for `slots` slots with one bound and one approximation per ReLU site.
    pub fn new(net: ResNet, bounds: Vec<f64>, signs: Vec<CompositeSign>, slots: usize) -> Result<Self> {
        let sites = net.sites();
        if bounds.len() != sites || signs.len() != sites {
            return Err(Error::Model(format!(
                "a ResNet with {} blocks has {sites} ReLU sites, got {} bounds and {} approximations",
                net.blocks.len(),
                bounds.len(),
                signs.len()
            )));
        }
        if let Some(k) = bounds.iter().position(|b| !(b.is_finite() && *b > 0.0)) {
            return Err(Error::Model(format!(
                "ReLU bound of site {k} is {}: must be positive and finite",
                bounds[k]
            )));
        }
        let s = net.side;
        let input = Layout::new(s, 1, net.in_channels(), slots)?;
        let stem_out = input.with_channels(net.stem.cout)?;
        let b0 = bounds[0];
        let stem = LinearMap::compile(
            &conv_entries(&net.stem, 1.0 / b0, &input, &stem_out, 1),
            input.side,
            input.period(),
            slots,
            Some(bias_slots(&net.stem.b, 1.0 / b0, &stem_out)),
        )?;
        let mut blocks = Vec::new();
        let mut inp = stem_out;
        let mut b_in = b0;
        for (k, blk) in net.blocks.iter().enumerate() {
            let (b1, b2) = (bounds[1 + 2 * k], bounds[2 + 2 * k]);
            let out = if blk.stride == 2 {
                inp.strided(blk.conv1.cout)?
            } else if blk.stride == 1 {
                inp.with_channels(blk.conv1.cout)?
            } else {
                return Err(Error::Model(format!("block {k} has stride {}", blk.stride)));
            };
            let f_in = b_in / 2.0;
            let conv1 = LinearMap::compile(
                &conv_entries(&blk.conv1, f_in / b1, &inp, &out, blk.stride),
                inp.side,
                inp.period(),
                slots,
                Some(bias_slots(&blk.conv1.b, 1.0 / b1, &out)),
            )?;
            let conv2 = LinearMap::compile(
                &conv_entries(&blk.conv2, b1 / 2.0 / b2, &out, &out, 1),
                out.side,
                out.period(),
                slots,
                Some(bias_slots(&blk.conv2.b, 1.0 / b2, &out)),
            )?;
            let (shortcut_entries, shortcut_bias) =
                shortcut_entries(&blk.shortcut, &inp, &out, blk.stride, f_in / b2, k)?;
            let shortcut = LinearMap::compile(
                &shortcut_entries,
                inp.side,
                inp.period(),
                slots,
                shortcut_bias.map(|b| bias_slots(&b, 1.0 / b2, &out)),
            )?;
            blocks.push(HeBlock {
                input: inp,
                output: out,
                conv1,
                conv2,
                shortcut,
            });
            inp = out;
            b_in = b2;
        }
        let last = inp;
        let h = last.map_side();
        let mut gap_rotations = Vec::new();
        let mut step = 1;
        while step < h {
            gap_rotations.push((last.gap * step) as i64);
            step *= 2;
        }
        let mut step = 1;
        while step < h {
            gap_rotations.push((last.gap * step * last.side) as i64);
            step *= 2;
        }
        let c = net.out_channels();
        let per = slots / last.block();
        let logit_slots: Vec<usize> = (0..net.classes).map(|o| (o % per) * last.block() + o / per).collect();
        let wf = b_in / 2.0 / (h * h) as f64;
        let mut entries = Vec::new();
        for (o, &t_out) in logit_slots.iter().enumerate() {
            for ch in 0..c {
                entries.push(Entry {
                    t_out,
                    t_in: last.slot(ch, 0, 0),
                    w: net.fc_w[o * c + ch] * wf,
                });
            }
        }
        let mut bias = vec![0.0; slots];
        for (o, &t) in logit_slots.iter().enumerate() {
            bias[t] = net.fc_b[o];
        }
        let head = LinearMap::compile(&entries, last.side, last.period(), slots, Some(bias))?;
        Ok(Self {
            plan: Plan::none(sites),
            net,
            bounds,
            signs,
            input,
            stem,
            blocks,
            last,
            gap_rotations,
            head,
            logit_slots,
        })
    }

    /// The level walk of the program for the planner: the cost model's one level per linear layer and, per
    /// ReLU site, pann-approx's depth of each component of its composite sign (the product adds one).
    pub fn steps(&self) -> Vec<Step> {
        let relu = |site: usize| Step::Relu {
            site,
            parts: self.signs[site]
                .degrees
                .iter()
                .map(|&d| pann_approx::cost::depth(d) as usize)
                .collect(),
        };
        let mut s = vec![Step::Linear, relu(0)];
        for k in 0..self.blocks.len() {
            s.extend([
                Step::Fork,
                Step::Linear,
                relu(1 + 2 * k),
                Step::Linear,
                Step::Join,
                relu(2 + 2 * k),
            ]);
        }
        s.push(Step::Linear);
        s
    }

    /// Levels without bootstrapping (the cost model's network depth).
    pub fn depth(&self) -> usize {
        2 + 2 * self.blocks.len() + self.signs.iter().map(|s| s.relu_depth() as usize).sum::<usize>()
    }

    /// Plans the bootstraps for a fresh input at level `top` and bootstraps returning level `boot_level`,
    /// and keeps the plan.
    pub fn plan_bootstraps(&mut self, top: usize, boot_level: usize) -> Result<&Plan> {
        self.plan = planner::plan(&self.steps(), top, boot_level)?;
        Ok(&self.plan)
    }

    /// Sets the bootstrap plan (one flag per ReLU site).
    pub fn set_plan(&mut self, plan: Plan) -> Result<()> {
        if plan.sites.len() != self.net.sites() {
            return Err(Error::Model(format!(
                "a bootstrap plan of {} sites for {} ReLU sites",
                plan.sites.len(),
                self.net.sites()
            )));
        }
        self.plan = plan;
        Ok(())
    }

    /// The bootstrap plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The slots of the ring.
    pub fn slots(&self) -> usize {
        self.input.slots
    }

    /// The input slot vector of a normalised CHW image, replicated as the stem reads it.
    pub fn input_slots(&self, image: &[f64]) -> Result<Vec<f64>> {
        if let Some(i) = image.iter().position(|v| !v.is_finite()) {
            return Err(Error::Encode(format!("pixel {i} is not finite")));
        }
        let v = self.input.pack(image).map_err(|_| {
            Error::Model(format!(
                "image of {} values, the model takes {}×{}×{}",
                image.len(),
                self.net.in_channels(),
                self.net.side,
                self.net.side
            ))
        })?;
        let p = self.input.period();
        Ok((0..v.len()).map(|x| v[x % p]).collect())
    }

    /// The slots holding the logits, in class order.
    pub fn logit_slots(&self) -> &[usize] {
        &self.logit_slots
    }

    fn replicate<B: Slots>(b: &B, x: &B::V, layout: &Layout) -> Result<B::V> {
        let mut v = x.clone();
        for &r in &layout.replication() {
            v = b.add(&v, &b.rotate(&v, r)?)?;
        }
        Ok(v)
    }

    fn relu<B: Slots>(&self, b: &B, y: B::V, site: usize) -> Result<B::V> {
        let sp = &self.plan.sites[site];
        let y = if sp.input { b.bootstrap(&y)? } else { y };
        if !sp.cuts.is_empty() {
            // Split by bootstraps between components; y waits at its level for the product.
            let k = self.signs[site].degrees.len();
            let mut u = y.clone();
            let mut start = 0;
            for &cut in &sp.cuts {
                u = b.bootstrap_wide(&b.sign_part(&u, &self.signs[site], start..cut, None)?)?;
                start = cut;
            }
            let p = b.sign_part(&u, &self.signs[site], start..k, Some(&y))?;
            return b.relu_combine(&y, &p);
        }
        b.relu_doubled(&y, &self.signs[site])
    }

    /// Runs the network on a replicated input ([`Self::input_slots`]) with the bootstrap plan; the logits are
    /// in [`Self::logit_slots`].
    pub fn run<B: Slots>(&self, b: &B, x: &B::V) -> Result<B::V> {
        let mut a = self.relu(b, self.stem.run(b, x)?, 0)?;
        for (k, blk) in self.blocks.iter().enumerate() {
            let xr = Self::replicate(b, &a, &blk.input)?;
            let a1 = self.relu(b, blk.conv1.run(b, &xr)?, 1 + 2 * k)?;
            let a1r = Self::replicate(b, &a1, &blk.output)?;
            let main = blk.conv2.run(b, &a1r)?;
            let short = blk.shortcut.run(b, &xr)?;
            a = self.relu(b, b.add_aligned(&main, &short)?, 2 + 2 * k)?;
        }
        let mut v = Self::replicate(b, &a, &self.last)?;
        for &r in &self.gap_rotations {
            v = b.add(&v, &b.rotate(&v, r)?)?;
        }
        self.head.run(b, &v)
    }

    /// The plaintext PANN on the level-tracking mirror: a fresh input at level `top`, bootstraps returning
    /// `boot_level`, rotations composed from `keys` if given (then [`MirrorRun::rotations`] counts key
    /// switches). An error if the plan lets a level run out or a rotation has no key.
    pub fn run_mirror(
        &self,
        image: &[f64],
        top: usize,
        boot_level: usize,
        keys: Option<&RotationKeys>,
    ) -> Result<MirrorRun> {
        let m = MirrorSlots::new(boot_level);
        let x = Leveled {
            values: self.input_slots(image)?,
            level: top,
        };
        let out = match keys {
            Some(keys) => self.run(&KeyedSlots { inner: &m, keys }, &x)?,
            None => self.run(&m, &x)?,
        };
        Ok(MirrorRun {
            logits: self.logit_slots.iter().map(|&s| out.values[s]).collect(),
            overflows: m.overflows(),
            boot_overflows: m.boot_overflows(),
            boot_max: m.boot_max(),
            bootstraps: m.bootstraps(),
            rotations: m.rotation_count(),
            min_level: m.min_level(),
        })
    }

    /// Per linear layer in program order (stem; per block conv1, conv2, shortcut; head): its distinct
    /// rotations and plaintext products.
    pub fn layer_costs(&self) -> Vec<(usize, usize)> {
        let mut maps = vec![&self.stem];
        for b in &self.blocks {
            maps.extend([&b.conv1, &b.conv2, &b.shortcut]);
        }
        maps.push(&self.head);
        maps.iter().map(|m| (m.rotations().len(), m.products())).collect()
    }

    /// Every rotation the program performs per run, with how often (`(rotation in 1..S, times)`): the keys it
    /// would need one by one, and the input of [`RotationKeys::choose`].
    pub fn rotation_uses(&self) -> Result<Vec<(i64, usize)>> {
        // Levels high enough for any plan: the rotations do not depend on them.
        let m = MirrorSlots::new(usize::MAX / 2);
        let x = Leveled {
            values: vec![0.0; self.slots()],
            level: usize::MAX / 4,
        };
        self.run(&m, &x)?;
        Ok(tally(self.slots(), &m.performed()))
    }
}
