//! `--keep-checkpoints` and `--branch`: a variant that differs from a run only after epoch N
//! starts from that run's kept epoch-N checkpoint and ends bit-identical to training the variant
//! from scratch; a variant that would have trained the first N epochs differently is refused.
//!
//! A test file of its own: training reseeds libtorch's global generator, so the training test
//! here must not run beside another file's.

mod common;

use pann_train::checkpoint::{load, CHECKPOINT_FILE};
use pann_train::{kept_checkpoint_file, Error, ScheduleKind, TrainConfig, Trainer};

/// Mixup in every epoch, a step schedule; epoch 2's checkpoint kept.
fn parent() -> TrainConfig {
    TrainConfig {
        mixup: 0.4,
        schedule: ScheduleKind::Step,
        milestones: vec![2],
        keep_checkpoints: vec![2],
        ..common::small(128, 3)
    }
}

/// The parent with mixup in the first 2 epochs only and one epoch more at the last lr.
fn variant() -> TrainConfig {
    TrainConfig {
        mixup_epochs: Some(2),
        epochs: 4,
        keep_checkpoints: Vec::new(),
        ..parent()
    }
}

#[test]
fn a_branch_ends_bit_identical_to_the_variant_trained_from_scratch() -> anyhow::Result<()> {
    let runs = tempfile::tempdir()?;
    let dir = |name: &str| runs.path().join(name);
    Trainer::new(parent(), common::opts(&dir("parent")))?.run(&mut ())?;
    let kept = dir("parent").join(kept_checkpoint_file(2));
    assert!(kept.exists(), "epoch 2's checkpoint was not kept");
    for epoch in [1, 3] {
        assert!(!dir("parent").join(kept_checkpoint_file(epoch)).exists());
    }
    assert_eq!(load(&kept)?.state.epochs_done, 2);
    refusals(&kept, runs.path())?;

    Trainer::new(variant(), common::opts(&dir("scratch")))?.run(&mut ())?;
    {
        let branched = Trainer::branch(&kept, variant(), common::opts(&dir("branch")))?;
        assert_eq!(branched.epochs_done(), 2);
        // Dropped before training: the directory alone must be a resumable run.
    }
    // A weight-affecting change is still refused on resume ...
    let wd = TrainConfig { wd: 0.0, ..variant() };
    let refused = Trainer::resume(common::opts(&dir("branch")), Some(&wd)).err();
    assert!(
        matches!(&refused, Some(Error::ResumeMismatch { field, .. }) if field == "--wd"),
        "{refused:?}"
    );
    // ... while kept checkpoints may be asked for on each resume, and add up (they change no weight).
    let keep = |epochs: Vec<usize>| TrainConfig {
        keep_checkpoints: epochs,
        ..variant()
    };
    Trainer::resume(common::opts(&dir("branch")), Some(&keep(vec![3])))?.run_epoch(&mut ())?;
    Trainer::resume(common::opts(&dir("branch")), Some(&keep(vec![4])))?.run(&mut ())?;
    for epoch in [3, 4] {
        assert!(
            dir("branch").join(kept_checkpoint_file(epoch)).exists(),
            "epoch {epoch} not kept"
        );
    }

    let (a, b, p) = (
        load(&dir("scratch").join(CHECKPOINT_FILE))?,
        load(&dir("branch").join(CHECKPOINT_FILE))?,
        load(&dir("parent").join(CHECKPOINT_FILE))?,
    );
    assert_eq!(b.state.config, keep(vec![3, 4]));
    assert_eq!((a.state.step, a.state.records.len()), (b.state.step, 4));
    for (kind, ours, theirs) in [("weight", &a.model, &b.model), ("momentum", &a.momentum, &b.momentum)] {
        assert_eq!(ours.len(), theirs.len());
        for (name, t) in ours {
            assert!(
                t.equal(&theirs[name]),
                "{kind} {name}: the branch differs from the variant trained from scratch"
            );
        }
    }
    for (x, y) in a.state.records.iter().zip(&b.state.records) {
        assert_eq!((x.train_loss, x.test_acc), (y.train_loss, y.test_acc));
    }
    // The variant really is a different run after epoch 2 (unmixed epoch 3).
    assert_eq!(p.state.records[..2], b.state.records[..2]);
    assert_ne!(p.state.records[2].train_loss, b.state.records[2].train_loss);
    Ok(())
}

/// Variants that would have trained the kept checkpoint's 2 epochs differently are refused with
/// the option named, and leave no directory behind. (Called from the training test: training in
/// a second test of this file would run beside it.)
fn refusals(kept: &std::path::Path, runs: &std::path::Path) -> anyhow::Result<()> {
    let cases = [
        (TrainConfig { wd: 0.0, ..variant() }, "--wd"),
        (TrainConfig { seed: 1, ..variant() }, "--seed"),
        // Epoch 2 trained at lr under milestone 2, would have trained at lr·γ under milestone 1.
        (
            TrainConfig {
                milestones: vec![1],
                ..variant()
            },
            "schedule",
        ),
        (
            TrainConfig {
                schedule: ScheduleKind::OneCycle,
                ..variant()
            },
            "schedule",
        ),
        (
            TrainConfig {
                mixup_epochs: Some(1),
                ..variant()
            },
            "--mixup",
        ),
        (
            TrainConfig {
                train_images: Some(96),
                ..variant()
            },
            "--train-images",
        ),
    ];
    for (i, (cfg, field)) in cases.into_iter().enumerate() {
        let out = runs.join(format!("refused{i}"));
        match Trainer::branch(kept, cfg, common::opts(&out)) {
            Err(e @ Error::BranchMismatch { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(field), "case {i}: {msg}");
                assert!(msg.contains(&kept.display().to_string()), "case {i}: {msg}");
            }
            Err(e) => panic!("case {i}: wrong error: {e}"),
            Ok(_) => panic!("case {i}: branch accepted"),
        }
        assert!(!out.exists(), "case {i}: a refused branch created {}", out.display());
    }
    let short = TrainConfig {
        epochs: 2,
        milestones: vec![1],
        ..variant()
    };
    match Trainer::branch(kept, short, common::opts(&runs.join("short"))) {
        Err(e @ Error::BranchTooShort { .. }) => assert!(e.to_string().contains("--epochs above that"), "{e}"),
        other => panic!("a branch without a new epoch: {:?}", other.err()),
    }
    let missing = kept.with_file_name(kept_checkpoint_file(7));
    let err = Trainer::branch(&missing, variant(), common::opts(&runs.join("m"))).err();
    let msg = err.expect("no such checkpoint").to_string();
    assert!(msg.contains("checkpoint-e007"), "{msg}");
    Ok(())
}

#[test]
fn keep_checkpoints_outside_the_run_is_a_config_error() {
    let cfg = TrainConfig {
        keep_checkpoints: vec![0],
        ..common::small(64, 2)
    };
    assert!(cfg.validate().unwrap_err().to_string().contains("--keep-checkpoints 0"));
    let cfg = TrainConfig {
        keep_checkpoints: vec![3],
        ..common::small(64, 2)
    };
    assert!(cfg.validate().unwrap_err().to_string().contains("--keep-checkpoints 3"));
}
