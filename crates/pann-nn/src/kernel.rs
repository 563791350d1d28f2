//! Fused `f64` kernels for the polynomial activations, on plain `f32` slices.
//!
//! Evaluating a composite of degree-15/27 polynomials with tensor ops would take dozens of
//! passes over memory and `f64` temporaries; here each value is read once, converted to `f64`,
//! run through Horner's scheme for every component while it stays in registers, and written
//! back as `f32`. Values go through in blocks of [`LANES`] so the compiler keeps independent
//! accumulators in vector registers; on x86-64 CPUs with AVX-512 or AVX2 (and FMA) a copy
//! compiled for those features is picked at run time. The work is split into chunks run in parallel with
//! rayon, and each chunk returns its own [`SiteStats`] that are then merged, so counting
//! overflows needs no atomics.

use std::sync::atomic::{AtomicU8, Ordering};

use rayon::prelude::*;

use crate::poly::{Component, Composite};
use crate::stats::SiteStats;

/// Values evaluated together: 32 `f64` are four AVX-512 registers (eight AVX2 ones) per
/// operation, enough independent Horner chains to hide the FMA latency. On the AVX-512 EPYC
/// here (`cargo bench -p pann-nn --bench poly_relu`, results/bench/poly_relu.txt) the AVX-512
/// build is 1.2–1.6× faster than the AVX2 one; AVX2 itself gained nothing from 32 lanes over 16
/// on the composite [15, 15, 27] and lost about 10% on a single degree-7 polynomial.
pub(crate) const LANES: usize = 32;
/// Values per parallel work item.
const CHUNK: usize = 1 << 14;
/// Below this many values a polynomial kernel runs on the calling thread: waking rayon's
/// threads while libtorch's OpenMP threads still spin after the previous layer costs more
/// than it gains on small tensors (and only 2 cores are there to share).
const PARALLEL_MIN: usize = 1 << 18;

/// Instruction sets the kernels are built for, from the portable build up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelIsa {
    /// Plain Rust, no target features: any CPU.
    Portable,
    /// x86-64 AVX2 with FMA.
    Avx2,
    /// x86-64 AVX-512F (with AVX2 and FMA).
    Avx512,
}

/// The most capable build [`kernel_isa`] may pick (`u8::MAX`: no limit).
static ISA_CAP: AtomicU8 = AtomicU8::new(u8::MAX);

/// Limits the kernels to builds up to `cap`, for the whole process (e.g. to time or check
/// each build); [`KernelIsa::Avx512`] lifts the limit.
pub fn set_kernel_isa_cap(cap: KernelIsa) {
    ISA_CAP.store(cap as u8, Ordering::Relaxed);
}

/// The build the kernels run: the most capable one the CPU supports, within
/// [`set_kernel_isa_cap`]'s limit.
pub fn kernel_isa() -> KernelIsa {
    let cap = ISA_CAP.load(Ordering::Relaxed);
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        if avx2 && cap >= KernelIsa::Avx512 as u8 && std::arch::is_x86_feature_detected!("avx512f") {
            return KernelIsa::Avx512;
        }
        if avx2 && cap >= KernelIsa::Avx2 as u8 {
            return KernelIsa::Avx2;
        }
    }
    let _ = cap;
    KernelIsa::Portable
}

