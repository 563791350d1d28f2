//! The evaluation engine on the bundled ResNet-20 and real CIFAR-10 test images.

use pann_approx::CompositeSign;
use pann_data::{load_cifar10, Normalization, Split};
use pann_eval::plan::{plan, Bounds, ReluShift};
use pann_eval::range::{calibrate, lee_search, LeeSearch};
use pann_eval::run::run;
use pann_eval::{evaluate_pann, EvalConfig, RangeRule, Silent};
use pann_nn::{Model, OverflowPolicy};
use std::path::PathBuf;

fn shared() -> PathBuf {
    pann_data::test_utils::shared_dir()
}

fn setup(n: usize) -> (Model, pann_data::Dataset) {
    let model = Model::load(&shared().join("models/resnet20-akamaster.safetensors")).unwrap();
    let data = load_cifar10(&shared().join("data/cifar-10-batches-bin"), Split::Test, Some(n)).unwrap();
    (model, data)
}

#[test]
fn lee_search_finds_the_first_bound_without_overflow() {
    let (model, data) = setup(300);
    let norm = Normalization::imagenet();
    let sign = CompositeSign::for_alpha(7).unwrap();
    let r = lee_search(
        &model,
        &data,
        &norm,
        &sign,
        ReluShift::NONE,
        100,
        &LeeSearch::default(),
        None,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(r.outcome.evaluated, 300);
    assert_eq!(r.outcome.stats.total_overflows(), 0);
    // The plain definition, checked independently of the early-stopping search: no overflow at B on the whole
    // data, and an overflow at every smaller bound of the sequence 50, 55, ….
    let strict = plan(
        &model,
        &[&sign],
        &Bounds::Global(r.bound),
        OverflowPolicy::Error,
        ReluShift::NONE,
    )
    .unwrap();
    let full = run(&model, &data, &norm, &strict, 300, false, "", &mut Silent).unwrap();
    assert_eq!(full.correct, r.outcome.correct);
    let mut b = 50.0;
    while b < r.bound {
        let acts = plan(
            &model,
            &[&sign],
            &Bounds::Global(b),
            OverflowPolicy::Count,
            ReluShift::NONE,
        )
        .unwrap();
        let out = run(&model, &data, &norm, &acts, 300, false, "", &mut Silent).unwrap();
        assert!(
            out.stats.total_overflows() > 0,
            "B = {b} has no overflow but the search went past it"
        );
        b += 5.0;
    }
    assert_eq!(r.tried, ((r.bound - 50.0) / 5.0) as usize + 1);
}

#[test]
fn calibrated_bounds_cover_the_exact_network_and_keep_high_precision_accuracy() {
    let (model, data) = setup(200);
    let norm = Normalization::imagenet();
    let bounds = calibrate(&model, &data, &norm, 100, 1.1, &mut Silent).unwrap();
    let Bounds::PerSite { relu, .. } = &bounds else {
        panic!("per-site bounds expected")
    };
    assert_eq!(relu.len(), model.relu_sites().len());
    let sign = CompositeSign::for_alpha(14).unwrap();
    let acts = plan(&model, &[&sign], &bounds, OverflowPolicy::Error, ReluShift::NONE).unwrap();
    let pann = run(&model, &data, &norm, &acts, 100, false, "", &mut Silent).unwrap();
    let exact = run(
        &model,
        &data,
        &norm,
        &pann_nn::Activations::exact_for(&model),
        100,
        false,
        "",
        &mut Silent,
    )
    .unwrap();
    assert_eq!(pann.stats.total_overflows(), 0);
    assert!(
        (pann.correct as i64 - exact.correct as i64).abs() <= 2,
        "{} vs {}",
        pann.correct,
        exact.correct
    );
    assert!(calibrate(&model, &data, &norm, 100, 0.5, &mut Silent).is_err());
}

#[test]
fn sweep_reports_one_row_per_alpha_with_depths() {
    let (model, data) = setup(200);
    let cfg = EvalConfig {
        alphas: vec![6, 12],
        range: RangeRule::Fixed(60.0),
        overflow: OverflowPolicy::Count,
        batch: 100,
        relu_shift: ReluShift::NONE,
        leak_correction: false,
        leak_iterations: 1,
    };
    let s = evaluate_pann(
        &model,
        &data,
        &Normalization::imagenet(),
        None,
        &cfg,
        &mut Silent,
        &mut (),
    )
    .unwrap();
    assert_eq!(s.rows.len(), 2);
    assert!(s.exact.accuracy > 0.85);
    assert_eq!(s.rows[0].relu_depth, 6);
    assert_eq!(s.rows[1].network_depth, 19 * s.rows[1].relu_depth + 20);
    assert!(s.rows[1].accuracy >= s.rows[0].accuracy);
    let cal = EvalConfig {
        range: RangeRule::Calibrate { margin: 1.1 },
        ..cfg
    };
    assert!(evaluate_pann(
        &model,
        &data,
        &Normalization::imagenet(),
        None,
        &cal,
        &mut Silent,
        &mut ()
    )
    .is_err());
}

#[test]
fn plans_check_their_arguments() {
    let (model, _) = setup(1);
    let sign = CompositeSign::for_alpha(9).unwrap();
    assert!(plan(
        &model,
        &[&sign, &sign],
        &Bounds::Global(50.0),
        OverflowPolicy::Count,
        ReluShift::NONE
    )
    .is_err());
    assert!(plan(
        &model,
        &[&sign],
        &Bounds::Global(-1.0),
        OverflowPolicy::Count,
        ReluShift::NONE
    )
    .is_err());
    for bad in [
        ReluShift::Fixed(-0.1),
        ReluShift::Fixed(0.5),
        ReluShift::Fixed(f64::NAN),
    ]
    .into_iter()
    .chain([0.0, -0.5, 1.5, f64::NAN].map(ReluShift::Epsilon))
    {
        assert!(plan(&model, &[&sign], &Bounds::Global(50.0), OverflowPolicy::Count, bad).is_err());
    }
    // `Epsilon` puts each composite's own certified ε into every ReLU site.
    let shifted = plan(
        &model,
        &[&sign],
        &Bounds::Global(50.0),
        OverflowPolicy::Count,
        ReluShift::Epsilon(1.0),
    )
    .unwrap();
    let eps = sign.certificate().epsilon;
    assert!(eps > 0.0 && eps < 0.5);
    assert!(shifted
        .relu
        .iter()
        .all(|a| matches!(a, pann_nn::Activation::Poly(r) if r.shift == eps)));
    let per_site: Vec<&CompositeSign> = vec![&sign; model.relu_sites().len()];
    assert!(plan(
        &model,
        &per_site,
        &Bounds::Global(50.0),
        OverflowPolicy::Count,
        ReluShift::NONE
    )
    .is_ok());
    // α = 19's composite loses its precision in the power basis the kernels use: refused, not silently wrong.
    let s19 = CompositeSign::for_alpha(19).unwrap();
    assert!(s19.certificate.max_relu_error_power_basis > 2f64.powi(-19) * 1.001);
    let err = plan(
        &model,
        &[&s19],
        &Bounds::Global(50.0),
        OverflowPolicy::Count,
        ReluShift::NONE,
    )
    .unwrap_err();
    assert!(err.to_string().contains("power-basis"), "{err}");
}

#[test]
fn perturbation_sweep_covers_every_configuration_and_degrades_with_size() {
    let (model, data) = setup(100);
    let rows = pann_eval::perturb_sweep::perturbation_sweep(
        &model,
        &data,
        &Normalization::imagenet(),
        &[1e-4, 4.0],
        100,
        1,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(rows.len(), 3 * 2 * 2 * 2);
    let exact = run(
        &model,
        &data,
        &Normalization::imagenet(),
        &pann_nn::Activations::exact_for(&model),
        100,
        false,
        "",
        &mut Silent,
    )
    .unwrap()
    .accuracy();
    for pair in rows.chunks(2) {
        // A tiny perturbation changes almost nothing; a perturbation of 4 (or 4·|x|) can only do as well or worse.
        assert!((pair[0].accuracy - exact).abs() <= 0.01, "{:?} vs {exact}", pair[0]);
        assert!(pair[1].accuracy <= pair[0].accuracy + 0.01, "{pair:?}");
    }
}

/// Per site: the summed error of the uncorrected and of the corrected polynomial ReLU on the exact network's
/// inputs, and the number of inputs.
struct ErrorWatch<'a> {
    plain: &'a pann_nn::Activations,
    corrected: &'a pann_nn::Activations,
    sums: Vec<(f64, f64, u64)>,
}

impl pann_nn::SiteHook for ErrorWatch<'_> {
    fn relu_input(&mut self, site: usize, _name: &str, x: &tch::Tensor) -> pann_nn::Result<()> {
        let relu = x.relu();
        let err = |act: &pann_nn::Activation| -> f64 {
            let (y, _) = pann_nn::apply_relu(x, act).unwrap();
            (y.to_kind(tch::Kind::Double) - relu.to_kind(tch::Kind::Double))
                .sum(tch::Kind::Double)
                .double_value(&[])
        };
        let s = &mut self.sums[site];
        s.0 += err(&self.plain.relu[site]);
        s.1 += err(&self.corrected.relu[site]);
        s.2 += x.numel() as u64;
        Ok(())
    }
}

