//! The analyses of issue 5 on the bundled ResNet-20 and real CIFAR-10 test images: the ReLU-input profile and
//! the layer-wise precision search.

use pann_approx::CompositeSign;
use pann_data::{load_cifar10, Normalization, Split};
use pann_eval::depth::network_depth_per_site;
use pann_eval::layerwise::{evaluate_assignment, layerwise_search, AssignmentChecker, LayerwiseConfig};
use pann_eval::profile::{observe, summarize};
use pann_eval::range::calibrate;
use pann_eval::{Bounds, Silent};
use pann_nn::{evaluate_with_hook, Activations, Model, OverflowPolicy, SiteHook};
use tch::{Kind, Tensor};

fn setup(split: Split, n: usize) -> (Model, pann_data::Dataset) {
    let shared = pann_data::test_utils::shared_dir();
    let model = Model::load(&shared.join("models/resnet20-akamaster.safetensors")).unwrap();
    let data = load_cifar10(&shared.join("data/cifar-10-batches-bin"), split, Some(n)).unwrap();
    (model, data)
}

/// Counts, per site, inputs, negatives and negatives above `−t_i` with tensor ops: an independent reference for
/// the bit-pattern histograms.
struct DirectCount {
    thresholds: Vec<f64>,
    counts: Vec<(i64, i64, i64)>,
}

impl SiteHook for DirectCount {
    fn relu_input(&mut self, site: usize, _name: &str, x: &Tensor) -> pann_nn::Result<()> {
        if self.counts.len() <= site {
            self.counts.resize(site + 1, (0, 0, 0));
        }
        let t = self.thresholds[site];
        let neg = x.lt(0.0);
        let zone = neg.logical_and(&x.gt(-t));
        let c = &mut self.counts[site];
        c.0 += x.numel() as i64;
        c.1 += neg.sum(Kind::Int64).int64_value(&[]);
        c.2 += zone.sum(Kind::Int64).int64_value(&[]);
        Ok(())
    }
}

#[test]
fn profile_counts_match_a_direct_count_and_zones_shrink_with_alpha() {
    let (model, data) = setup(Split::Test, 100);
    let (_, calib) = setup(Split::Train, 300);
    let norm = Normalization::imagenet();
    let bounds = calibrate(&model, &calib, &norm, 100, 1.1, &mut Silent).unwrap();
    let Bounds::PerSite { relu, .. } = &bounds else {
        panic!("per-site bounds")
    };
    let signs: Vec<CompositeSign> = [6, 9, 12]
        .iter()
        .map(|&a| CompositeSign::for_alpha(a).unwrap())
        .collect();
    let eps: Vec<(u32, f64)> = signs.iter().map(|s| (s.alpha, s.certificate().epsilon)).collect();
    let obs = observe(&model, &data, &norm, 50, &mut Silent).unwrap();
    let p = summarize(&obs, &bounds, "calibrated", &eps).unwrap();
    assert_eq!(p.sites.len(), 19);
    assert_eq!(p.images, 100);

    // Independent count at α = 6's zone.
    let mut direct = DirectCount {
        thresholds: relu.iter().map(|b| eps[0].1 * b).collect(),
        counts: Vec::new(),
    };
    let report = evaluate_with_hook(&model, &data, &norm, 50, &Activations::exact_for(&model), &mut direct).unwrap();
    assert!((p.accuracy - report.accuracy()).abs() < 1e-12);
    for (s, &(n, neg, zone)) in p.sites.iter().zip(&direct.counts) {
        assert_eq!(s.elements, n as u64, "{}", s.site);
        assert!(
            (s.negative_fraction - neg as f64 / n as f64).abs() < 1e-12,
            "{}",
            s.site
        );
        // The zone count splits one 1/16-octave bin linearly: within that bin's share of the truth.
        let z = s.leak_zones[0].negative_fraction * n as f64;
        assert!(
            (z - zone as f64).abs() <= 0.05 * zone as f64 + 50.0,
            "{}: {z} vs {zone}",
            s.site
        );
        // Smaller ε, smaller zone; the negative part of a zone is part of it and of the negatives.
        for w in s.leak_zones.windows(2) {
            assert!(w[1].fraction <= w[0].fraction, "{}", s.site);
        }
        for z in &s.leak_zones {
            assert!(z.negative_fraction <= z.fraction + 1e-12 && z.negative_fraction <= s.negative_fraction + 1e-12);
        }
        assert!(s.abs_quantiles.windows(2).all(|q| q[0] <= q[1]) && s.abs_quantiles[3] <= s.max_abs * 1.0001);
        assert!((s.median_over_bound - s.abs_quantiles[0] / s.bound).abs() < 1e-12);
    }
    // Against a large global bound, more inputs are in the zone than against the tighter per-site bounds.
    let g = summarize(&obs, &Bounds::Global(50.0), "B=50", &eps).unwrap();
    assert!(g.leak_zones[0].negative_fraction >= p.leak_zones[0].negative_fraction);
    assert!(p.logit_margins.median > 0.0 && p.logit_margins.p10 <= p.logit_margins.median);
    assert!(summarize(
        &obs,
        &Bounds::PerSite {
            relu: vec![1.0; 3],
            pool: vec![]
        },
        "x",
        &eps
    )
    .is_err());
    assert!(summarize(&obs, &Bounds::Global(0.0), "zero", &eps).is_err());
    assert!(summarize(&obs, &Bounds::Global(f64::NAN), "nan", &eps).is_err());
}

