//! Remez exchange: equioscillation, multi-interval problems and high degrees.

use pann_approx::{remez, Domain, DoubleDouble, Interval, RemezConfig, Symmetry};
use proptest::prelude::*;

fn one(_: f64) -> f64 {
    1.0
}

/// Error of `p` at `x` in Chebyshev form.
fn err(p: &pann_approx::MinimaxPoly, f: impl Fn(f64) -> f64, x: f64) -> f64 {
    f(x) - p.eval(x)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn sign_components_equioscillate(m in 1usize..16, log_tau in -12.0f64..-0.2) {
        let d = 2 * m + 1;
        let tau = log_tau.exp2();
        let dom = Domain::interval(tau, 1.0).unwrap();
        let (p, rep) = remez(one, one, &dom, d, Symmetry::Odd, &RemezConfig::default(), None).unwrap();
        prop_assert!(rep.usable(), "{:?}", rep);
        if rep.resolution_limited {
            // Only allowed where the levelled and the maximal error agree to round-off.
            prop_assert!(rep.max_error - rep.levelled_error < 1e-12, "{:?}", rep);
        }
        prop_assert_eq!(rep.reference.len(), m + 2);
        let e: Vec<f64> = rep.reference.iter().map(|&x| err(&p, |_| 1.0, x)).collect();
        if rep.max_error > 1e-11 {
            for w in e.windows(2) {
                prop_assert!(w[0] * w[1] < 0.0, "signs do not alternate: {:?}", e);
            }
        }
        for v in &e {
            prop_assert!((v.abs() - rep.max_error).abs() <= 1e-6 * rep.max_error + 1e-12, "{:?} vs {}", e, rep.max_error);
        }
        // Independent check of the reported maximum on a dense grid.
        let dense = (0..=20000).map(|i| tau + (1.0 - tau) * i as f64 / 20000.0)
            .map(|x| err(&p, |_| 1.0, x).abs()).fold(0.0, f64::max);
        prop_assert!(dense <= rep.max_error * (1.0 + 1e-6) + 1e-12);
    }

    #[test]
    fn odd_approximations_are_odd(m in 1usize..10, x in 0.0f64..1.0) {
        let dom = Domain::interval(0.1, 1.0).unwrap();
        let (p, _) = remez(one, one, &dom, 2 * m + 1, Symmetry::Odd, &RemezConfig::default(), None).unwrap();
        prop_assert_eq!(p.eval(-x), -p.eval(x));
        for (i, c) in p.power.iter().enumerate() {
            if i % 2 == 0 { prop_assert_eq!(*c, 0.0); }
        }
    }
}

#[test]
fn two_interval_problem_without_symmetry() {
    // sign on [−1, −0.2] ∪ [0.3, 1] (asymmetric gap), degree 9: equioscillation over both intervals.
    let dom = Domain::new(vec![
        Interval::new(-1.0, -0.2).unwrap(),
        Interval::new(0.3, 1.0).unwrap(),
    ])
    .unwrap();
    let (p, rep) = remez(
        |x: f64| x.signum(),
        one,
        &dom,
        9,
        Symmetry::None,
        &RemezConfig::default(),
        None,
    )
    .unwrap();
    assert!(rep.converged, "{rep:?}");
    assert_eq!(rep.reference.len(), 11);
    assert!(rep.reference.iter().any(|&x| x < 0.0) && rep.reference.iter().any(|&x| x > 0.0));
    let e: Vec<f64> = rep.reference.iter().map(|&x| err(&p, f64::signum, x)).collect();
    assert!(e.iter().all(|v| (v.abs() / rep.max_error - 1.0).abs() < 1e-6), "{e:?}");
}

#[test]
fn weighted_relu_approximation() {
    // ReLU on [−1, 1] with error weighted 4× on negative inputs: the negative side ends 4× more accurate.
    let dom = Domain::interval(-1.0, 1.0).unwrap();
    let w = |x: f64| if x < 0.0 { 4.0 } else { 1.0 };
    let (p, rep) = remez(
        |x: f64| x.max(0.0),
        w,
        &dom,
        8,
        Symmetry::None,
        &RemezConfig::default(),
        None,
    )
    .unwrap();
    assert!(rep.usable(), "{rep:?}");
    let grid = |lo: f64, hi: f64| (0..=5000).map(move |i| lo + (hi - lo) * i as f64 / 5000.0);
    let neg = grid(-1.0, 0.0)
        .map(|x| (x.max(0.0) - p.eval(x)).abs())
        .fold(0.0, f64::max);
    let pos = grid(0.0, 1.0)
        .map(|x| (x.max(0.0) - p.eval(x)).abs())
        .fold(0.0, f64::max);
    assert!(neg < 0.5 * pos, "neg {neg} pos {pos}");
    assert!((4.0 * neg).max(pos) <= rep.max_error * (1.0 + 1e-6));
}

#[test]
fn degree_63_converges_in_both_precisions() {
    // |x| at degree 62 (even) on [−1, 1] and sign at degree 63 (odd) on [0.05, 1].
    let cfg = RemezConfig::default();
    let abs_dom = Domain::interval(0.0, 1.0).unwrap();
    let (_, rep) = remez(|x: f64| x, one, &abs_dom, 62, Symmetry::Even, &cfg, None).unwrap();
    assert!(rep.converged, "{rep:?}");
    // Bernstein: E_n(|x|) · n → 0.2801…; at n = 62 the product is within 1% of it.
    assert!(
        (rep.max_error * 62.0 - 0.2801).abs() < 0.003,
        "{}",
        rep.max_error * 62.0
    );
    let sign_dom = Domain::interval(0.05, 1.0).unwrap();
    let (_, rep64) = remez(one, one, &sign_dom, 63, Symmetry::Odd, &cfg, None).unwrap();
    assert!(rep64.converged, "{rep64:?}");
    let (_, repdd) = remez(
        |_: DoubleDouble| DoubleDouble::from_f64(1.0),
        |_: DoubleDouble| DoubleDouble::from_f64(1.0),
        &sign_dom,
        63,
        Symmetry::Odd,
        &cfg,
        None,
    )
    .unwrap();
    assert!(repdd.converged, "{repdd:?}");
    assert!((repdd.max_error / rep64.max_error - 1.0).abs() < 1e-6);
}