#[test]
fn leak_correction_zeroes_the_mean_error_on_the_calibration_inputs() {
    use pann_eval::leak_correction::leak_corrected;
    let (model, data) = setup(100);
    let norm = Normalization::imagenet();
    let bounds = calibrate(&model, &data, &norm, 50, 1.1, &mut Silent).unwrap();
    let sign = CompositeSign::for_alpha(6).unwrap();
    let plain = plan(&model, &[&sign], &bounds, OverflowPolicy::Count, ReluShift::NONE).unwrap();
    let (corrected, max) = leak_corrected(&model, &data, &norm, &plain, 50, &mut Silent).unwrap();
    assert!(max > 0.0);
    let mut watch = ErrorWatch {
        plain: &plain,
        corrected: &corrected,
        sums: vec![(0.0, 0.0, 0); model.relu_sites().len()],
    };
    let exact = pann_nn::Activations::exact_for(&model);
    pann_nn::evaluate_with_hook(&model, &data, &norm, 50, &exact, &mut watch).unwrap();
    for (site, &(before, after, n)) in watch.sums.iter().enumerate() {
        let (before, after) = (before / n as f64, after / n as f64);
        assert!(
            before < 0.0,
            "site {site}: mean error {before} should be a negative leak"
        );
        assert!(
            after.abs() < 1e-3 * before.abs(),
            "site {site}: mean error {before} → {after} after the correction"
        );
    }
}

