//! The polynomial `k×k` max-pool: a tree of polynomial maxima `max(a, b) ≈ ((a + b) + (a − b)·p((a − b)/d))/2`
//! over each window, lanes filled across planes.

use rayon::prelude::*;

use super::horner::eval_lanes;
use super::{dispatch, LANES, PARALLEL_MIN};
use crate::poly::Composite;
use crate::stats::SiteStats;

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
pub(super) fn max_pool_outputs<const FMA: bool>(
    args: &PoolPlane<'_>,
    x: &[f32],
    start: usize,
    out: &mut [f32],
) -> SiteStats {
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
    use crate::kernel::test_cubic;

    #[test]
    fn pool_kernel_tree_order() {
        // One 4×4 plane, k = 2: four windows; identity-free check against the scalar tree.
        let p = test_cubic();
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