#[test]
fn layerwise_search_stays_on_target_and_never_costs_more_than_uniform() {
    let (model, data) = setup(Split::Test, 200);
    let (_, calib) = setup(Split::Train, 1000);
    let norm = Normalization::imagenet();
    let bounds = calibrate(&model, &calib, &norm, 100, 1.1, &mut Silent).unwrap();
    let cfg = LayerwiseConfig {
        alphas: vec![10, 6, 7, 8, 9, 12, 11],
        tolerance: 0.02,
        bounds,
        overflow: OverflowPolicy::Count,
        batch: 100,
    };
    let r = layerwise_search(&model, &data, &norm, None, &cfg, &mut Silent).unwrap();
    assert!((r.target - (r.exact_accuracy - 0.02)).abs() < 1e-12);
    // The uniform α is the first of the scan that meets the target, and no earlier one does.
    let (last, earlier) = r.uniform_scan.split_last().unwrap();
    assert_eq!(last.0, r.uniform.alphas[0]);
    assert!(last.1 >= r.target && earlier.iter().all(|(_, a)| *a < r.target));
    assert!(r.uniform.alphas.iter().all(|&a| a == r.uniform.alphas[0]));
    // The descent only lowers, keeps the target, and its depth is the per-site formula.
    assert!(r.layerwise.accuracy >= r.target);
    assert!(r.layerwise.network_depth <= r.uniform.network_depth);
    assert!(r.layerwise.alphas.iter().zip(&r.uniform.alphas).all(|(l, u)| l <= u));
    let arch = model.architecture();
    assert_eq!(
        network_depth_per_site(arch, &r.layerwise.relu_depths, 0),
        r.layerwise.network_depth
    );
    for t in &r.trials {
        assert_eq!(t.accepted, t.accuracy >= r.target, "{t:?}");
        assert!(t.to < t.from);
    }
    let accepted = r.trials.iter().filter(|t| t.accepted).count();
    let lowered: usize = r
        .layerwise
        .alphas
        .iter()
        .zip(&r.uniform.alphas)
        .map(|(l, u)| {
            let idx = |a: &u32| [6, 7, 8, 9, 10, 11, 12].iter().position(|c| c == a).unwrap();
            idx(u) - idx(l)
        })
        .sum();
    assert_eq!(accepted, lowered, "every accepted trial is one step of one site");
    // Re-evaluating the assignment found reproduces the accuracy the search saw.
    let again = evaluate_assignment(&model, &data, &norm, None, &r.layerwise.alphas, &cfg, &mut Silent).unwrap();
    assert!((again.accuracy - r.layerwise.accuracy).abs() < 1e-12);
    assert_eq!(again.network_depth, r.layerwise.network_depth);
    // A checker prepared once gives the same results for both assignments, and refuses an α it did not prepare.
    let used: Vec<u32> = r.uniform.alphas.iter().chain(&r.layerwise.alphas).copied().collect();
    let checker = AssignmentChecker::new(&model, &norm, None, &used, &cfg, &mut Silent).unwrap();
    let lw = checker.evaluate(&data, &r.layerwise.alphas, &mut Silent).unwrap();
    let un = checker.evaluate(&data, &r.uniform.alphas, &mut Silent).unwrap();
    assert!((lw.accuracy - r.layerwise.accuracy).abs() < 1e-12);
    assert!((un.accuracy - r.uniform.accuracy).abs() < 1e-12);
    assert_eq!(un.network_depth, r.uniform.network_depth);
    let unprepared = (4..=14).find(|a| !used.contains(a)).unwrap();
    let err = checker
        .evaluate(&data, &vec![unprepared; r.layerwise.alphas.len()], &mut Silent)
        .unwrap_err();
    assert!(err.to_string().contains("not among the prepared candidates"), "{err}");
    // Bad arguments are errors, not panics.
    assert!(evaluate_assignment(&model, &data, &norm, None, &[8; 3], &cfg, &mut Silent).is_err());
    let bad = LayerwiseConfig {
        tolerance: 1.5,
        ..cfg.clone()
    };
    assert!(layerwise_search(&model, &data, &norm, None, &bad, &mut Silent).is_err());
    let none = LayerwiseConfig { alphas: vec![], ..cfg };
    assert!(layerwise_search(&model, &data, &norm, None, &none, &mut Silent).is_err());
}