#[test]
fn sweep_with_leak_correction_reports_the_largest_offset() {
    let (model, data) = setup(100);
    let norm = Normalization::imagenet();
    let base = EvalConfig {
        alphas: vec![9],
        range: RangeRule::Fixed(60.0),
        overflow: OverflowPolicy::Count,
        batch: 100,
        relu_shift: ReluShift::NONE,
        leak_correction: false,
        leak_iterations: 1,
    };
    let leak = EvalConfig {
        leak_correction: true,
        leak_iterations: 1,
        ..base.clone()
    };
    let plain = evaluate_pann(&model, &data, &norm, Some(&data), &base, &mut Silent, &mut ()).unwrap();
    assert_eq!(plain.rows[0].leak_correction_max, None);
    let fixed = evaluate_pann(&model, &data, &norm, Some(&data), &leak, &mut Silent, &mut ()).unwrap();
    let m = fixed.rows[0].leak_correction_max.unwrap();
    assert!(m > 0.0 && m < 1.0, "{m}");
    let lee = EvalConfig {
        range: RangeRule::Lee(LeeSearch::default()),
        ..leak.clone()
    };
    let l = evaluate_pann(&model, &data, &norm, Some(&data), &lee, &mut Silent, &mut ()).unwrap();
    assert!(l.rows[0].leak_correction_max.unwrap() > 0.0);
    assert_eq!(l.rows[0].overflows, 0);
    // No calibration images, or none at all: an error, not an uncorrected run.
    assert!(evaluate_pann(&model, &data, &norm, None, &leak, &mut Silent, &mut ()).is_err());
    let empty = pann_eval::run::reorder(&data, &[]);
    assert!(evaluate_pann(&model, &data, &norm, Some(&empty), &leak, &mut Silent, &mut ()).is_err());
}

#[test]
fn iterated_leak_correction_is_closer_to_zero_mean_on_the_approximate_networks_own_inputs() {
    use pann_eval::leak_correction::{leak_corrected_iterated, leak_means_under};
    let (model, data) = setup(100);
    let norm = Normalization::imagenet();
    let sign = CompositeSign::for_alpha(6).unwrap();
    let plain = plan(
        &model,
        &[&sign],
        &Bounds::Global(50.0),
        OverflowPolicy::Count,
        ReluShift::NONE,
    )
    .unwrap();
    // Σ over sites and channels of |E[e(x)] − o_c| on the inputs the corrected network itself produces.
    let residual = |acts: &pann_nn::Activations| -> f64 {
        let m = leak_means_under(&model, &data, &norm, acts, &plain, 50, &mut Silent).unwrap();
        acts.relu
            .iter()
            .zip(&m)
            .map(|(a, m)| match a {
                pann_nn::Activation::Poly(r) => r.offsets.iter().zip(m).map(|(o, m)| (m - o).abs()).sum::<f64>(),
                _ => 0.0,
            })
            .sum()
    };
    let (first, _) = leak_corrected_iterated(&model, &data, &norm, &plain, 50, 1, &mut Silent).unwrap();
    let (second, _) = leak_corrected_iterated(&model, &data, &norm, &plain, 50, 2, &mut Silent).unwrap();
    let (third, _) = leak_corrected_iterated(&model, &data, &norm, &plain, 50, 3, &mut Silent).unwrap();
    let (r1, r2, r3) = (residual(&first), residual(&second), residual(&third));
    // A fixed-point iteration with no promised rate: each pass must bring the offsets closer to the mean error
    // of the network they correct (seen here at α = 6, B = 50: 67 → 37 after three passes).
    assert!(
        r2 < r1 && r3 < r2,
        "residual mean error {r1}, {r2}, {r3} after one, two, three passes"
    );
    assert!(leak_corrected_iterated(&model, &data, &norm, &plain, 50, 0, &mut Silent).is_err());
}