/// Runs the build [`kernel_isa`] picks of a generic `fn name<const FMA: bool>`. The AVX2 and
/// AVX-512 builds do the same fused operations on each value in the same order, so they give
/// bit-identical results; the portable one rounds `a·b + c` in two steps.
macro_rules! dispatch {
    ($generic:ident ( $($arg:expr),* $(,)? )) => {{
        match kernel_isa() {
            // SAFETY: `kernel_isa` returns a build only when the CPU has its features.
            #[cfg(target_arch = "x86_64")]
            KernelIsa::Avx512 => unsafe { avx512::$generic($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            KernelIsa::Avx2 => unsafe { avx2::$generic($($arg),*) },
            _ => $generic::<false>($($arg),*),
        }
    }};
}

/// A module of the kernels compiled with the target features `$features` (FMA among them).
macro_rules! kernels_for {
    ($name:ident, $features:literal, $doc:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            #![doc = $doc]
            use super::*;

            #[target_feature(enable = $features)]
            pub(super) unsafe fn relu_chunk(
                x: &mut [f32],
                start: usize,
                p: &Composite,
                arg: ReluArg,
                offsets: Option<ChannelOffsets<'_>>,
            ) -> SiteStats {
                super::relu_chunk::<true>(x, start, p, arg, offsets)
            }

            #[target_feature(enable = $features)]
            pub(super) unsafe fn leak_chunk(
                x: &[f32],
                start: usize,
                p: &Composite,
                arg: ReluArg,
                plane: usize,
                out: &mut ChannelErrorSums,
            ) {
                super::leak_chunk::<true>(x, start, p, arg, plane, out)
            }

            #[target_feature(enable = $features)]
            pub(super) unsafe fn relu_exact_chunk(x: &mut [f32]) -> SiteStats {
                super::relu_exact_chunk::<true>(x)
            }

            #[target_feature(enable = $features)]
            pub(super) unsafe fn max_pool_outputs(
                args: &PoolPlane<'_>,
                x: &[f32],
                start: usize,
                out: &mut [f32],
            ) -> SiteStats {
                super::max_pool_outputs::<true>(args, x, start, out)
            }
        }
    };
}

kernels_for!(avx2, "avx2,fma", "The kernels compiled with AVX2 and FMA enabled.");
kernels_for!(
    avx512,
    "avx512f,avx2,fma",
    "The kernels compiled with AVX-512F (32 vector registers of 8 `f64`), AVX2 and FMA enabled."
);

#[inline(always)]
fn fmadd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Replaces every lane `t` by `p(t)`.
#[inline(always)]
fn eval_lanes<const FMA: bool>(p: &Composite, t: &mut [f64; LANES]) {
    for c in &p.components {
        match c {
            Component::Odd(q) => {
                let (&last, rest) = q.split_last().expect("odd components are non-empty");
                let t2: [f64; LANES] = std::array::from_fn(|l| t[l] * t[l]);
                let mut acc = [last; LANES];
                for &a in rest.iter().rev() {
                    for l in 0..LANES {
                        acc[l] = fmadd::<FMA>(acc[l], t2[l], a);
                    }
                }
                for l in 0..LANES {
                    t[l] *= acc[l];
                }
            }
            Component::General(q) => {
                let (&last, rest) = q.split_last().expect("components are non-empty");
                let mut acc = [last; LANES];
                for &a in rest.iter().rev() {
                    for l in 0..LANES {
                        acc[l] = fmadd::<FMA>(acc[l], t[l], a);
                    }
                }
                *t = acc;
            }
        }
    }
}

/// Applies `relu` in place to plain `f32` values, in parallel, and returns their statistics.
///
/// The same kernel the models use, for callers without tensors. The overflow policy `Clamp`
/// clamps; `Count` and `Error` only count (the caller decides what an overflow means here).
/// With per-channel offsets (`relu.offsets` non-empty, `C` of them) the values are taken as a
/// `[N, C]` layout: value `i` is in channel `i % C` (see [`poly_relu_planes`] for `[N, C, H, W]`).
pub fn poly_relu_slice(x: &mut [f32], relu: &crate::PolyRelu) -> crate::Result<SiteStats> {
    poly_relu_planes(x, relu, 1)
}

/// [`poly_relu_slice`] for values laid out as `[N, C, plane]` (NCHW with `plane = H·W`): value `i`
/// is in channel `(i / plane) % C` and gets `relu.offsets[(i / plane) % C]` subtracted.
pub fn poly_relu_planes(x: &mut [f32], relu: &crate::PolyRelu, plane: usize) -> crate::Result<SiteStats> {
    let p = relu.prepare()?;
    let offsets = ChannelOffsets::new(&relu.offsets, plane, x.len())?;
    Ok(relu_poly(x, &p, ReluArg::of(relu), offsets))
}

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

fn check_layout(channels: usize, plane: usize, len: usize) -> crate::Result<()> {
    if channels == 0 || plane == 0 || !len.is_multiple_of(channels * plane) {
        return Err(crate::Error::BadInput(format!(
            "{len} values are not a whole number of {channels} channels of {plane} values"
        )));
    }
    Ok(())
}

/// Per-channel constants subtracted from a polynomial ReLU's output: value `i` of the buffer
/// is in channel `(i / plane) % values.len()`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChannelOffsets<'a> {
    /// One offset per channel.
    pub values: &'a [f64],
    /// Values per channel and image (`H·W` for NCHW, 1 for `[N, C]` and for channels-last).
    pub plane: usize,
}

