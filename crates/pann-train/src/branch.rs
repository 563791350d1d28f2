//! Which config may continue a checkpoint as a new run (`pann train --branch`).
//!
//! An ablation that changes only what happens after epoch N (mixup off from epoch N, a longer step
//! schedule) shares its first N epochs with a finished run. Instead of retraining them, a branch
//! starts from that run's kept checkpoint of epoch N (`--keep-checkpoints`) with a new config. The
//! new run directory then holds one config for the whole history, so the branch is allowed only if
//! that config would have trained the first N epochs exactly as they were trained: every option
//! equal, except that the schedule and the mixup epochs may differ where they act after epoch N —
//! checked value by value (the learning rate of each of the first N epochs' steps, bit for bit,
//! and the mixup α of each of the first N epochs), not by comparing flags. Options that change no
//! weight (`--snapshots`, `--keep-checkpoints`) are free.

use crate::config::{ScheduleKind, TrainConfig, OUTPUT_ONLY};
use crate::schedule::LrSchedule;

/// The options whose effect is compared per step or per epoch instead of by value.
const PER_STEP: [&str; 9] = [
    "epochs",
    "schedule",
    "lr",
    "milestones",
    "gamma",
    "warmup_epochs",
    "warmup_shape",
    "mixup",
    "mixup_epochs",
];

/// A reason a branch is refused: the option (as `--flag` or a description), what it was in the
/// checkpoint's run, and what the branch asks for.
pub type Conflict = (String, String, String);

/// The first option that must be equal in `stored` and `requested` and is not (every option but
/// the schedule's, the mixup's and those that change no weight, [`OUTPUT_ONLY`]).
pub fn value_conflict(stored: &TrainConfig, requested: &TrainConfig) -> Option<Conflict> {
    let ignored: Vec<&str> = PER_STEP.iter().chain(&OUTPUT_ONLY).copied().collect();
    stored.first_difference_except(requested, &ignored)
}

/// Why `requested` cannot continue the first `epochs_done` epochs (of `steps_per_epoch` steps)
/// of `stored`: [`value_conflict`], then the mixup α of each of those epochs, then the learning
/// rate of each of their steps, bit for bit. `None`: it can. (That `requested` trains more epochs
/// than `epochs_done` is the caller's check.)
pub fn branch_conflict(
    stored: &TrainConfig,
    requested: &TrainConfig,
    epochs_done: usize,
    steps_per_epoch: usize,
) -> Option<Conflict> {
    if let Some(c) = value_conflict(stored, requested) {
        return Some(c);
    }
    if let Some(e) = (0..epochs_done).find(|&e| stored.mixup_at(e) != requested.mixup_at(e)) {
        return Some((
            "--mixup/--mixup-epochs".into(),
            format!("mixup {} in epoch {}", stored.mixup_at(e), e + 1),
            format!("mixup {}", requested.mixup_at(e)),
        ));
    }
    let (s, r) = (
        LrSchedule::new(stored, steps_per_epoch),
        LrSchedule::new(requested, steps_per_epoch),
    );
    let hint = if stored.milestones.is_empty() && stored.schedule == ScheduleKind::Step {
        format!(
            " (the default milestones move with --epochs: keep the run's with --milestones {},{})",
            stored.epochs / 2,
            stored.epochs * 3 / 4
        )
    } else {
        String::new()
    };
    (0..epochs_done * steps_per_epoch)
        .find(|&i| s.lr(i).to_bits() != r.lr(i).to_bits())
        .map(|i| {
            (
                "the learning-rate schedule (--epochs, --schedule, --lr, --milestones, --gamma, --warmup-epochs)"
                    .into(),
                format!("lr {:e} at step {} (epoch {})", s.lr(i), i, i / steps_per_epoch + 1),
                format!("lr {:e}{hint}", r.lr(i)),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TrainConfig {
        TrainConfig {
            epochs: 10,
            mixup: 0.5,
            schedule: ScheduleKind::Step,
            milestones: vec![5, 8],
            ..TrainConfig::default()
        }
    }

    #[test]
    fn mixup_ending_after_the_branch_point_is_allowed() {
        let later = TrainConfig {
            mixup_epochs: Some(6),
            ..base()
        };
        assert_eq!(branch_conflict(&base(), &later, 6, 50), None);
        let conflict = branch_conflict(&base(), &later, 7, 50).expect("epoch 7 was mixed");
        assert!(conflict.1.contains("epoch 7"), "{conflict:?}");
    }

    #[test]
    fn a_later_milestone_is_allowed_an_earlier_one_is_not() {
        let longer = TrainConfig {
            epochs: 20,
            milestones: vec![5, 15],
            ..base()
        };
        assert_eq!(branch_conflict(&base(), &longer, 8, 50), None);
        let conflict = branch_conflict(&base(), &longer, 9, 50).expect("epoch 9 had lr 0.001");
        assert!(
            conflict.0.contains("schedule") && conflict.1.contains("epoch 9"),
            "{conflict:?}"
        );
    }

    #[test]
    fn a_longer_one_cycle_changes_the_past_and_is_refused() {
        let stored = TrainConfig {
            schedule: ScheduleKind::OneCycle,
            ..base()
        };
        let longer = TrainConfig {
            epochs: 12,
            ..stored.clone()
        };
        assert!(branch_conflict(&stored, &longer, 4, 50).is_some());
    }

    #[test]
    fn a_warm_up_shape_matters_only_inside_the_warm_up() {
        let stored = TrainConfig {
            schedule: ScheduleKind::OneCycle,
            warmup_epochs: Some(2.0),
            ..base()
        };
        let cosine = TrainConfig {
            warmup_shape: crate::config::WarmupShape::Cosine,
            ..stored.clone()
        };
        assert!(branch_conflict(&stored, &cosine, 1, 50).is_some());
        // Without a warm-up the shape changes no learning rate, so the branch is allowed.
        let flat = TrainConfig {
            warmup_epochs: Some(0.0),
            ..stored.clone()
        };
        let flat_cosine = TrainConfig {
            warmup_shape: crate::config::WarmupShape::Cosine,
            ..flat.clone()
        };
        assert_eq!(branch_conflict(&flat, &flat_cosine, 3, 50), None);
    }

    #[test]
    fn weight_decay_and_seed_must_match_output_options_need_not() {
        let wd = TrainConfig { wd: 1e-4, ..base() };
        assert_eq!(branch_conflict(&base(), &wd, 3, 50).map(|c| c.0), Some("--wd".into()));
        let seed = TrainConfig { seed: 1, ..base() };
        assert_eq!(
            branch_conflict(&base(), &seed, 3, 50).map(|c| c.0),
            Some("--seed".into())
        );
        let outputs = TrainConfig {
            snapshots: true,
            keep_checkpoints: vec![4],
            ..base()
        };
        assert_eq!(branch_conflict(&base(), &outputs, 3, 50), None);
    }

    #[test]
    fn moving_default_milestones_are_refused_with_a_hint() {
        let stored = TrainConfig {
            milestones: Vec::new(),
            ..base()
        };
        let longer = TrainConfig {
            epochs: 20,
            ..stored.clone()
        };
        // Defaults 5 and 7 for 10 epochs, 10 and 15 for 20: epoch 6 differs.
        assert_eq!(branch_conflict(&stored, &longer, 5, 50), None);
        let conflict = branch_conflict(&stored, &longer, 6, 50).expect("epoch 6 differs");
        assert!(conflict.2.contains("--milestones 5,7"), "{conflict:?}");
    }
}
