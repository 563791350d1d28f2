//! Fused kernels for `pann.relu`, `pann.sign`, `pann.max_pool` and the ReLU's derivative, on plain slices of
//! `f32` or `f64`.
//!
//! The same design as pann-nn's kernels (which link libtorch, so they cannot be reused here): each value is read
//! once, widened to `f64`, run through every component of the composite while it stays in registers, and written
//! back in its own type. Values go in blocks of [`LANES`] so that the compiler keeps independent accumulators in
//! vector registers; on x86-64 a copy compiled for AVX-512 or AVX2 + FMA is picked at run time; chunks run in
//! parallel with rayon, each returning its own [`Stats`].
//!
//! For the precisions where the published power-basis coefficients are as accurate as the certificate (α ≤ 14
//! here), the arithmetic is pann-nn's, operation for operation (`t = x·(1/B)`, Horner in `t²` with fused
//! multiply-adds, `x·(1 + p)·½`), so `pann.relu` on `f32` gives the values `pann eval` computes, bit for bit. Above
//! that the power basis loses digits to cancellation (pann-approx's certificate measures it) and the odd
//! Chebyshev form is evaluated instead.

// Lane loops index several fixed-size arrays by the same lane: the form that compiles to packed operations.
#![allow(clippy::needless_range_loop)]

use pann_approx::CompositeSign;
use rayon::prelude::*;

/// Values evaluated together (pann-nn's choice: four AVX-512 registers of `f64` per operation).
pub const LANES: usize = 32;
/// Values per parallel work item.
const CHUNK: usize = 1 << 14;
/// Below this many values the kernels stay on the calling thread (waking rayon costs more than it saves).
const PARALLEL_MIN: usize = 1 << 16;

/// One component of the composite, in the form the kernels evaluate.
#[derive(Clone, Debug)]
pub enum Component {
    /// `t·q(t²)`: the odd power-basis coefficients of `p_i`, lowest first.
    Odd(Vec<f64>),
    /// `Σ_j c_j T_{2j+1}(s·t)`.
    Chebyshev {
        /// `s`.
        scale: f64,
        /// `c_j`.
        coefficients: Vec<f64>,
    },
}

/// A composite sign approximation prepared for the kernels.
#[derive(Clone, Debug)]
pub struct Composite {
    /// Components, first applied first.
    pub components: Vec<Component>,
}

impl Composite {
    /// The power form where it is as accurate as the certificate (pann-eval's own rule), else the Chebyshev form.
    pub fn new(sign: &CompositeSign) -> Self {
        let bound = (-(sign.alpha as f64)).exp2();
        let power = sign.certificate().max_relu_error_power_basis <= bound * 1.001;
        let components = sign
            .components
            .iter()
            .map(|c| {
                if power {
                    Component::Odd(c.coefficients.iter().skip(1).step_by(2).copied().collect())
                } else {
                    Component::Chebyshev {
                        scale: c.chebyshev.input_scale,
                        coefficients: c.chebyshev.coefficients.clone(),
                    }
                }
            })
            .collect();
        Self { components }
    }

    /// Whether the power basis is evaluated.
    pub fn is_power(&self) -> bool {
        matches!(self.components.first(), Some(Component::Odd(_)))
    }

    /// `p(t)` and `p'(t)` at one point, in the power basis (the ReLU's derivative; exactness to the last digit is
    /// not needed for gradients).
    fn value_and_slope(power: &[Vec<f64>], t: f64) -> (f64, f64) {
        let mut y = t;
        let mut slope = 1.0;
        for q in power {
            // p(y) = y·q(y²), p'(y) = q(y²) + 2y²·q'(y²).
            let y2 = y * y;
            let (mut v, mut d) = (0.0, 0.0);
            for &a in q.iter().rev() {
                d = d * y2 + v;
                v = v * y2 + a;
            }
            slope *= v + 2.0 * y2 * d;
            y *= v;
        }
        (y, slope)
    }
}

/// A floating-point element type of a NumPy array.
pub trait Elem: Copy + Send + Sync + Default + 'static {
    /// Widening.
    fn to_f64(self) -> f64;
    /// Rounding back.
    fn from_f64(v: f64) -> Self;
}

impl Elem for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Elem for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// What a kernel saw: values, values whose argument left `[−1, 1]`, NaN inputs, the largest `|x|`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Inputs read.
    pub elements: u64,
    /// Arguments outside `[−1, 1]` or NaN (for a ReLU: `|x| > B`; for a max-pool: a pairwise difference beyond
    /// its divisor).
    pub overflows: u64,
    /// NaN inputs.
    pub nans: u64,
    /// Largest `|x|` over the inputs (NaN ignored).
    pub max_abs: f64,
}

