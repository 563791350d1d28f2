//! The multiplexed slot layout of the ResNet circuits (after Lee et al., ICML 2022), and the compiler of every
//! linear map between two layouts into the baby-step giant-step form shared with the small CNN.
//!
//! # Layout (`S` slots, input side `s`, blocks of `s²` slots)
//! A feature map of `C` channels on the grid of gap `g` (`g = 2^k` after `k` stride-2 stages, side `s/g`)
//! multiplexes `m = g²` channels per block: channel `c` lives in block `⌊c/m⌋` at the sub-position
//! `(u, v) = ((c mod m) div g, (c mod m) mod g)`, and its pixel `(i, j)` at slot
//!
//! ```text
//! slot(c, i, j) = ⌊c/m⌋·s² + (g·i + u)·s + (g·j + v)
//! ```
//!
//! so a stride-2 stage doubles `g`, divides the side by two and packs four times more channels per block: every
//! feature map of a CIFAR ResNet fits `s² · 16` slots (stage 1: 16 blocks, stage 2: 32 channels in 8 blocks,
//! stage 3: 64 channels in 4 blocks) — one ciphertext of `N = 2^16` holds it with room for one copy. The block
//! count is rounded up to a power of two `n_b`, so that the map can be *replicated* with period `P = n_b·s²`
//! over all `S` slots (`log2(S/P)` rotate-and-adds, no level): a rotation by `d·s²` then brings block
//! `(b + d) mod n_b` into block `b`.
//!
//! # Linear maps
//! Any linear map is a list of entries `(t_out, t_in, w)`: "slot `t_out` of the output receives `w` times slot
//! `t_in` of the (replicated) input". The rotation it needs, `t_in − t_out`, is split into a **giant step**
//! `G = ((β_in − β_out) mod n_b)·s²` (block part, `β` the block of the slot) and a **baby step**
//! `b = o_in − o_out` (in-block offsets `o`, so `|b| < s²`); then
//!
//! ```text
//! out = Σ_G rot_G( Σ_b M_(G,b) ⊙ rot_b(x) ),   M_(G,b)[t_out + G] = w
//! ```
//!
//! since `t_out + G + b ≡ t_in (mod P)`. (Or the row part of the offsets joins the giant step and the baby step
//! is the column difference alone — fewer rotations where a map spans many rows, as at a large gap; the
//! compiler takes the cheaper split.) The output is clean: zero at every slot no entry writes. Masks are
//! encoded at each use, not cached: ResNet-20 at `N = 2^16` has about 8,500, megabytes each once encoded. Baby steps
//! are shared by all giant steps, so a layer costs `#baby + #giant` rotations, one plaintext product per
//! `(G, b)` pair and one level. A 3×3 convolution of stride 1 at gap `g` has row (and column) differences
//! `g·d + u_c − u_o ∈ [−2g + 1, 2g − 1]` (kernel offset `d`, sub-positions `u`): at most `(4g − 1)²` baby steps
//! and `n_b` giant steps whole, or `4g − 1` baby steps and `(4g − 1)·n_b` giant steps split by rows. ResNet-20
//! at `s = 32`, `S = 2^15`: 23 rotations per stage-1 convolution, 55 at stage 2, 73 at stage 3.

use super::conv::{layout_error, MaskedRotations};
use super::slots::Mask;
use crate::error::Result;

/// Where a feature map's channels and pixels are (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The input side `s` (blocks are `s²` slots).
    pub side: usize,
    /// The gap `g` of the pixel grid; `g²` channels per block.
    pub gap: usize,
    /// Channels.
    pub channels: usize,
    /// Slots of the ring.
    pub slots: usize,
}

impl Layout {
    /// A layout, checked: `side` and `gap` powers of two with `gap < side`, and the blocks fit the slots.
    pub fn new(side: usize, gap: usize, channels: usize, slots: usize) -> Result<Self> {
        let l = Self {
            side,
            gap,
            channels,
            slots,
        };
        if !side.is_power_of_two() || !gap.is_power_of_two() || gap >= side || channels == 0 {
            return Err(layout_error(format!(
                "a {channels}-channel map of side {side} on a gap-{gap} grid (side and gap powers of two, gap < side)"
            )));
        }
        if !slots.is_power_of_two() || l.period() > slots {
            return Err(layout_error(format!(
                "{channels} channels of side {} on the gap-{gap} grid need {} slots, the ring has {slots}",
                side / gap,
                l.period()
            )));
        }
        Ok(l)
    }

    /// Slots per block, `s²`.
    pub fn block(&self) -> usize {
        self.side * self.side
    }

    /// Side of the feature map, `s/g`.
    pub fn map_side(&self) -> usize {
        self.side / self.gap
    }

    /// Blocks used, rounded up to a power of two (`n_b`).
    pub fn blocks(&self) -> usize {
        self.channels.div_ceil(self.gap * self.gap).next_power_of_two()
    }

    /// The replication period `n_b·s²`.
    pub fn period(&self) -> usize {
        self.blocks() * self.block()
    }

    /// The slot of pixel `(i, j)` of channel `c`.
    pub fn slot(&self, c: usize, i: usize, j: usize) -> usize {
        let m = self.gap * self.gap;
        let (u, v) = ((c % m) / self.gap, (c % m) % self.gap);
        (c / m) * self.block() + (self.gap * i + u) * self.side + self.gap * j + v
    }

    /// The layout after a stride-2 stage with `channels` output channels.
    pub fn strided(&self, channels: usize) -> Result<Self> {
        Self::new(self.side, self.gap * 2, channels, self.slots)
    }

    /// This layout with another channel count.
    pub fn with_channels(&self, channels: usize) -> Result<Self> {
        Self::new(self.side, self.gap, channels, self.slots)
    }

