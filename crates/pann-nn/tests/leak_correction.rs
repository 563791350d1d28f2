//! The mean-leak correction in pann-nn: per-channel offsets of the polynomial ReLU in the fused
//! kernel, and the per-channel mean error that [`LeakMeter`] measures, against direct `f64`
//! computations.

use pann_approx::CompositeSign;
use pann_nn::leak_meter::{max_abs_offset, with_offsets};
use pann_nn::{
    apply_relu, poly_relu_error_sums, poly_relu_planes, Activation, Activations, LeakMeter, OverflowPolicy, PolyRelu,
};
use tch::{Kind, Tensor};

fn relu(sign: &CompositeSign, bound: f64, offsets: Vec<f64>) -> PolyRelu {
    PolyRelu {
        components: sign.coefficient_lists(),
        bound,
        overflow: OverflowPolicy::Count,
        shift: 0.0,
        offsets,
    }
}

/// Deterministic inputs in about [−2.5, 2.5], scaled per channel so that channels differ.
fn inputs(n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n * c * h * w)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let ch = (i / (h * w)) % c;
            ((2.0 * u - 1.0) * (0.5 + ch as f64) + 0.1 * ch as f64) as f32
        })
        .collect()
}

fn tensor(v: &[f32], shape: [i64; 4]) -> Tensor {
    Tensor::from_slice(v).reshape(shape)
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
}

/// `e(x) = x·(1 + p(x/B))/2 − max(x, 0)` in plain f64, through the scalar reference
/// `PolyRelu::eval` (which ignores the offsets).
fn direct_error(r: &PolyRelu, x: f32) -> f64 {
    let x = x as f64;
    r.eval(x).unwrap() - x.max(0.0)
}

#[test]
fn kernel_subtracts_each_channels_offset() {
    let sign = CompositeSign::for_alpha(7).unwrap();
    let offsets = vec![0.5, -1.25, 2.0];
    let r = relu(&sign, 4.0, offsets.clone());
    // A small NCHW tensor through the model path (channel = dimension 1), and one above the
    // kernel's parallel threshold, where chunks start inside channels.
    for (shape, parallel) in [([2i64, 3, 2, 5], false), ([2, 3, 256, 300], true)] {
        let (n, c, h, w) = (
            shape[0] as usize,
            shape[1] as usize,
            shape[2] as usize,
            shape[3] as usize,
        );
        let xs = inputs(n, c, h, w);
        let ys = if parallel {
            let mut ys = xs.clone();
            poly_relu_planes(&mut ys, &r, h * w).unwrap();
            ys
        } else {
            let (y, st) = apply_relu(&tensor(&xs, shape), &Activation::Poly(r.clone())).unwrap();
            assert_eq!(st.elements, xs.len() as u64);
            to_vec(&y)
        };
        for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
            let ch = (i / (h * w)) % c;
            let want = r.eval(x as f64).unwrap() - offsets[ch];
            assert!(
                (y as f64 - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{shape:?} element {i} (channel {ch}): {y} vs {want}"
            );
        }
    }
    // Without offsets the output is the plain polynomial ReLU.
    let plain = relu(&sign, 4.0, Vec::new());
    let xs = inputs(2, 3, 2, 5);
    let (y, _) = apply_relu(&tensor(&xs, [2, 3, 2, 5]), &Activation::Poly(plain.clone())).unwrap();
    for (&x, &y) in xs.iter().zip(&to_vec(&y)) {
        assert!((y as f64 - plain.eval(x as f64).unwrap()).abs() <= 1e-6);
    }
    // [N, F] inputs: the channel is the feature.
    let (y, _) = apply_relu(
        &Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0, 0.0, 0.0]).reshape([2, 3]),
        &Activation::Poly(r.clone()),
    )
    .unwrap();
    let got: Vec<f64> = to_vec(&y).iter().map(|&v| v as f64).collect();
    assert_eq!(got, vec![-0.5, 1.25, -2.0, -0.5, 1.25, -2.0]);
    // A number of offsets that is not the number of channels is an error, not a silent wrap.
    let wrong = relu(&sign, 4.0, vec![0.1, 0.2]);
    assert!(apply_relu(&tensor(&xs, [2, 3, 2, 5]), &Activation::Poly(wrong)).is_err());
}