impl Stats {
    fn merged(self, o: Stats) -> Stats {
        Stats {
            elements: self.elements + o.elements,
            overflows: self.overflows + o.overflows,
            nans: self.nans + o.nans,
            max_abs: if o.max_abs > self.max_abs {
                o.max_abs
            } else {
                self.max_abs
            },
        }
    }
}

/// `a·b + c`, fused (one rounding) in the FMA builds.
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
                let (&last, rest) = q.split_last().expect("components are non-empty");
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
            Component::Chebyshev { scale, coefficients } => {
                // Σ c_j T_{2j+1}(u) by T_{k+2} = 2·T_2(u)·T_k − T_{k−2}, T_{−1} = T_1 = u.
                let u: [f64; LANES] = std::array::from_fn(|l| t[l] * scale);
                let w: [f64; LANES] = std::array::from_fn(|l| 2.0 * fmadd::<FMA>(2.0 * u[l], u[l], -1.0));
                let (mut prev, mut cur, mut acc) = (u, u, [0.0; LANES]);
                for &c in coefficients {
                    for l in 0..LANES {
                        acc[l] = fmadd::<FMA>(c, cur[l], acc[l]);
                        let next = fmadd::<FMA>(w[l], cur[l], -prev[l]);
                        prev[l] = cur[l];
                        cur[l] = next;
                    }
                }
                *t = acc;
            }
        }
    }
}

/// The elementwise operation of a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `x·(1 + p(x/B))/2`.
    Relu,
    /// `p(x/B)`.
    Sign,
}

/// Per-lane running maximum and counts: a scalar accumulator would chain every comparison to the previous one.
struct Acc {
    max_abs: [f64; LANES],
    overflows: [u64; LANES],
    nans: [u64; LANES],
}

impl Acc {
    fn new() -> Self {
        Self {
            max_abs: [0.0; LANES],
            overflows: [0; LANES],
            nans: [0; LANES],
        }
    }

    fn stats(&self, elements: usize) -> Stats {
        Stats {
            elements: elements as u64,
            overflows: self.overflows.iter().sum(),
            nans: self.nans.iter().sum(),
            max_abs: self.max_abs.iter().fold(0.0, |a, &b| if b > a { b } else { a }),
        }
    }
}

#[inline(always)]
fn unary_block<T: Elem, const FMA: bool>(
    x: &[T; LANES],
    y: &mut [T; LANES],
    p: &Composite,
    op: Op,
    bound: f64,
    acc: &mut Acc,
) {
    let xs: [f64; LANES] = std::array::from_fn(|l| x[l].to_f64());
    for l in 0..LANES {
        let a = xs[l].abs();
        acc.max_abs[l] = if a > acc.max_abs[l] { a } else { acc.max_abs[l] };
        // As in pann-nn, a NaN is an overflow too (a diverging network must fail Lee's search, not pass it).
        acc.overflows[l] += u64::from(a > bound || a.is_nan());
        acc.nans[l] += u64::from(xs[l].is_nan());
    }
    // pann-nn multiplies by 1/B rather than dividing (a fifth of the time; at most one ulp on t).
    let inv_b = 1.0 / bound;
    let mut t: [f64; LANES] = std::array::from_fn(|l| xs[l] * inv_b);
    eval_lanes::<FMA>(p, &mut t);
    match op {
        Op::Relu => {
            for l in 0..LANES {
                y[l] = T::from_f64(xs[l] * (1.0 + t[l]) * 0.5);
            }
        }
        Op::Sign => {
            for l in 0..LANES {
                y[l] = T::from_f64(t[l]);
            }
        }
    }
}

/// One chunk of an elementwise kernel (`x` and `y` of equal length; `y` may be written before `x` is read
/// elsewhere, never the same element).
#[inline(always)]
fn unary_chunk<T: Elem, const FMA: bool>(x: &[T], y: &mut [T], p: &Composite, op: Op, bound: f64) -> Stats {
    let mut acc = Acc::new();
    let mut xb = x.chunks_exact(LANES);
    let mut yb = y.chunks_exact_mut(LANES);
    for (xv, yv) in (&mut xb).zip(&mut yb) {
        unary_block::<T, FMA>(
            xv.try_into().expect("exact chunk"),
            yv.try_into().expect("exact chunk"),
            p,
            op,
            bound,
            &mut acc,
        );
    }
    let (xr, yr) = (xb.remainder(), yb.into_remainder());
    if !xr.is_empty() {
        // Zero padding changes neither the maximum nor the counts.
        let mut xp = [T::default(); LANES];
        let mut yp = [T::default(); LANES];
        xp[..xr.len()].copy_from_slice(xr);
        unary_block::<T, FMA>(&xp, &mut yp, p, op, bound, &mut acc);
        yr.copy_from_slice(&yp[..xr.len()]);
    }
    acc.stats(x.len())
}

