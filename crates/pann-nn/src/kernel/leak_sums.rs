//! Per-channel sums of the polynomial ReLU's error, `e(x) = x·(1 + p(t))/2 − max(x, 0)`: what the
//! mean-leak correction measures ([`crate::leak_meter`]).

use rayon::prelude::*;

use super::horner::eval_lanes;
use super::relu::{relu_argument, ReluArg};
use super::{check_layout, dispatch, CHUNK, LANES, PARALLEL_MIN};
use crate::poly::Composite;

/// Per-channel sums of the polynomial ReLU's error over the inputs inside its range, and how many
/// inputs each sum has.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelErrorSums {
    /// Entry `c`: the sum of `e(x)` over the values of channel `c` with `|x| ≤ B`.
    pub sums: Vec<f64>,
    /// Entry `c`: how many values of channel `c` have `|x| ≤ B` (and are in `sums[c]`).
    pub counts: Vec<u64>,
}

impl ChannelErrorSums {
    /// Empty sums for `channels` channels.
    pub fn zeros(channels: usize) -> Self {
        Self {
            sums: vec![0.0; channels],
            counts: vec![0; channels],
        }
    }

    /// Adds `other`'s sums and counts channel by channel (same channel count).
    pub fn add(&mut self, other: &ChannelErrorSums) {
        for (t, v) in self.sums.iter_mut().zip(&other.sums) {
            *t += v;
        }
        for (t, v) in self.counts.iter_mut().zip(&other.counts) {
            *t += v;
        }
    }

    /// The mean error per channel (0 for a channel with no value inside the bound).
    pub fn means(&self) -> Vec<f64> {
        self.sums
            .iter()
            .zip(&self.counts)
            .map(|(v, &k)| v / k.max(1) as f64)
            .collect()
    }
}

/// Per-channel sums of the polynomial ReLU's error `e(x) = x·(1 + p(t))/2 − max(x, 0)`, in `f64`.
///
/// The values are laid out as `[N, C, plane]` with `C = channels`; entry `c` of the result is
/// the sum of `e(x)` over the values of channel `c` inside the bound, `|x| ≤ B`. Values beyond
/// it (and NaNs) are left out: they are overflows, the range rule's business (Lee's search raises
/// `B`, calibrated bounds count or clamp them), and the polynomial's value there — a composite of
/// degree up to a few thousand evaluated outside `[−1, 1]` — is astronomically large or infinite,
/// so one such input would swamp the mean the correction is after. Under the `Clamp` overflow
/// policy an overflow's argument is clamped to `±1`, its error is finite and real, and it is
/// counted (NaNs still are not). `relu.offsets` is ignored:
/// this is the error of the uncorrected polynomial (what a mean-leak correction subtracts). The
/// argument is formed exactly as in the ReLU kernel (bound, shift, clamping); the sums are made
/// in a fixed order, so they do not depend on the thread schedule.
pub fn poly_relu_error_sums(
    x: &[f32],
    relu: &crate::PolyRelu,
    channels: usize,
    plane: usize,
) -> crate::Result<ChannelErrorSums> {
    let p = relu.prepare()?;
    check_layout(channels, plane, x.len())?;
    let arg = ReluArg::of(relu);
    let partial = |(k, chunk): (usize, &[f32])| {
        let mut part = ChannelErrorSums::zeros(channels);
        dispatch!(leak_chunk(chunk, k * CHUNK, &p, arg, plane, &mut part));
        part
    };
    let parts: Vec<ChannelErrorSums> = if x.len() < PARALLEL_MIN {
        x.chunks(CHUNK).enumerate().map(partial).collect()
    } else {
        x.par_chunks(CHUNK).enumerate().map(partial).collect()
    };
    let mut total = ChannelErrorSums::zeros(channels);
    for part in &parts {
        total.add(part);
    }
    Ok(total)
}

/// Adds `e(x) = x·(1 + p(t))/2 − max(x, 0)` of every value of `x` with `|x| ≤ B` (`x` starts at
/// index `start` of a `[N, C, plane]` buffer) to `out.sums[channel]`, and counts it.
#[inline(always)]
pub(super) fn leak_chunk<const FMA: bool>(
    x: &[f32],
    start: usize,
    p: &Composite,
    arg: ReluArg,
    plane: usize,
    out: &mut ChannelErrorSums,
) {
    let channels = out.sums.len();
    for (b, block) in x.chunks(LANES).enumerate() {
        let mut v = [0.0f32; LANES];
        v[..block.len()].copy_from_slice(block);
        let xs: [f64; LANES] = std::array::from_fn(|l| v[l] as f64);
        let mut t = relu_argument::<FMA>(&xs, arg);
        eval_lanes::<FMA>(p, &mut t);
        let pos = start + b * LANES;
        for l in 0..block.len() {
            // `!(|x| > B)` would keep NaNs; `|x| ≤ B` leaves them out with the overflows. Under
            // clamping an overflow's argument is ±1 and its (finite) error is what the network
            // really gets, so it counts.
            if xs[l].abs() <= arg.bound || (arg.clamp && !xs[l].is_nan()) {
                let e = xs[l] * (1.0 + t[l]) * 0.5 - xs[l].max(0.0);
                let ch = ((pos + l) / plane) % channels;
                out.sums[ch] += e;
                out.counts[ch] += 1;
            }
        }
    }
}
