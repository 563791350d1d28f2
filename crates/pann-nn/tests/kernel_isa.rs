//! Every build of the fused kernels (AVX-512, AVX2, portable) the CPU can run gives the same values and statistics:
//! the two FMA builds bit for bit, the portable one (unfused `a·b + c`) to within rounding, value by value. One test in its own
//! binary, because the build cap is process-wide.

use pann_approx::CompositeSign;
use pann_nn::{
    apply_relu, kernel_isa, poly_relu_error_sums, set_kernel_isa_cap, Activation, ChannelErrorSums, KernelIsa,
    OverflowPolicy, PolyRelu, SiteStats,
};
use tch::{Kind, Tensor};

fn relu(offsets: Vec<f64>) -> PolyRelu {
    PolyRelu {
        components: CompositeSign::for_alpha(12).unwrap().coefficient_lists(),
        bound: 3.0,
        overflow: OverflowPolicy::Count,
        shift: 0.0,
        offsets,
    }
}

/// Values in [−2.99, 2.99] (inside the bound 3) in `[2, 3, 300, 457]`: a length that is not a multiple of
/// the lane count, and above the kernels' parallel threshold, so chunk edges and remainders are exercised.
fn input() -> Tensor {
    let n: u64 = 2 * 3 * 300 * 457;
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 % 20011) as f32 / 20011.0 * 2.0 - 1.0) * 2.99)
        .collect();
    Tensor::from_slice(&v).reshape([2, 3, 300, 457])
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
}

/// What one kernel build gives on the test input.
struct Run {
    isa: KernelIsa,
    poly: Vec<f32>,
    poly_stats: SiteStats,
    exact: Vec<f32>,
    leak_sums: ChannelErrorSums,
    /// The same for inputs of which some are beyond the bound (left out of the sums, not counted).
    overflow_leak_sums: ChannelErrorSums,
    /// The error `e(x)` of each of the first values, in `f64` (each value its own channel).
    errors: Vec<f64>,
    /// Statistics of inputs beyond the bound (the values there diverge and are not compared).
    overflow_stats: SiteStats,
}

/// Values whose errors are compared one by one.
const FIRST: usize = 40_000;

fn run(isa: KernelIsa, x: &Tensor) -> Run {
    let (y, poly_stats) = apply_relu(x, &Activation::Poly(relu(vec![0.25, -0.5, 1.0]))).unwrap();
    let (e, _) = apply_relu(x, &Activation::Exact).unwrap();
    let (_, overflow_stats) = apply_relu(&(x * 1.05), &Activation::Poly(relu(Vec::new()))).unwrap();
    Run {
        isa,
        poly: values(&y),
        poly_stats,
        exact: values(&e),
        leak_sums: poly_relu_error_sums(&values(x), &relu(Vec::new()), 3, 300 * 457).unwrap(),
        overflow_leak_sums: poly_relu_error_sums(&values(&(x * 1.05)), &relu(Vec::new()), 3, 300 * 457).unwrap(),
        errors: poly_relu_error_sums(&values(x)[..FIRST], &relu(Vec::new()), FIRST, 1)
            .unwrap()
            .sums,
        overflow_stats,
    }
}

#[test]
fn every_kernel_build_gives_the_same_results() {
    let x = input();
    let mut runs: Vec<Run> = Vec::new();
    for cap in [KernelIsa::Avx512, KernelIsa::Avx2, KernelIsa::Portable] {
        set_kernel_isa_cap(cap);
        let isa = kernel_isa();
        assert!(isa <= cap, "cap {cap:?} but {isa:?} runs");
        if !runs.iter().any(|r| r.isa == isa) {
            runs.push(run(isa, &x));
        }
    }
    set_kernel_isa_cap(KernelIsa::Avx512);
    assert!(runs.iter().any(|r| r.isa == KernelIsa::Portable));
    let first = &runs[0];
    assert_eq!(first.poly_stats.overflows, 0);
    assert!(first.overflow_stats.overflows > 0);
    assert!(first.poly.iter().all(|v| v.is_finite()) && first.leak_sums.sums.iter().all(|v| v.is_finite()));
    // Every input inside the bound counts; beyond it, exactly the overflows are left out.
    let all = (x.numel() / 3) as u64;
    assert_eq!(first.leak_sums.counts, vec![all; 3]);
    let left_out: u64 = first.overflow_leak_sums.counts.iter().map(|&k| all - k).sum();
    assert_eq!(left_out, first.overflow_stats.overflows);
    assert!(first.overflow_leak_sums.sums.iter().all(|v| v.is_finite()));
    for r in &runs[1..] {
        let stats = |s: &SiteStats| (s.elements, s.overflows, s.max_abs);
        assert_eq!(stats(&r.poly_stats), stats(&first.poly_stats), "{:?}", r.isa);
        assert_eq!(stats(&r.overflow_stats), stats(&first.overflow_stats), "{:?}", r.isa);
        assert_eq!(r.exact, first.exact, "{:?}: exact ReLU", r.isa);
        assert_eq!(r.leak_sums.counts, first.leak_sums.counts, "{:?}: leak counts", r.isa);
        assert_eq!(
            r.overflow_leak_sums.counts, first.overflow_leak_sums.counts,
            "{:?}: leak counts",
            r.isa
        );
        if r.isa == KernelIsa::Portable {
            let worst = r
                .poly
                .iter()
                .zip(&first.poly)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-5, "portable polynomial ReLU off by {worst}");
            // Fused and unfused rounding differ by a few ulps per step, amplified by the power basis's
            // cancellation and the steep composite near 0. The build must not matter next to the approximation:
            // below a thousandth of the ReLU's error budget B·2^-α (B = 3, α = 12).
            let worst = r
                .errors
                .iter()
                .zip(&first.errors)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f64, f64::max);
            assert!(
                worst <= 1e-3 * 3.0 * 2f64.powi(-12),
                "portable ReLU error e(x) off by {worst}"
            );
        } else {
            assert_eq!(r.poly, first.poly, "{:?}: polynomial ReLU", r.isa);
            assert_eq!(r.leak_sums, first.leak_sums, "{:?}: leak sums", r.isa);
            assert_eq!(
                r.overflow_leak_sums, first.overflow_leak_sums,
                "{:?}: leak sums with overflows",
                r.isa
            );
            assert_eq!(r.errors, first.errors, "{:?}: errors", r.isa);
        }
    }
}