impl<'a> ChannelOffsets<'a> {
    /// `None` for no offsets; an error unless `len` is a whole number of `[C, plane]` blocks.
    pub(crate) fn new(values: &'a [f64], plane: usize, len: usize) -> crate::Result<Option<Self>> {
        if values.is_empty() {
            return Ok(None);
        }
        check_layout(values.len(), plane, len)?;
        Ok(Some(Self { values, plane }))
    }

    #[inline(always)]
    fn at(&self, i: usize) -> f64 {
        self.values[(i / self.plane) % self.values.len()]
    }
}

/// How a polynomial ReLU forms the argument of `p`: `t = (1 − shift)·clamp?(x/bound) − shift`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReluArg {
    /// Input bound `B`.
    pub bound: f64,
    /// Clamp `x/B` to `[−1, 1]` (before the shift).
    pub clamp: bool,
    /// Shift `η` (0: the plain `x/B`).
    pub shift: f64,
}

impl ReluArg {
    pub(crate) fn of(relu: &crate::PolyRelu) -> Self {
        Self {
            bound: relu.bound,
            clamp: relu.overflow == crate::OverflowPolicy::Clamp,
            shift: relu.shift,
        }
    }
}

/// Polynomial ReLU in place: `x ← x·(1 + p(t))/2 − o_c` with `t = (1 − η)·x/b − η`, in
/// parallel; `o_c` is the offset of the value's channel (none without `offsets`).
///
/// Returns the statistics of the inputs (overflow means `|x| > b`, whatever the shift); with
/// `clamp` the ratio `x/b` is clamped to `[−1, 1]` before the shift.
pub(crate) fn relu_poly(x: &mut [f32], p: &Composite, arg: ReluArg, offsets: Option<ChannelOffsets<'_>>) -> SiteStats {
    if x.len() < PARALLEL_MIN {
        return dispatch!(relu_chunk(x, 0, p, arg, offsets));
    }
    x.par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(k, chunk)| dispatch!(relu_chunk(chunk, k * CHUNK, p, arg, offsets)))
        .reduce(SiteStats::default, SiteStats::merged)
}

/// `x` starts at index `start` of the whole buffer (it fixes the channels).
#[inline(always)]
fn relu_chunk<const FMA: bool>(
    x: &mut [f32],
    start: usize,
    p: &Composite,
    arg: ReluArg,
    offsets: Option<ChannelOffsets<'_>>,
) -> SiteStats {
    let mut acc = RangeAcc::default();
    let mut blocks = x.chunks_exact_mut(LANES);
    let mut pos = start;
    for v in &mut blocks {
        relu_block::<FMA>(v.try_into().expect("exact chunk"), pos, p, arg, offsets, &mut acc);
        pos += LANES;
    }
    let rest = blocks.into_remainder();
    if !rest.is_empty() {
        let mut padded = [0.0f32; LANES];
        padded[..rest.len()].copy_from_slice(rest);
        // Zero padding changes neither the maximum nor the overflow count.
        relu_block::<FMA>(&mut padded, pos, p, arg, offsets, &mut acc);
        rest.copy_from_slice(&padded[..rest.len()]);
    }
    SiteStats {
        elements: x.len() as u64,
        overflows: acc.overflows(),
        max_abs: acc.max_abs(),
        max_ratio: acc.max_abs() / arg.bound,
    }
}

