//! The shifted polynomial ReLU `x·(1 + p((1 − η)·x/B − η))/2` in the fused kernel, with real
//! certified composites from pann-approx: it is the formula, and with `η = ε` the leak on
//! negative inputs (`p > −1` near 0) is gone while `η = 0` shows it.

use pann_approx::CompositeSign;
use pann_nn::{poly_relu_slice, OverflowPolicy, PolyRelu};

const B: f64 = 20.0;
/// Grid points on each side of 0.
const HALF: i32 = 100_000;

/// `x` on `[−B, B]` in steps of `B/HALF` (as `f32`, the kernel's type), 0 included.
fn grid() -> Vec<f32> {
    (-HALF..=HALF).map(|i| (B * i as f64 / HALF as f64) as f32).collect()
}

fn relu(sign: &CompositeSign, shift: f64) -> PolyRelu {
    PolyRelu {
        components: sign.coefficient_lists(),
        bound: B,
        overflow: OverflowPolicy::Count,
        shift,
        offsets: Vec::new(),
    }
}

/// The kernel's output on the grid.
fn kernel(sign: &CompositeSign, shift: f64) -> (Vec<f32>, Vec<f32>) {
    let xs = grid();
    let mut ys = xs.clone();
    let st = poly_relu_slice(&mut ys, &relu(sign, shift)).unwrap();
    assert_eq!((st.elements, st.overflows), (xs.len() as u64, 0));
    (xs, ys)
}

#[test]
fn shifted_relu_is_the_formula() {
    for alpha in [6, 9] {
        let sign = CompositeSign::for_alpha(alpha).unwrap();
        for shift in [0.0, sign.certificate().epsilon, 0.3] {
            let (xs, ys) = kernel(&sign, shift);
            for (&x, &y) in xs.iter().zip(&ys) {
                let x = x as f64;
                let t = (1.0 - shift) * x / B - shift;
                assert!((-1.0..=1.0).contains(&t), "t = {t} outside [−1, 1]");
                // Direct f64 evaluation of the certified Chebyshev form.
                let want = x * (1.0 + sign.eval(t)) / 2.0;
                let tol = 2f64.powi(-22) * want.abs() + 1e-9;
                assert!(
                    (y as f64 - want).abs() <= tol,
                    "α={alpha} η={shift} x={x}: {y} vs {want}"
                );
            }
            // The single-point evaluation agrees with the kernel.
            let r = relu(&sign, shift);
            for &x in &[-7.5f32, -0.01, 0.0, 0.02, 3.0] {
                let mut y = [x];
                poly_relu_slice(&mut y, &r).unwrap();
                let want = r.eval(x as f64).unwrap();
                assert!((y[0] as f64 - want).abs() <= 2f64.powi(-22) * want.abs() + 1e-12);
            }
        }
    }
}

/// Largest `|y|/|x|` over negative grid points, largest `|y|`, and mean `y` over `[−B, 0)`.
fn negative_leak(xs: &[f32], ys: &[f32]) -> (f64, f64, f64) {
    let (mut rel, mut abs, mut sum, mut n) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    for (&x, &y) in xs.iter().zip(ys) {
        if x < 0.0 {
            rel = rel.max((y as f64 / x as f64).abs());
            abs = abs.max((y as f64).abs());
            sum += y as f64;
            n += 1;
        }
    }
    (rel, abs, sum / n as f64)
}

#[test]
fn shift_by_epsilon_removes_the_negative_leak() {
    for alpha in [6, 9] {
        let sign = CompositeSign::for_alpha(alpha).unwrap();
        let eps = sign.certificate().epsilon;
        let unit = 2f64.powi(-(alpha as i32));
        assert!(eps > unit, "α={alpha}: ε = {eps} should be far above 2^-α");

        // η = 0: near 0⁻ the composite is near 0, so the output is about x/2 — a relative
        // error near 1/2, one-sided (negative outputs) and far above 2^-α on average.
        let (xs, ys) = kernel(&sign, 0.0);
        let (rel0, abs0, mean0) = negative_leak(&xs, &ys);
        assert!(rel0 > 0.4, "α={alpha}: relative leak {rel0} at η = 0");
        assert!(abs0 > 0.25 * B * unit, "α={alpha}: largest leak {abs0} at η = 0");
        assert!(mean0 < 0.0, "α={alpha}: mean leak {mean0} should be negative");

        // η = ε: every x ≤ 0 gives t ≤ −ε, where |p + 1| ≤ 2^(1−α): |output| ≤ |x|·2^-α. (The
        // largest absolute error, about B·2^-α, is the same for both: the certificate bounds the
        // unshifted ReLU error by 2^-α on all of [−1, 1]; what the shift removes is the relative,
        // one-sided leak of small negative inputs, and with it most of the mean.)
        let (xs, ys) = kernel(&sign, eps);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x <= 0.0 {
                let bound = (x as f64).abs() * unit * (1.0 + 1e-3) + 2f64.powi(-22) * (y as f64).abs();
                assert!((y as f64).abs() <= bound, "α={alpha} x={x}: leak {y} > {bound}");
            }
        }
        let (rel, abs, mean) = negative_leak(&xs, &ys);
        assert!(rel <= unit * (1.0 + 1e-3), "α={alpha}: relative leak {rel}");
        assert!(abs <= B * unit * (1.0 + 1e-3), "α={alpha}: largest leak {abs}");
        assert!(
            mean.abs() < 0.25 * mean0.abs(),
            "α={alpha}: mean leak {mean} vs {mean0}"
        );

        // The price: small positive inputs are damped instead; above 2εB/(1 − ε) the error is
        // back under x·2^-α.
        let edge = 2.0 * eps * B / (1.0 - eps);
        let mut damped = false;
        for (&x, &y) in xs.iter().zip(&ys) {
            let (x, y) = (x as f64, y as f64);
            if x >= edge {
                assert!(
                    (y - x).abs() <= x * unit * (1.0 + 1e-3) + 2f64.powi(-22) * x,
                    "α={alpha} x={x}: {y}"
                );
            } else if x > 0.0 && y < 0.75 * x {
                damped = true;
            }
        }
        assert!(damped, "α={alpha}: small positive inputs should be damped");
    }
}

#[test]
fn shift_is_checked() {
    let sign = CompositeSign::for_alpha(6).unwrap();
    for bad in [-0.01, 0.5, 1.0, f64::NAN, f64::INFINITY] {
        let mut y = [1.0f32];
        assert!(
            poly_relu_slice(&mut y, &relu(&sign, bad)).is_err(),
            "η = {bad} accepted"
        );
    }
}
