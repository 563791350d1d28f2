//! Approximation-aware fine-tuning (issue 28): through the polynomial at per-site bounds fitted by `pann eval`'s
//! rules, refitted as the weights move, with the mean-leak correction inside the loop and distillation from an
//! exact teacher. A fine-tune killed after an epoch and resumed ends bit-identical to one run straight through;
//! distillation with weight 0 is plain training, bit for bit; the per-site bounds are what the polynomial uses.

mod common;

use pann_approx::CompositeSign;
use pann_nn::{ChebyshevComponent, Model, TrainActivation, TrainPoly, TrainRelu};
use pann_train::checkpoint::{load, CHECKPOINT_FILE};
use pann_train::{PannRange, TrainConfig, Trainer};
use std::path::PathBuf;
use tch::Tensor;

fn akamaster() -> PathBuf {
    common::shared().join("models/resnet20-akamaster.safetensors")
}

/// A fine-tune of the bundled ResNet-20 at α = 9 on 128 images, everything of issue 28 on.
fn finetune(epochs: usize) -> TrainConfig {
    TrainConfig {
        init: Some(akamaster()),
        pann_alpha: Some(9),
        pann_range: PannRange::LeeLayers,
        calib_images: 64,
        refit_bounds_every: Some(1),
        pann_leak_correction: true,
        distill: Some(akamaster()),
        distill_weight: 0.5,
        temperature: 4.0,
        lr: 0.005,
        wd: 0.0,
        schedule: pann_train::ScheduleKind::Cosine,
        ..common::small(128, epochs)
    }
}

/// Every model and momentum tensor of two checkpoints is equal.
fn assert_same_checkpoints(a: &std::path::Path, b: &std::path::Path) -> anyhow::Result<()> {
    let (a, b) = (load(&a.join(CHECKPOINT_FILE))?, load(&b.join(CHECKPOINT_FILE))?);
    assert_eq!(a.state.step, b.state.step);
    assert_eq!((a.model.len(), a.momentum.len()), (b.model.len(), b.momentum.len()));
    for (name, t) in &a.model {
        assert!(t.equal(&b.model[name]), "weight {name} differs");
    }
    for (name, t) in &a.momentum {
        assert!(t.equal(&b.momentum[name]), "momentum {name} differs");
    }
    assert_eq!(a.state.pann_sites, b.state.pann_sites);
    for (x, y) in a.state.records.iter().zip(&b.state.records) {
        assert_eq!(x.train_loss, y.train_loss);
    }
    Ok(())
}

#[test]
fn finetune_resumed_after_a_kill_equals_one_run_straight_through() -> anyhow::Result<()> {
    let whole = tempfile::tempdir()?;
    Trainer::new(finetune(2), common::opts(whole.path()))?.run(&mut ())?;
    let parts = tempfile::tempdir()?;
    {
        let mut first = Trainer::new(finetune(2), common::opts(parts.path()))?;
        first.run_epoch(&mut ())?;
        // Dropped here, as if killed after the first checkpoint.
    }
    let mut rest = Trainer::resume(common::opts(parts.path()), Some(&finetune(2)))?;
    rest.run(&mut ())?;
    assert_same_checkpoints(whole.path(), parts.path())?;
    // The refit and the correction happened: per-site bounds and one offset per channel of every site.
    let s = load(&whole.path().join(CHECKPOINT_FILE))?.state.pann_sites.unwrap();
    assert_eq!((s.bounds.len(), s.offsets.len(), s.fitted_before_epoch), (19, 19, 1));
    assert!(s.offsets.iter().all(|o| !o.is_empty() && o.iter().any(|&m| m != 0.0)));
    Ok(())
}

#[test]
fn distillation_with_weight_zero_is_plain_training() -> anyhow::Result<()> {
    let plain = TrainConfig {
        distill: None,
        distill_weight: 0.0,
        pann_leak_correction: false,
        refit_bounds_every: None,
        pann_range: PannRange::Calibrate,
        ..finetune(1)
    };
    let zero = TrainConfig {
        distill: Some(akamaster()),
        ..plain.clone()
    };
    let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    Trainer::new(plain, common::opts(a.path()))?.run(&mut ())?;
    Trainer::new(zero.clone(), common::opts(b.path()))?.run(&mut ())?;
    assert_same_checkpoints(a.path(), b.path())?;
    // And a positive weight changes the weights: the teacher is really in the loss.
    let c = tempfile::tempdir()?;
    Trainer::new(
        TrainConfig {
            distill_weight: 0.5,
            ..zero
        },
        common::opts(c.path()),
    )?
    .run(&mut ())?;
    let (x, y) = (
        load(&a.path().join(CHECKPOINT_FILE))?,
        load(&c.path().join(CHECKPOINT_FILE))?,
    );
    assert!(x.model.iter().any(|(n, t)| !t.equal(&y.model[n])));
    Ok(())
}

#[test]
fn the_polynomial_trains_at_the_per_site_bounds() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = TrainConfig {
        pann_range: PannRange::Calibrate,
        distill: None,
        distill_weight: 0.0,
        pann_leak_correction: false,
        refit_bounds_every: None,
        ..finetune(1)
    };
    let mut run = Trainer::new(cfg, common::opts(dir.path()))?;
    run.run_epoch(&mut ())?;
    let bounds = run.pann_sites().unwrap().bounds.clone();
    // The calibrated bounds of the bundled model's 19 sites are 1.1 × each site's largest input: not one value.
    let max = bounds.iter().fold(0.0f64, |a, &b| a.max(b));
    assert_eq!(bounds.len(), 19);
    assert!(bounds.iter().filter(|&&b| b < 0.5 * max).count() >= 3, "{bounds:?}");
    let act = run.activation();
    let TrainRelu::Poly(p) = &act.relu else {
        panic!("polynomial")
    };
    assert_eq!(p.site_bounds, bounds);
    // The training forward pass with that activation is the one with each site at its own bound, and not
    // the one with a global bound (the largest, or the config's B = 50).
    let model = run.model();
    let xs = Tensor::randn([4, 3, 32, 32], (tch::Kind::Float, tch::Device::Cpu));
    let logits = |a: &TrainActivation| tch::no_grad(|| model.forward_t(&xs, a, false)).unwrap();
    let sign = CompositeSign::for_alpha(9)?;
    let manual = |site_bounds: Vec<f64>, bound: f64| TrainActivation {
        relu: TrainRelu::Poly(TrainPoly {
            components: sign
                .components
                .iter()
                .map(|c| ChebyshevComponent {
                    input_scale: c.chebyshev.input_scale,
                    coefficients: c.chebyshev.coefficients.clone(),
                })
                .collect(),
            bound,
            site_bounds,
            site_offsets: vec![],
        }),
        neg_noise_std: 0.0,
    };
    let ours = logits(&act);
    assert!(ours.equal(&logits(&manual(bounds.clone(), 50.0))));
    for global in [max, 50.0] {
        let other = logits(&manual(vec![], global));
        assert!(!ours.equal(&other), "same logits as the global bound {global}");
    }
    let _: &Model = model;
    Ok(())
}
