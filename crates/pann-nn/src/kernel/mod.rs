//! Fused `f64` kernels for the polynomial activations, on plain `f32` slices.
//!
//! Evaluating a composite of degree-15/27 polynomials with tensor ops would take dozens of
//! passes over memory and `f64` temporaries; here each value is read once, converted to `f64`,
//! run through Horner's scheme for every component while it stays in registers, and written
//! back as `f32`. Values go through in blocks of `LANES` (32) so the compiler keeps independent
//! accumulators in vector registers; on x86-64 CPUs with AVX-512 or AVX2 (and FMA) a copy
//! compiled for those features is picked at run time. The work is split into chunks run in parallel with
//! rayon, and each chunk returns its own [`SiteStats`] that are then merged, so counting
//! overflows needs no atomics.
//!
//! This file picks the build (ISA dispatch) and holds what every kernel shares; the kernels live
//! by job:
//!
//! * [`relu`]: the polynomial ReLU (with per-channel offsets) and the exact ReLU, in place;
//! * [`leak_sums`]: per-channel sums of the polynomial ReLU's error, for the mean-leak correction;
//! * `max_pool`: the polynomial `k×k` max-pool, a tree of polynomial maxima.
//!
//! [`SiteStats`]: crate::stats::SiteStats

mod horner;
pub mod leak_sums;
pub(crate) mod max_pool;
pub mod relu;

use std::sync::atomic::{AtomicU8, Ordering};

pub use leak_sums::{poly_relu_error_sums, ChannelErrorSums};
pub(crate) use max_pool::{max_pool_poly, PoolPlane};
pub use relu::{poly_relu_planes, poly_relu_slice};
pub(crate) use relu::{relu_exact, relu_poly, ChannelOffsets, ReluArg};

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

/// Runs the build [`kernel_isa`] picks of a generic `fn name<const FMA: bool>` defined in the
/// calling module (the feature-compiled copies are in `kernel::avx2` and `kernel::avx512`). The
/// AVX2 and AVX-512 builds do the same fused operations on each value in the same order, so
/// they give bit-identical results; the portable one rounds `a·b + c` in two steps.
macro_rules! dispatch {
    ($generic:ident ( $($arg:expr),* $(,)? )) => {{
        match $crate::kernel::kernel_isa() {
            // SAFETY: `kernel_isa` returns a build only when the CPU has its features.
            #[cfg(target_arch = "x86_64")]
            $crate::kernel::KernelIsa::Avx512 => unsafe { $crate::kernel::avx512::$generic($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            $crate::kernel::KernelIsa::Avx2 => unsafe { $crate::kernel::avx2::$generic($($arg),*) },
            _ => $generic::<false>($($arg),*),
        }
    }};
}
pub(crate) use dispatch;

/// A module of the kernels compiled with the target features `$features` (FMA among them). Each
/// wrapper calls a kernel body marked `#[inline(always)]`, so the body is compiled with the
/// wrapper's features (a body compiled without them turns every `mul_add` into a library call).
macro_rules! kernels_for {
    ($name:ident, $features:literal, $doc:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            #![doc = $doc]
            use super::leak_sums::{self, ChannelErrorSums};
            use super::max_pool::{self, PoolPlane};
            use super::relu::{self, ChannelOffsets, ReluArg};
            use crate::poly::Composite;
            use crate::stats::SiteStats;

            #[target_feature(enable = $features)]
            pub(super) unsafe fn relu_chunk(
                x: &mut [f32],
                start: usize,
                p: &Composite,
                arg: ReluArg,
                offsets: Option<ChannelOffsets<'_>>,
            ) -> SiteStats {
                relu::relu_chunk::<true>(x, start, p, arg, offsets)
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
                leak_sums::leak_chunk::<true>(x, start, p, arg, plane, out)
            }

            #[target_feature(enable = $features)]
            pub(super) unsafe fn relu_exact_chunk(x: &mut [f32]) -> SiteStats {
                relu::relu_exact_chunk::<true>(x)
            }

            #[target_feature(enable = $features)]
            pub(super) unsafe fn max_pool_outputs(
                args: &PoolPlane<'_>,
                x: &[f32],
                start: usize,
                out: &mut [f32],
            ) -> SiteStats {
                max_pool::max_pool_outputs::<true>(args, x, start, out)
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

/// An error unless `len` values are a whole number of `[channels, plane]` blocks (the `[N, C,
/// plane]` layout of the per-channel kernels).
fn check_layout(channels: usize, plane: usize, len: usize) -> crate::Result<()> {
    if channels == 0 || plane == 0 || !len.is_multiple_of(channels * plane) {
        return Err(crate::Error::BadInput(format!(
            "{len} values are not a whole number of {channels} channels of {plane} values"
        )));
    }
    Ok(())
}

/// The composite of two cubic sign approximations, for the kernels' unit tests.
#[cfg(test)]
pub(crate) fn test_cubic() -> crate::poly::Composite {
    crate::poly::Composite::new(&[vec![0.0, 1.5, 0.0, -0.5], vec![0.0, 1.5, 0.0, -0.5]]).unwrap()
}