/// Adds `e(x) = x·(1 + p(t))/2 − max(x, 0)` of every value of `x` with `|x| ≤ B` (`x` starts at
/// index `start` of a `[N, C, plane]` buffer) to `out.sums[channel]`, and counts it.
#[inline(always)]
fn leak_chunk<const FMA: bool>(
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

/// The argument `t = (1 − η)·clamp?(x/b) − η` of every lane.
#[inline(always)]
fn relu_argument<const FMA: bool>(xs: &[f64; LANES], arg: ReluArg) -> [f64; LANES] {
    let ReluArg { bound: b, clamp, shift } = arg;
    // Multiplying by 1/b instead of dividing saves a fifth of the time; it moves t by at
    // most one ulp.
    let inv_b = 1.0 / b;
    let mut t: [f64; LANES] = std::array::from_fn(|l| xs[l] * inv_b);
    if clamp {
        for tl in &mut t {
            *tl = tl.clamp(-1.0, 1.0);
        }
    }
    // t ← (1 − η)·t − η. With η = 0 this is t·1 + (−0) = t bit for bit, so the unshifted
    // ReLU is unchanged.
    let (scale, offset) = (1.0 - shift, -shift);
    for tl in &mut t {
        *tl = fmadd::<FMA>(*tl, scale, offset);
    }
    t
}

/// Running maximum and overflow count of one chunk, one per lane: a single scalar accumulator
/// would chain every value's comparison to the previous one; per-lane ones compile to packed
/// max/compare instructions.
struct RangeAcc {
    max_abs: [f64; LANES],
    overflows: [u64; LANES],
}

impl Default for RangeAcc {
    fn default() -> Self {
        Self {
            max_abs: [0.0; LANES],
            overflows: [0; LANES],
        }
    }
}

impl RangeAcc {
    fn max_abs(&self) -> f64 {
        self.max_abs.iter().fold(0.0f64, |a, &b| if b > a { b } else { a })
    }

    fn overflows(&self) -> u64 {
        self.overflows.iter().sum()
    }
}

// A plain function, not a closure: a closure would be compiled without the caller's target
// features, turning every `mul_add` into a library call (measured 10× slower).
#[inline(always)]
fn relu_block<const FMA: bool>(
    v: &mut [f32; LANES],
    pos: usize,
    p: &Composite,
    arg: ReluArg,
    offsets: Option<ChannelOffsets<'_>>,
    acc: &mut RangeAcc,
) {
    let b = arg.bound;
    let xs: [f64; LANES] = std::array::from_fn(|l| v[l] as f64);
    for ((x, m), o) in xs.iter().zip(&mut acc.max_abs).zip(&mut acc.overflows) {
        let a = x.abs();
        *m = if a > *m { a } else { *m };
        *o += u64::from(a > b || a.is_nan());
    }
    let mut t = relu_argument::<FMA>(&xs, arg);
    eval_lanes::<FMA>(p, &mut t);
    match offsets {
        None => {
            for l in 0..LANES {
                v[l] = (xs[l] * (1.0 + t[l]) * 0.5) as f32;
            }
        }
        Some(o) => {
            for l in 0..LANES {
                v[l] = (xs[l] * (1.0 + t[l]) * 0.5 - o.at(pos + l)) as f32;
            }
        }
    }
}

/// Exact ReLU in place, recording `max |x|` in the same pass; NaN stays NaN (and is not
/// counted in the maximum).
///
/// Single-threaded on purpose: it is memory-bound at several billion values per second on one
/// core, a few percent of a ResNet's time, and a second thread pool beside libtorch's would
/// only compete with it.
pub(crate) fn relu_exact(x: &mut [f32]) -> SiteStats {
    dispatch!(relu_exact_chunk(x))
}

#[inline(always)]
fn relu_exact_chunk<const FMA: bool>(x: &mut [f32]) -> SiteStats {
    // Per-lane maxima with plain comparisons (not `f32::max`, whose NaN rule blocks
    // vectorisation): the loop compiles to packed max/and instructions.
    let mut m = [0.0f32; LANES];
    let mut blocks = x.chunks_exact_mut(LANES);
    for v in &mut blocks {
        for l in 0..LANES {
            let a = v[l].abs();
            m[l] = if a > m[l] { a } else { m[l] };
            v[l] = if v[l] < 0.0 { 0.0 } else { v[l] };
        }
    }
    for v in blocks.into_remainder() {
        let a = v.abs();
        m[0] = if a > m[0] { a } else { m[0] };
        *v = if *v < 0.0 { 0.0 } else { *v };
    }
    SiteStats {
        elements: x.len() as u64,
        max_abs: m.iter().fold(0.0f32, |a, &b| a.max(b)) as f64,
        ..SiteStats::default()
    }
}

/// Geometry and polynomial of a polynomial max-pool over one `h×w` plane.
pub(crate) struct PoolPlane<'a> {
    /// Composite polynomial approximating sign.
    pub p: &'a Composite,
    /// Divisor per tree level.
    pub divisors: &'a [f64],
    /// Clamp arguments to `[−1, 1]`.
    pub clamp: bool,
    /// Input plane height and width.
    pub h: usize,
    /// Input plane width.
    pub w: usize,
    /// Window side (and stride).
    pub k: usize,
}

