//! Damaged checkpoints and mismatched resumes fail with one clear message naming the file.

mod common;

use pann_train::checkpoint::CHECKPOINT_FILE;
use pann_train::{Error, TrainConfig, Trainer};

#[test]
fn corrupt_truncated_and_mismatched_resumes_are_clear_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = common::small(64, 2);
    Trainer::new(cfg.clone(), common::opts(dir.path()))?.run_epoch(&mut ())?;
    let ckpt = dir.path().join(CHECKPOINT_FILE);
    let good = std::fs::read(&ckpt)?;
    let name = ckpt.display().to_string();

    // Another architecture.
    let other = TrainConfig {
        arch: "resnet32".into(),
        ..cfg.clone()
    };
    let err = Trainer::resume(common::opts(dir.path()), Some(&other))
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(matches!(err, Error::ResumeMismatch { .. }), "{msg}");
    assert!(
        msg.contains(&name) && msg.contains("--arch") && msg.contains("resnet32"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");

    // A new run into a directory that holds one.
    let err = Trainer::new(cfg.clone(), common::opts(dir.path()))
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("--resume"), "{err}");

    // Truncated.
    let err = resume_err(dir.path(), &good[..good.len() / 2])?;
    assert!(matches!(err, Error::CorruptCheckpoint { .. }), "{err}");
    assert!(err.to_string().contains(&name), "{err}");

    // One byte of the weights altered.
    let mut bad = good.clone();
    let at = bad.len() - 100;
    bad[at] ^= 0x40;
    let err = resume_err(dir.path(), &bad)?;
    assert!(
        err.to_string().contains("checksum") && err.to_string().contains(&name),
        "{err}"
    );

    // Not a checkpoint at all.
    let err = resume_err(dir.path(), b"hello")?;
    assert!(matches!(err, Error::CorruptCheckpoint { .. }), "{err}");

    // The epoch count edited in the metadata: the weights' checksum still matches, the state's does not.
    let edited = replace_once(&good, br#"\"epochs_done\":1"#, br#"\"epochs_done\":0"#);
    let err = resume_err(dir.path(), &edited)?;
    assert!(
        err.to_string().contains("state checksum") && err.to_string().contains(&name),
        "{err}"
    );

    // A format-1 checkpoint (before the state had its own CRC) is still read.
    let old = replace_once(&edited, br#"\"format\":2"#, br#"\"format\":1"#);
    std::fs::write(&ckpt, &old)?;
    assert_eq!(Trainer::resume(common::opts(dir.path()), Some(&cfg))?.epochs_done(), 0);

    // Intact again: resumes.
    std::fs::write(&ckpt, &good)?;
    assert_eq!(Trainer::resume(common::opts(dir.path()), Some(&cfg))?.epochs_done(), 1);
    Ok(())
}

/// Writes `bytes` as the checkpoint of `dir` and returns the error that resuming from it must give.
fn resume_err(dir: &std::path::Path, bytes: &[u8]) -> anyhow::Result<Error> {
    std::fs::write(dir.join(CHECKPOINT_FILE), bytes)?;
    Ok(Trainer::resume(common::opts(dir), None)
        .err()
        .expect("resuming from a damaged checkpoint must fail"))
}

#[test]
fn bad_options_are_refused() {
    let cases: Vec<(TrainConfig, &str)> = vec![
        (
            TrainConfig {
                cutout: 33,
                ..TrainConfig::default()
            },
            "--cutout",
        ),
        (
            TrainConfig {
                batch: 1,
                ..TrainConfig::default()
            },
            "--batch",
        ),
        (
            TrainConfig {
                lr: -1.0,
                ..TrainConfig::default()
            },
            "--lr",
        ),
        (
            TrainConfig {
                arch: "resnet21".into(),
                ..TrainConfig::default()
            },
            "resnet21",
        ),
        (
            TrainConfig {
                neg_noise: 1.0,
                ..TrainConfig::default()
            },
            "--neg-noise",
        ),
        (
            TrainConfig {
                pann_alpha: Some(40),
                ..TrainConfig::default()
            },
            "40",
        ),
        (
            TrainConfig {
                momentum: 0.0,
                ..TrainConfig::default()
            },
            "--nesterov",
        ),
        (
            TrainConfig {
                milestones: vec![50],
                ..TrainConfig::default()
            },
            "--milestones",
        ),
        (
            TrainConfig {
                norm: "imagenett".into(),
                ..TrainConfig::default()
            },
            "imagenett",
        ),
        (
            TrainConfig {
                mixup_epochs: Some(5),
                ..TrainConfig::default()
            },
            "needs --mixup",
        ),
        (
            TrainConfig {
                mixup: 0.5,
                mixup_epochs: Some(0),
                ..TrainConfig::default()
            },
            "--mixup-epochs 0",
        ),
        (
            TrainConfig {
                mixup: 0.5,
                epochs: 30,
                mixup_epochs: Some(31),
                ..TrainConfig::default()
            },
            "--mixup-epochs 31",
        ),
    ];
    for (cfg, needle) in cases {
        let err = cfg.validate().expect_err(needle);
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

/// `bytes` with the one occurrence of `from` replaced by `to` (same length, so the safetensors
/// header stays well-formed).
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let hits: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{} found {} times",
        String::from_utf8_lossy(from),
        hits.len()
    );
    let mut out = bytes.to_vec();
    out[hits[0]..hits[0] + to.len()].copy_from_slice(to);
    out
}