    /// Slot vector of a `C × h × h` map (CHW, `h` the map side), zero elsewhere.
    pub fn pack(&self, map: &[f64]) -> Result<Vec<f64>> {
        let h = self.map_side();
        if map.len() != self.channels * h * h {
            return Err(layout_error(format!(
                "a map of {} values for {} channels of {h}×{h}",
                map.len(),
                self.channels
            )));
        }
        let mut v = vec![0.0; self.slots];
        for c in 0..self.channels {
            for i in 0..h {
                for j in 0..h {
                    v[self.slot(c, i, j)] = map[(c * h + i) * h + j];
                }
            }
        }
        Ok(v)
    }

    /// The `C × h × h` map (CHW) read back from a slot vector.
    pub fn unpack(&self, slots: &[f64]) -> Vec<f64> {
        let h = self.map_side();
        let mut out = Vec::with_capacity(self.channels * h * h);
        for c in 0..self.channels {
            for i in 0..h {
                for j in 0..h {
                    out.push(slots[self.slot(c, i, j)]);
                }
            }
        }
        out
    }

    /// The rotations that replicate a clean map with period [`Self::period`] over all slots (rotate-and-add).
    pub fn replication(&self) -> Vec<i64> {
        (0..)
            .map(|t| self.period() << t)
            .take_while(|&span| span < self.slots)
            .map(|span| -(span as i64))
            .collect()
    }
}

/// One entry of a linear map: output slot `t_out` receives `w` times input slot `t_in`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    /// Output slot.
    pub t_out: usize,
    /// Input slot (in the first period of the replicated input).
    pub t_in: usize,
    /// Weight.
    pub w: f64,
}

/// A linear map compiled to rotations and masks, with its bias added after the rescale.
pub struct LinearMap {
    sum: MaskedRotations,
    bias: Option<Mask>,
}

impl LinearMap {
    /// Compiles `entries` for an input replicated with period `period` (a multiple of `block = side²`,
    /// dividing `slots`), with the output bias `bias` (a slot vector) if given. Of the two splits of a
    /// rotation — baby step the whole in-block offset, or only its column part (the row part then joins the
    /// giant step) — the one with fewer rotations is taken.
    pub fn compile(
        entries: &[Entry],
        side: usize,
        period: usize,
        slots: usize,
        bias: Option<Vec<f64>>,
    ) -> Result<Self> {
        let block = side * side;
        if side == 0 || !period.is_multiple_of(block) || !slots.is_multiple_of(period) {
            return Err(layout_error(format!(
                "period {period} is not a multiple of the block {block} dividing {slots} slots"
            )));
        }
        let whole = Self::split(entries, side, period, slots, false)?;
        let rows = Self::split(entries, side, period, slots, true)?;
        let sum = if rows.baby.len() + rows.giant.len() < whole.baby.len() + whole.giant.len() {
            rows
        } else {
            whole
        };
        Ok(Self {
            sum,
            bias: bias.map(Mask::transient),
        })
    }

    fn split(entries: &[Entry], side: usize, period: usize, slots: usize, rows: bool) -> Result<MaskedRotations> {
        let block = side * side;
        let nb = period / block;
        // giant → baby → mask values.
        let mut plan: std::collections::BTreeMap<i64, std::collections::BTreeMap<i64, Vec<f64>>> = Default::default();
        for e in entries {
            if e.t_out >= slots || e.t_in >= period {
                return Err(layout_error(format!(
                    "entry {} ← {} outside {slots} slots (input period {period})",
                    e.t_out, e.t_in
                )));
            }
            if e.w == 0.0 {
                continue;
            }
            let (bo, oo) = (e.t_out / block, e.t_out % block);
            let (bi, oi) = (e.t_in / block, e.t_in % block);
            let d = (bi as i64 - bo as i64).rem_euclid(nb as i64);
            let (mut giant, mut baby) = (d * block as i64, oi as i64 - oo as i64);
            if rows {
                let row = (oi / side) as i64 - (oo / side) as i64;
                giant += row * side as i64;
                baby -= row * side as i64;
            }
            let mask = plan
                .entry(giant)
                .or_default()
                .entry(baby)
                .or_insert_with(|| vec![0.0; slots]);
            mask[(e.t_out as i64 + giant).rem_euclid(slots as i64) as usize] += e.w;
        }
        let babies: Vec<i64> = {
            let mut b: Vec<i64> = plan.values().flat_map(|m| m.keys().copied()).collect();
            b.sort_unstable();
            b.dedup();
            b
        };
        let giant = plan
            .into_iter()
            .map(|(g, masks)| {
                let list = masks
                    .into_iter()
                    .map(|(b, v)| (babies.binary_search(&b).expect("collected"), Mask::transient(v)))
                    .collect();
                (g, list)
            })
            .collect();
        Ok(MaskedRotations { baby: babies, giant })
    }

    /// Runs the map on a replicated input: one level.
    pub fn run<B: super::Slots>(&self, b: &B, x: &B::V) -> Result<B::V> {
        let out = self.sum.run(b, x)?;
        match &self.bias {
            Some(m) => b.add_mask(&out, m),
            None => Ok(out),
        }
    }

    /// The distinct nonzero rotations the map performs (baby and giant steps).
    pub fn rotations(&self) -> Vec<i64> {
        let mut r: Vec<i64> = self
            .sum
            .baby
            .iter()
            .copied()
            .chain(self.sum.giant.iter().map(|(g, _)| *g))
            .filter(|&k| k != 0)
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    }

    /// Plaintext products per run.
    pub fn products(&self) -> usize {
        self.sum.giant.iter().map(|(_, m)| m.len()).sum()
    }
}
