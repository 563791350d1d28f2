//! `evaluate` and `evaluate_with` on a small synthetic dataset.

use std::ops::ControlFlow;

use pann_data::{Dataset, Normalization};
use pann_nn::{
    evaluate, evaluate_with, Activation, Activations, ForwardCtx, Model, OverflowPolicy, PolyRelu, PoolActivation,
};

fn synthetic(n: usize) -> Dataset {
    Dataset {
        images: (0..n * 3 * 32 * 32).map(|i| (i * 7919 % 251) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        n,
        channels: 3,
        height: 32,
        width: 32,
        num_classes: 10,
    }
}

#[test]
fn evaluate_counts_every_image_and_batch_sizes_agree() -> anyhow::Result<()> {
    tch::manual_seed(5);
    let model = Model::new("resnet20".parse()?)?;
    let data = synthetic(23);
    let acts = Activations::exact_for(&model);
    let norm = Normalization::cifar();
    let a = evaluate(&model, &data, &norm, 5, &acts)?;
    let b = evaluate(&model, &data, &norm, 23, &acts)?;
    assert_eq!((a.total, a.stopped_after.clone()), (23, None));
    assert_eq!(a.correct, b.correct);
    assert_eq!(a.stats.relu[0].elements, 23 * 16 * 32 * 32);
    assert_eq!(a.stats.relu[5].max_abs, b.stats.relu[5].max_abs);
    assert!(evaluate(&model, &data, &norm, 0, &acts).is_err());
    Ok(())
}

#[test]
fn evaluate_with_stops_at_the_first_overflow() -> anyhow::Result<()> {
    let model = Model::new("resnet20".parse()?)?;
    let data = synthetic(20);
    let relu = Activation::Poly(PolyRelu {
        components: vec![vec![0.0, 1.5, 0.0, -0.5]],
        bound: 1e-3,
        overflow: OverflowPolicy::Count,
        shift: 0.0,
        offsets: Vec::new(),
    });
    let acts = Activations::uniform(model.relu_sites().len(), relu, 0, PoolActivation::Exact);
    let mut ctx = ForwardCtx::new(&model, &acts)?;
    let mut batches = 0;
    let report = evaluate_with(&model, &data, &Normalization::imagenet(), 8, &mut ctx, |done| {
        batches += 1;
        if done.stats.total_overflows() > 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    assert_eq!(batches, 1);
    assert_eq!((report.total, report.stopped_after), (8, Some(0..8)));
    assert!(report.stats.relu[0].overflows > 0);
    Ok(())
}

#[test]
fn a_model_with_another_class_count_than_the_data_is_refused() -> anyhow::Result<()> {
    let model = Model::new(pann_nn::Architecture::ResNet {
        depth: 20,
        shortcut: pann_nn::Shortcut::A,
        num_classes: 100,
    })?;
    let acts = Activations::exact_for(&model);
    let err = evaluate(&model, &synthetic(4), &Normalization::cifar(), 4, &acts).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("10 classes") && msg.contains("100 outputs"), "{msg}");
    Ok(())
}
