//! Learning rate as a function of the step, so that a resumed run needs only its step count.
//!
//! With `s` the step (from 0), `T` the total steps, `W` the warm-up steps and `η` the peak LR:
//! * warm-up (every schedule, `s < W`): `η/25 + (η − η/25)·r` (one-cycle's start, PyTorch's
//!   `div_factor = 25`) with `r = s/W` (linear, the default) or `r = (1 − cos(π·s/W))/2` (cosine,
//!   PyTorch's `OneCycleLR` shape);
//! * step: `η·γ^m`, `m` = milestones at or before the current epoch;
//! * cosine: `η·(1 + cos(π·f))/2` with `f = (s − W)/(T − W)`;
//! * one-cycle: `η_min + (η − η_min)·(1 + cos(π·f))/2`, `η_min = η/25e4` (PyTorch's
//!   `OneCycleLR` with `anneal_strategy="cos"`, `final_div_factor = 1e4`; momentum is not
//!   cycled here).

use crate::config::{ScheduleKind, TrainConfig, WarmupShape};

/// A schedule resolved for a run's length.
#[derive(Debug, Clone, PartialEq)]
pub struct LrSchedule {
    kind: ScheduleKind,
    peak: f64,
    steps_per_epoch: usize,
    total: usize,
    warmup: usize,
    warmup_shape: WarmupShape,
    milestones: Vec<usize>,
    gamma: f64,
}

impl LrSchedule {
    /// The schedule of `cfg` for `steps_per_epoch` steps per epoch.
    pub fn new(cfg: &TrainConfig, steps_per_epoch: usize) -> Self {
        let milestones = if cfg.milestones.is_empty() {
            vec![cfg.epochs / 2, cfg.epochs * 3 / 4]
        } else {
            cfg.milestones.clone()
        };
        Self {
            kind: cfg.schedule,
            peak: cfg.lr,
            steps_per_epoch: steps_per_epoch.max(1),
            total: steps_per_epoch.max(1) * cfg.epochs,
            warmup: (cfg.warmup() * steps_per_epoch as f64).round() as usize,
            warmup_shape: cfg.warmup_shape,
            milestones,
            gamma: cfg.gamma,
        }
    }

    /// The LR of step `s` (counted from 0 over the whole run).
    pub fn lr(&self, s: usize) -> f64 {
        let start = self.peak / 25.0;
        if s < self.warmup {
            let t = s as f64 / self.warmup as f64;
            let r = match self.warmup_shape {
                WarmupShape::Linear => t,
                WarmupShape::Cosine => (1.0 - (std::f64::consts::PI * t).cos()) / 2.0,
            };
            return start + (self.peak - start) * r;
        }
        let f = (s - self.warmup) as f64 / (self.total - self.warmup).max(1) as f64;
        let cos = (1.0 + (std::f64::consts::PI * f.min(1.0)).cos()) / 2.0;
        match self.kind {
            ScheduleKind::Step => {
                let epoch = s / self.steps_per_epoch;
                let m = self.milestones.iter().filter(|&&m| m > 0 && m <= epoch).count();
                self.peak * self.gamma.powi(m as i32)
            }
            ScheduleKind::Cosine => self.peak * cos,
            ScheduleKind::OneCycle => {
                let low = self.peak / 25e4;
                low + (self.peak - low) * cos
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kind: ScheduleKind) -> TrainConfig {
        TrainConfig {
            schedule: kind,
            epochs: 10,
            lr: 0.1,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn one_cycle_warms_up_then_anneals() {
        let s = LrSchedule::new(&cfg(ScheduleKind::OneCycle), 100);
        assert!((s.lr(0) - 0.004).abs() < 1e-12);
        assert!((s.lr(300) - 0.1).abs() < 1e-12);
        assert!(s.lr(150) > s.lr(100) && s.lr(500) < s.lr(400));
        assert!(s.lr(999) < 1e-5);
    }

    #[test]
    fn cosine_warm_up_is_flat_at_both_ends_and_meets_the_linear_one_halfway() {
        let lin = LrSchedule::new(&cfg(ScheduleKind::OneCycle), 100);
        let cos = LrSchedule::new(
            &TrainConfig {
                warmup_shape: WarmupShape::Cosine,
                ..cfg(ScheduleKind::OneCycle)
            },
            100,
        );
        assert_eq!(cos.lr(0), lin.lr(0));
        assert!((cos.lr(150) - lin.lr(150)).abs() < 1e-12);
        // Below the line in the first half, above it in the second, the peak at the warm-up's end.
        assert!(cos.lr(30) < lin.lr(30) && cos.lr(270) > lin.lr(270));
        assert!((cos.lr(300) - 0.1).abs() < 1e-12);
        assert!(cos.lr(299) > 0.0999 && cos.lr(299) < 0.1);
        // The annealing after the warm-up is the same.
        assert_eq!(cos.lr(600), lin.lr(600));
    }

    #[test]
    fn configs_written_before_the_warm_up_shape_read_as_linear() {
        let mut json = serde_json::to_value(TrainConfig {
            warmup_shape: WarmupShape::Cosine,
            ..TrainConfig::default()
        })
        .unwrap();
        assert_eq!(json["warmup_shape"], "cosine");
        json.as_object_mut().unwrap().remove("warmup_shape");
        let old: TrainConfig = serde_json::from_value(json).unwrap();
        assert_eq!(old.warmup_shape, WarmupShape::Linear);
        assert_eq!("cos".parse::<WarmupShape>().unwrap(), WarmupShape::Cosine);
        assert!("sine".parse::<WarmupShape>().is_err());
    }

    #[test]
    fn step_drops_at_milestones() {
        let s = LrSchedule::new(&cfg(ScheduleKind::Step), 10);
        assert_eq!(s.lr(0), 0.1);
        assert!((s.lr(50) - 0.01).abs() < 1e-12);
        assert!((s.lr(75) - 0.001).abs() < 1e-12);
        let c = LrSchedule::new(&cfg(ScheduleKind::Cosine), 10);
        assert_eq!(c.lr(0), 0.1);
        assert!((c.lr(50) - 0.05).abs() < 1e-12);
    }
}