/// `lee-layers` by its plain definition: full passes over all the data, no early stop, no jump; in each pass the
/// first site in forward order that saw any input outside its bound gets one step; until no site overflows.
fn lee_layers_brute_force(
    model: &Model,
    data: &pann_data::Dataset,
    norm: &Normalization,
    start: &[f64],
    sign: &CompositeSign,
    step: pann_eval::LayerStep,
) -> (Vec<f64>, usize) {
    let mut bounds = start.to_vec();
    for steps in 0.. {
        let b = Bounds::PerSite {
            relu: bounds.clone(),
            pool: vec![],
        };
        let acts = plan(model, &[sign], &b, OverflowPolicy::Count, ReluShift::NONE).unwrap();
        let out = run(model, data, norm, &acts, 1000, false, "", &mut Silent).unwrap();
        match out.stats.relu.iter().position(|s| s.overflows > 0) {
            None => return (bounds, steps),
            Some(i) => bounds[i] = step.next(bounds[i]),
        }
    }
    unreachable!()
}

#[test]
fn lee_layers_equals_the_plain_definition_and_has_no_overflow() {
    use pann_eval::range::lee_layers;
    use pann_eval::{LayerStep, LeeLayers};
    let (model, data) = setup(64);
    let norm = Normalization::imagenet();
    // Few calibration images: the test images leave the calibrated bounds, so the rule has work to do.
    let calib = load_cifar10(&shared().join("data/cifar-10-batches-bin"), Split::Train, Some(16)).unwrap();
    let start = calibrate(&model, &calib, &norm, 100, 1.0, &mut Silent).unwrap();
    let Bounds::PerSite { relu: start_relu, .. } = &start else {
        panic!("calibrated bounds are per site")
    };
    for (alpha, step) in [(6, LayerStep::Factor(1.1)), (9, LayerStep::Add(2.5))] {
        let sign = CompositeSign::for_alpha(alpha).unwrap();
        let rule = LeeLayers {
            margin: 1.0,
            step,
            ..LeeLayers::default()
        };
        let r = lee_layers(
            &model,
            &data,
            &norm,
            &start,
            &sign,
            ReluShift::NONE,
            1000,
            &rule,
            None,
            &mut Silent,
        )
        .unwrap();
        let (brute, steps) = lee_layers_brute_force(&model, &data, &norm, start_relu, &sign, step);
        let Bounds::PerSite { relu, .. } = &r.bounds else {
            panic!("per-site bounds")
        };
        assert_eq!(relu, &brute, "α = {alpha}, step {step}");
        // Not a trivial fixed point: several sites were raised, in fewer passes than single steps.
        let raised = relu.iter().zip(start_relu).filter(|(b, s)| b > s).count();
        assert!(raised >= 3, "α = {alpha}: only {raised} sites raised");
        assert!(
            r.passes < steps,
            "α = {alpha}: {} passes, {steps} single steps",
            r.passes
        );
        assert_eq!(r.outcome.stats.total_overflows(), 0);
        assert_eq!(r.outcome.evaluated, 64);
        // And the sweep reports it with zero overflows and where each site started.
        let cfg = EvalConfig {
            alphas: vec![alpha],
            range: RangeRule::LeeLayers(rule),
            overflow: OverflowPolicy::Count,
            batch: 1000,
            relu_shift: ReluShift::NONE,
            leak_correction: false,
            leak_iterations: 1,
        };
        let s = evaluate_pann(&model, &data, &norm, Some(&calib), &cfg, &mut Silent, &mut ()).unwrap();
        assert_eq!(s.rows[0].overflows, 0);
        assert_eq!(s.rows[0].bounds.as_ref(), Some(&brute));
        assert_eq!(s.rows[0].start_bounds.as_ref(), Some(start_relu));
        assert_eq!(s.rows[0].correct, r.outcome.correct);
    }
}