#[test]
fn measured_means_are_the_direct_mean_error_per_channel() {
    let sign = CompositeSign::for_alpha(6).unwrap();
    let r = relu(&sign, 3.0, Vec::new());
    let (n, c, h, w) = (3usize, 4usize, 5usize, 6usize);
    let xs = inputs(n, c, h, w);
    // The mean over the inputs inside the bound: channel 3 reaches |x| ≈ 3.8 > B = 3, and those
    // overflows are left out.
    let mut direct = vec![0.0f64; c];
    let mut inside = vec![0u64; c];
    for (i, &x) in xs.iter().enumerate() {
        if x.abs() as f64 <= r.bound {
            direct[(i / (h * w)) % c] += direct_error(&r, x);
            inside[(i / (h * w)) % c] += 1;
        }
    }
    let all = (n * h * w) as u64;
    assert!(inside[3] < all && inside[3] > 0, "{inside:?}");
    assert_eq!(inside[0], all);
    let direct_sums = direct.clone();
    for (d, &k) in direct.iter_mut().zip(&inside) {
        *d /= k as f64;
    }
    // The meter over two batches (the sums add up across calls).
    let acts = Activations {
        relu: vec![Activation::Exact, Activation::Poly(r.clone())],
        pool: vec![],
    };
    let mut meter = LeakMeter::new(&acts).unwrap();
    let half = (n / 2 + 1) * c * h * w;
    meter
        .add(1, &tensor(&xs[..half], [(n / 2 + 1) as i64, 4, 5, 6]))
        .unwrap();
    meter
        .add(1, &tensor(&xs[half..], [(n - n / 2 - 1) as i64, 4, 5, 6]))
        .unwrap();
    meter.add(0, &tensor(&xs, [3, 4, 5, 6])).unwrap(); // an exact site: ignored
    let means = meter.means();
    assert!(means[0].is_empty());
    assert_eq!(means[1].len(), c);
    for (ch, (&m, &d)) in means[1].iter().zip(&direct).enumerate() {
        assert!((m - d).abs() <= 1e-12 * d.abs().max(1e-3), "channel {ch}: {m} vs {d}");
    }
    // The leak is one-sided: every channel's mean error is negative at α = 6.
    assert!(direct.iter().all(|&d| d < 0.0), "{direct:?}");
    let largest = direct.iter().fold(0.0f64, |a, d| a.max(d.abs()));
    assert!((max_abs_offset(&means) - largest).abs() <= 1e-12 * largest);
    // The raw sums and counts of the slice API.
    let sums = poly_relu_error_sums(&xs, &r, c, h * w).unwrap();
    assert_eq!(sums.counts, inside);
    for (s, d) in sums.sums.iter().zip(&direct_sums) {
        assert!((s - d).abs() <= 1e-12 * d.abs().max(1e-3));
    }
    assert!(poly_relu_error_sums(&xs[..7], &r, c, h * w).is_err());
}

#[test]
fn correction_makes_the_error_zero_mean_per_channel() {
    for alpha in [6, 8] {
        let sign = CompositeSign::for_alpha(alpha).unwrap();
        // The inputs reach |x| ≈ 4.9 in channel 4: inside the bound.
        let r = relu(&sign, 6.0, Vec::new());
        let shape = [8i64, 5, 16, 16];
        let xs = inputs(8, 5, 16, 16);
        let x = tensor(&xs, shape);
        let acts = Activations {
            relu: vec![Activation::Poly(r.clone())],
            pool: vec![],
        };
        let mut meter = LeakMeter::new(&acts).unwrap();
        meter.add(0, &x).unwrap();
        let corrected = with_offsets(&acts, &meter.means()).unwrap();
        let mean_error = |act: &Activation| -> Vec<f64> {
            let (y, _) = apply_relu(&x, act).unwrap();
            let mut s = [0.0f64; 5];
            for (i, (&y, &x)) in to_vec(&y).iter().zip(&xs).enumerate() {
                s[(i / 256) % 5] += y as f64 - (x as f64).max(0.0);
            }
            s.iter().map(|v| v / (8.0 * 256.0)).collect()
        };
        let before = mean_error(&acts.relu[0]);
        let after = mean_error(&corrected.relu[0]);
        for (ch, (b, a)) in before.iter().zip(&after).enumerate() {
            assert!(
                *b < -1e-4,
                "α = {alpha}, channel {ch}: the leak should be visible, mean {b}"
            );
            // What is left is the f32 rounding of the outputs.
            assert!(a.abs() < 1e-3 * b.abs(), "α = {alpha}, channel {ch}: {b} → {a}");
        }
    }
}

#[test]
fn inputs_far_beyond_the_bound_leave_the_mean_finite() {
    // α = 14 (degrees [15, 29, 31], 13,485 in all): at x/B = 4 the composite is far beyond f64's
    // range. Such an input is an overflow for the range rule, not part of the leak's mean.
    let sign = CompositeSign::for_alpha(14).unwrap();
    let r = relu(&sign, 1.0, Vec::new());
    assert!(
        !direct_error(&r, 4.0).is_finite(),
        "the test needs an input whose error is not finite"
    );
    let xs = [-0.01f32, 0.02, -4.0, 4.0, f32::NAN, -0.5];
    let sums = poly_relu_error_sums(&xs, &r, 1, xs.len()).unwrap();
    assert_eq!(sums.counts, vec![3]);
    // Exactly the sum over the three inputs inside the bound, alone (same kernel, same order).
    let inside = [-0.01f32, 0.02, -0.5];
    let alone = poly_relu_error_sums(&inside, &r, 1, inside.len()).unwrap();
    assert_eq!(sums, alone);
    // And that is the error of the scalar reference, up to rounding: the kernel fuses
    // multiply-adds, the reference does not, and near ε the terms x(1 + p)/2 are small and of
    // both signs, so the bound is absolute, on the scale of the inputs.
    let expected: f64 = inside.iter().map(|&x| direct_error(&r, x)).sum();
    let scale: f64 = inside.iter().map(|&x| (x as f64).abs()).sum();
    assert!(
        (sums.sums[0] - expected).abs() <= 1e-9 * scale,
        "{:?} vs {expected}",
        sums.sums
    );
    let acts = Activations {
        relu: vec![Activation::Poly(r)],
        pool: vec![],
    };
    let mut meter = LeakMeter::new(&acts).unwrap();
    meter.add(0, &tensor(&xs, [1, 1, 1, 6])).unwrap();
    let m = meter.means()[0][0];
    assert_eq!(m, alone.sums[0] / 3.0);
}