/// The in-place variant: `x ← op(x)`.
#[inline(always)]
fn unary_chunk_inplace<T: Elem, const FMA: bool>(x: &mut [T], p: &Composite, op: Op, bound: f64) -> Stats {
    let mut acc = Acc::new();
    let mut blocks = x.chunks_exact_mut(LANES);
    for v in &mut blocks {
        let xv: [T; LANES] = (&*v).try_into().expect("exact chunk");
        unary_block::<T, FMA>(&xv, v.try_into().expect("exact chunk"), p, op, bound, &mut acc);
    }
    let rest = blocks.into_remainder();
    if !rest.is_empty() {
        let mut xp = [T::default(); LANES];
        let mut yp = [T::default(); LANES];
        xp[..rest.len()].copy_from_slice(rest);
        unary_block::<T, FMA>(&xp, &mut yp, p, op, bound, &mut acc);
        let n = rest.len();
        rest.copy_from_slice(&yp[..n]);
    }
    acc.stats(x.len())
}

/// Geometry of a `k×k` max-pool (stride `k`, no padding, floor) over planes of `h×w` values.
#[derive(Clone, Copy, Debug)]
pub struct Pool<'a> {
    /// The composite.
    pub p: &'a Composite,
    /// Divisor of each tree level.
    pub divisors: &'a [f64],
    /// Plane height.
    pub h: usize,
    /// Plane width.
    pub w: usize,
    /// Window side and stride.
    pub k: usize,
}

