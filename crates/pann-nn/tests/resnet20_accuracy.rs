//! The bundled akamaster ResNet-20 must reproduce its published 91.73% on the CIFAR-10 test
//! set with exact ReLU and ImageNet normalisation; this checks loading, names, option-A
//! shortcuts, BN in inference mode and the exact ReLU kernel end to end.

use std::path::PathBuf;

use pann_data::{load_cifar10, Normalization, Split};
use pann_nn::{evaluate, Activations, Architecture, Model, Shortcut};

fn shared() -> PathBuf {
    pann_data::test_utils::shared_dir()
}

#[test]
fn resnet20_akamaster_scores_91_73() -> anyhow::Result<()> {
    let model = Model::load(&shared().join("models/resnet20-akamaster.safetensors"))?;
    assert_eq!(
        model.architecture(),
        Architecture::ResNet {
            depth: 20,
            shortcut: Shortcut::A,
            num_classes: 10
        }
    );
    assert_eq!(model.relu_sites().len(), 19);
    let test = load_cifar10(&shared().join("data/cifar-10-batches-bin"), Split::Test, None)?;
    let acts = Activations::exact_for(&model);
    let report = evaluate(&model, &test, &Normalization::imagenet(), 500, &acts)?;
    eprintln!(
        "resnet20 exact: {}/{} in {:.1} s ({:.0} img/s); max |x| per ReLU site: {:?}",
        report.correct,
        report.total,
        report.seconds,
        report.throughput(),
        report
            .stats
            .relu
            .iter()
            .map(|s| (s.max_abs * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    assert_eq!((report.correct, report.total), (9173, 10_000));
    assert_eq!(report.stats.total_overflows(), 0);
    assert!(report.stats.relu.iter().all(|s| s.elements > 0 && s.max_abs > 0.0));
    Ok(())
}
