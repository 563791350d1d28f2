//! The polynomial ReLU `x·(1 + p(t))/2 − o_c` and the exact ReLU, in place on `f32` values, with
//! the input statistics (maximum, overflows) taken in the same pass.

use rayon::prelude::*;

use super::horner::{eval_lanes, fmadd};
use super::{check_layout, dispatch, CHUNK, LANES, PARALLEL_MIN};
use crate::poly::Composite;
use crate::stats::SiteStats;

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
pub(super) fn relu_chunk<const FMA: bool>(
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

/// The argument `t = (1 − η)·clamp?(x/b) − η` of every lane.
#[inline(always)]
pub(super) fn relu_argument<const FMA: bool>(xs: &[f64; LANES], arg: ReluArg) -> [f64; LANES] {
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
pub(super) fn relu_exact_chunk<const FMA: bool>(x: &mut [f32]) -> SiteStats {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::test_cubic;

    #[test]
    fn relu_kernel_matches_scalar_formula_and_counts() {
        let p = test_cubic();
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
        let p = test_cubic();
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
}
