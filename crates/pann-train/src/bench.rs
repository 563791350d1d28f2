//! Training throughput: images per second of the real training step (augmentation and batch
//! preparation on the background thread included), for `pann train --bench`.

use std::sync::Arc;
use std::time::Instant;

use pann_data::{Dataset, Normalization};
use pann_nn::{Model, TrainActivation};
use serde::Serialize;

use crate::config::TrainConfig;
use crate::data::lookup_tables;
use crate::error::{Error, Result};
use crate::loader::{batches_per_epoch, EpochPlan, Prefetcher};
use crate::memory::peak_rss_mib;
use crate::schedule::LrSchedule;
use crate::sgd::Sgd;
use crate::step::train_step;

/// A throughput measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Architecture.
    pub arch: String,
    /// Images per batch.
    pub batch: usize,
    /// Timed steps (after the warm-up steps).
    pub steps: usize,
    /// Wall-clock seconds of the timed steps.
    pub seconds: f64,
    /// Images per second.
    pub images_per_sec: f64,
    /// Threads libtorch uses.
    pub threads: i32,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mib: Option<f64>,
}

/// Times `steps` training steps of `cfg` (its arch, batch, augmentation, mixup, activation) on
/// `data` after `warmup` untimed ones.
pub fn measure(cfg: &TrainConfig, data: Dataset, warmup: usize, steps: usize) -> Result<Throughput> {
    cfg.validate()?;
    let need = warmup + steps;
    if batches_per_epoch(data.n, cfg.batch) < need {
        return Err(Error::BadConfig(format!(
            "{} images give fewer than the {need} batches of {} the benchmark needs",
            data.n, cfg.batch
        )));
    }
    tch::manual_seed(cfg.seed as i64);
    let mut model = Model::new(cfg.architecture()?)?;
    model.set_bf16_training(cfg.bf16);
    let mut sgd = Sgd::new(model.var_store(), cfg.momentum, cfg.nesterov, cfg.wd, cfg.decay_bn_bias)?;
    let act: TrainActivation = crate::trainer::train_activation(cfg)?;
    let norm: Normalization = cfg.norm.parse()?;
    let shape = [data.channels as i64, data.height as i64, data.width as i64];
    let plan = EpochPlan {
        seed: cfg.seed,
        epoch: 0,
        batch: cfg.batch,
        augment: cfg.augment,
        cutout: cfg.cutout,
        mixup: cfg.mixup,
        smoothing: cfg.label_smoothing as f32,
        luts: lookup_tables(&norm, data.channels)?,
    };
    let schedule = LrSchedule::new(cfg, batches_per_epoch(data.n, cfg.batch));
    let mut loader = Prefetcher::start(Arc::new(data), plan);
    let mut start = Instant::now();
    for s in 0..need {
        if s == warmup {
            start = Instant::now();
        }
        let b = loader
            .next()
            .ok_or_else(|| Error::Pipeline("the batch thread ended early".into()))??;
        train_step(&model, &mut sgd, &act, &b, shape, schedule.lr(s))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Throughput {
        arch: cfg.arch.clone(),
        batch: cfg.batch,
        steps,
        seconds,
        images_per_sec: (steps * cfg.batch) as f64 / seconds,
        threads: tch::get_num_threads(),
        peak_rss_mib: peak_rss_mib(),
    })
}