/// Outputs `start..start + out.len()` of the flat output (all planes), lanes filled across planes so that small
/// late planes still fill every lane; pann-nn's tree and arithmetic (`t = (a − b)/D_l`, odd elements carried up).
#[inline(always)]
fn pool_chunk<T: Elem, const FMA: bool>(g: &Pool<'_>, x: &[T], start: usize, out: &mut [T]) -> Stats {
    let Pool { p, divisors, h, w, k } = *g;
    let (ho, wo) = (h / k, w / k);
    let per_plane = ho * wo;
    let window = k * k;
    let mut stats = Stats::default();
    let mut vals = vec![[0.0f64; LANES]; window];
    for (block, o) in out.chunks_mut(LANES).enumerate() {
        let valid = o.len();
        // Pad the last block by repeating its last output: same values, no new statistics.
        let corner: [usize; LANES] = std::array::from_fn(|lane| {
            let idx = start + block * LANES + lane.min(valid - 1);
            let (plane, within) = (idx / per_plane, idx % per_plane);
            plane * h * w + (within / wo) * k * w + (within % wo) * k
        });
        for di in 0..k {
            for dj in 0..k {
                let e = &mut vals[di * k + dj];
                *e = std::array::from_fn(|lane| x[corner[lane] + di * w + dj].to_f64());
                for v in &e[..valid] {
                    stats.max_abs = if v.abs() > stats.max_abs {
                        v.abs()
                    } else {
                        stats.max_abs
                    };
                    stats.nans += u64::from(v.is_nan());
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
                    stats.overflows += u64::from(tl.abs() > 1.0 || tl.is_nan());
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
            *v = T::from_f64(vals[0][l]);
        }
    }
    stats.elements = (out.len() * window) as u64;
    stats
}

/// Instruction sets, from the portable build up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if avx2 {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// The kernels compiled with target features: each wrapper inlines a body marked `#[inline(always)]`, so the body
/// is compiled with the wrapper's features (otherwise every `mul_add` would be a library call).
macro_rules! kernels_for {
    ($name:ident, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            use super::*;

            #[target_feature(enable = $features)]
            pub(super) unsafe fn unary<T: Elem>(x: &[T], y: &mut [T], p: &Composite, op: Op, b: f64) -> Stats {
                unary_chunk::<T, true>(x, y, p, op, b)
            }

            #[target_feature(enable = $features)]
            pub(super) unsafe fn unary_inplace<T: Elem>(x: &mut [T], p: &Composite, op: Op, b: f64) -> Stats {
                unary_chunk_inplace::<T, true>(x, p, op, b)
            }

            #[target_feature(enable = $features)]
            pub(super) unsafe fn pool<T: Elem>(g: &Pool<'_>, x: &[T], start: usize, out: &mut [T]) -> Stats {
                pool_chunk::<T, true>(g, x, start, out)
            }
        }
    };
}

kernels_for!(avx2, "avx2,fma");
kernels_for!(avx512, "avx512f,avx2,fma");

/// Runs the build of `$f` the CPU supports.
macro_rules! dispatch {
    ($isa:expr, $f:ident, $portable:ident ( $($arg:expr),* )) => {
        match $isa {
            // SAFETY: `isa()` returns a build only when the CPU has its features.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::$f($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::$f($($arg),*) },
            Isa::Portable => $portable($($arg),*),
        }
    };
}

/// `y = op(x)` elementwise (equal lengths), in parallel.
pub fn unary<T: Elem>(x: &[T], y: &mut [T], p: &Composite, op: Op, bound: f64) -> Stats {
    let isa = isa();
    let portable = |x: &[T], y: &mut [T], p: &Composite, op: Op, b: f64| unary_chunk::<T, false>(x, y, p, op, b);
    if x.len() < PARALLEL_MIN {
        return dispatch!(isa, unary, portable(x, y, p, op, bound));
    }
    x.par_chunks(CHUNK)
        .zip(y.par_chunks_mut(CHUNK))
        .map(|(x, y)| dispatch!(isa, unary, portable(x, y, p, op, bound)))
        .reduce(Stats::default, Stats::merged)
}

/// `x ← op(x)` elementwise, in parallel.
pub fn unary_inplace<T: Elem>(x: &mut [T], p: &Composite, op: Op, bound: f64) -> Stats {
    let isa = isa();
    let portable = |x: &mut [T], p: &Composite, op: Op, b: f64| unary_chunk_inplace::<T, false>(x, p, op, b);
    if x.len() < PARALLEL_MIN {
        return dispatch!(isa, unary_inplace, portable(x, p, op, bound));
    }
    x.par_chunks_mut(CHUNK)
        .map(|x| dispatch!(isa, unary_inplace, portable(x, p, op, bound)))
        .reduce(Stats::default, Stats::merged)
}

/// Pool outputs per parallel work item (a multiple of [`LANES`]).
const POOL_CHUNK: usize = 1 << 10;

/// The polynomial max-pool of every plane of `x` into `out` (`planes × (h/k) × (w/k)` values).
pub fn max_pool<T: Elem>(g: &Pool<'_>, x: &[T], out: &mut [T]) -> Stats {
    let isa = isa();
    let portable = |g: &Pool<'_>, x: &[T], s: usize, o: &mut [T]| pool_chunk::<T, false>(g, x, s, o);
    let work = |(i, o): (usize, &mut [T])| dispatch!(isa, pool, portable(g, x, i * POOL_CHUNK, o));
    if x.len() < PARALLEL_MIN {
        return out
            .chunks_mut(POOL_CHUNK)
            .enumerate()
            .map(work)
            .fold(Stats::default(), Stats::merged);
    }
    out.par_chunks_mut(POOL_CHUNK)
        .enumerate()
        .map(work)
        .reduce(Stats::default, Stats::merged)
}

/// `d/dx [x·(1 + p(x/B))/2] = (1 + p(t))/2 + t·p'(t)/2` with `t = x/B`, elementwise, in parallel (for the
/// backward pass of `pann.torch.PolyReLU`; the power basis, whose few lost digits do not matter to a gradient).
pub fn relu_slope<T: Elem>(sign: &CompositeSign, x: &[T], y: &mut [T], bound: f64) {
    let power: Vec<Vec<f64>> = sign
        .components
        .iter()
        .map(|c| c.coefficients.iter().skip(1).step_by(2).copied().collect())
        .collect();
    let inv_b = 1.0 / bound;
    x.par_chunks(CHUNK).zip(y.par_chunks_mut(CHUNK)).for_each(|(x, y)| {
        for (xi, yi) in x.iter().zip(y.iter_mut()) {
            let t = xi.to_f64() * inv_b;
            let (p, slope) = Composite::value_and_slope(&power, t);
            *yi = T::from_f64((1.0 + p) * 0.5 + t * slope * 0.5);
        }
    });
}