/// Polynomial `k×k` max-pool with stride `k` (no padding, floor mode) over `planes` planes of
/// `h×w` values; `out` holds `planes × (h/k) × (w/k)` values.
///
/// The outputs are taken as one flat run across planes, in blocks of [`LANES`], so that small late planes (a
/// 2×2 → 1×1 pool has one output per plane) still fill every lane.
pub(crate) fn max_pool_poly(args: &PoolPlane<'_>, x: &[f32], out: &mut [f32]) -> SiteStats {
    let work = |(k, o): (usize, &mut [f32])| dispatch!(max_pool_outputs(args, x, k * POOL_CHUNK, o));
    if x.len() < PARALLEL_MIN {
        return out
            .chunks_mut(POOL_CHUNK)
            .enumerate()
            .map(work)
            .fold(SiteStats::default(), SiteStats::merged);
    }
    out.par_chunks_mut(POOL_CHUNK)
        .enumerate()
        .map(work)
        .reduce(SiteStats::default, SiteStats::merged)
}

/// Pool outputs per parallel work item (a multiple of [`LANES`]).
const POOL_CHUNK: usize = 1 << 10;

/// Computes the outputs `out` = outputs `start..start + out.len()` of the flat output (all planes) from `x`.
/// Inlined into the feature-compiled wrappers, like every kernel body here (else `mul_add` is a library call).
#[inline(always)]
fn max_pool_outputs<const FMA: bool>(args: &PoolPlane<'_>, x: &[f32], start: usize, out: &mut [f32]) -> SiteStats {
    let PoolPlane {
        p,
        divisors,
        clamp,
        h,
        w,
        k,
    } = *args;
    let (ho, wo) = (h / k, w / k);
    let per_plane = (ho * wo).max(1);
    let window = k * k;
    let mut stats = SiteStats::default();
    // vals[e][lane]: element e of the window of output lane.
    let mut vals = vec![[0.0f64; LANES]; window];
    for (block, o) in out.chunks_mut(LANES).enumerate() {
        let valid = o.len();
        // The top-left input of each lane's window. Pad the last block by repeating its last output: same
        // values, no new statistics.
        let corner: [usize; LANES] = std::array::from_fn(|lane| {
            let idx = start + block * LANES + lane.min(valid - 1);
            let (plane, within) = (idx / per_plane, idx % per_plane);
            plane * h * w + (within / wo) * k * w + (within % wo) * k
        });
        for di in 0..k {
            for dj in 0..k {
                let e = &mut vals[di * k + dj];
                *e = std::array::from_fn(|lane| x[corner[lane] + di * w + dj] as f64);
                for v in &e[..valid] {
                    stats.max_abs = stats.max_abs.max(v.abs());
                }
            }
        }
        let mut n = window;
        let mut level = 0;
        while n > 1 {
            let d = divisors[level];
            for pair in 0..n / 2 {
                let (a, b) = (vals[2 * pair], vals[2 * pair + 1]);
                let diff: [f64; LANES] = std::array::from_fn(|l| a[l] - b[l]);
                let mut t: [f64; LANES] = std::array::from_fn(|l| diff[l] / d);
                for &tl in &t[..valid] {
                    let r = tl.abs();
                    stats.max_ratio = stats.max_ratio.max(r);
                    stats.overflows += u64::from(r > 1.0 || r.is_nan());
                }
                if clamp {
                    for tl in &mut t {
                        *tl = tl.clamp(-1.0, 1.0);
                    }
                }
                eval_lanes::<FMA>(p, &mut t);
                vals[pair] = std::array::from_fn(|l| ((a[l] + b[l]) + diff[l] * t[l]) * 0.5);
            }
            if n % 2 == 1 {
                vals[n / 2] = vals[n - 1];
            }
            n = n.div_ceil(2);
            level += 1;
        }
        for (l, v) in o.iter_mut().enumerate() {
            *v = vals[0][l] as f32;
        }
    }
    stats.elements = (out.len() * window) as u64;
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cubic() -> Composite {
        Composite::new(&[vec![0.0, 1.5, 0.0, -0.5], vec![0.0, 1.5, 0.0, -0.5]]).unwrap()
    }

    #[test]
    fn relu_kernel_matches_scalar_formula_and_counts() {
        let p = cubic();
        let b = 4.0;
        // Above PARALLEL_MIN, so the parallel path and the chunk reduction are covered.
        let xs: Vec<f32> = (0..300_007).map(|i| ((i % 1000) as f32 - 500.0) / 110.0).collect();
        let mut ys = xs.clone();
        let st = relu_poly(
            &mut ys,
            &p,
            ReluArg {
                bound: b,
                clamp: false,
                shift: 0.0,
            },
            None,
        );
        for (&x, &y) in xs.iter().zip(&ys) {
            let x = x as f64;
            let want = x * (1.0 + p.eval(x / b)) / 2.0;
            assert!(
                (y as f64 - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{x}: {y} vs {want}"
            );
        }
        let over = xs.iter().filter(|x| x.abs() > 4.0).count() as u64;
        assert_eq!((st.elements, st.overflows), (xs.len() as u64, over));
        let max_abs = xs.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert_eq!(st.max_abs, max_abs as f64);
    }

    #[test]
    fn relu_clamp_and_nan() {
        let p = cubic();
        let mut v = vec![8.0f32, -8.0, f32::NAN, 1.0];
        let st = relu_poly(
            &mut v,
            &p,
            ReluArg {
                bound: 2.0,
                clamp: true,
                shift: 0.0,
            },
            None,
        );
        assert_eq!(st.overflows, 3);
        assert_eq!(v[0], 8.0);
        assert_eq!(v[1], 0.0);
        assert!(v[2].is_nan());
    }

    #[test]
    fn exact_relu_records_max_abs() {
        let mut v = vec![-3.0f32, 2.0, 0.5];
        let st = relu_exact(&mut v);
        assert_eq!(v, vec![0.0, 2.0, 0.5]);
        assert_eq!((st.elements, st.overflows, st.max_abs), (3, 0, 3.0));
    }

    #[test]
    fn pool_kernel_tree_order() {
        // One 4×4 plane, k = 2: four windows; identity-free check against the scalar tree.
        let p = cubic();
        let x: Vec<f32> = (0..16).map(|i| ((i * 7) % 11) as f32 / 4.0 - 1.0).collect();
        let divisors = [4.0, 8.0];
        let args = PoolPlane {
            p: &p,
            divisors: &divisors,
            clamp: false,
            h: 4,
            w: 4,
            k: 2,
        };
        let mut out = vec![0.0f32; 4];
        let st = max_pool_poly(&args, &x, &mut out);
        let m = |a: f64, b: f64, d: f64| ((a + b) + (a - b) * p.eval((a - b) / d)) / 2.0;
        for (o, &got) in out.iter().enumerate() {
            let (i, j) = (o / 2, o % 2);
            let e = |di: usize, dj: usize| x[(2 * i + di) * 4 + 2 * j + dj] as f64;
            let want = m(m(e(0, 0), e(0, 1), 4.0), m(e(1, 0), e(1, 1), 4.0), 8.0);
            assert!((got as f64 - want).abs() < 1e-6, "{o}: {got} vs {want}");
        }
        assert_eq!((st.elements, st.overflows), (16, 0));
    }
}