#[test]
fn layerwise_leak_offsets_are_assembled_per_site() {
    // A mixed assignment (sites 0–9 at α = 7, the rest at α = 9) with the correction must equal the plan built by
    // hand: each site's composite with the offsets measured for *its* α, spliced from the two uniform measurements.
    let (model, data) = setup(Split::Test, 100);
    let (_, calib) = setup(Split::Train, 200);
    let norm = Normalization::imagenet();
    let bounds = calibrate(&model, &calib, &norm, 100, 1.1, &mut Silent).unwrap();
    let cfg = LayerwiseConfig {
        alphas: vec![7, 9],
        tolerance: 0.5,
        bounds: bounds.clone(),
        overflow: OverflowPolicy::Count,
        batch: 100,
    };
    let alphas: Vec<u32> = (0..19).map(|i| if i < 10 { 7 } else { 9 }).collect();
    let a = evaluate_assignment(&model, &data, &norm, Some(&calib), &alphas, &cfg, &mut Silent).unwrap();
    let (s7, s9) = (
        CompositeSign::for_alpha(7).unwrap(),
        CompositeSign::for_alpha(9).unwrap(),
    );
    let means = |s: &CompositeSign| {
        let acts =
            pann_eval::plan::plan(&model, &[s], &bounds, OverflowPolicy::Count, pann_eval::ReluShift::NONE).unwrap();
        pann_eval::leak_correction::leak_means(&model, &calib, &norm, &acts, 100, &mut Silent).unwrap()
    };
    let (m7, m9) = (means(&s7), means(&s9));
    let signs: Vec<&CompositeSign> = (0..19).map(|i| if i < 10 { &s7 } else { &s9 }).collect();
    let offsets: Vec<Vec<f64>> = (0..19)
        .map(|i| if i < 10 { m7[i].clone() } else { m9[i].clone() })
        .collect();
    assert_ne!(
        m7[12], m9[12],
        "the two α give different offsets, so a mix-up would show"
    );
    let mixed = pann_eval::plan::plan(
        &model,
        &signs,
        &bounds,
        OverflowPolicy::Count,
        pann_eval::ReluShift::NONE,
    )
    .unwrap();
    let by_hand = pann_nn::leak_meter::with_offsets(&mixed, &offsets).unwrap();
    let direct = pann_eval::run::run(&model, &data, &norm, &by_hand, 100, false, "", &mut Silent).unwrap();
    assert_eq!(a.alphas, alphas);
    assert!((a.accuracy - direct.accuracy()).abs() < 1e-12);
    // Swapping the offsets of the two α changes the network (the comparison above can fail).
    let swapped: Vec<Vec<f64>> = (0..19)
        .map(|i| if i < 10 { m9[i].clone() } else { m7[i].clone() })
        .collect();
    let wrong = pann_nn::leak_meter::with_offsets(&mixed, &swapped).unwrap();
    let out_right = pann_eval::run::run(&model, &data, &norm, &by_hand, 100, false, "", &mut Silent).unwrap();
    let out_wrong = pann_eval::run::run(&model, &data, &norm, &wrong, 100, false, "", &mut Silent).unwrap();
    assert!(out_right.stats.relu != out_wrong.stats.relu || out_right.correct != out_wrong.correct);
}
