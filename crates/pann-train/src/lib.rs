//! # pann-train
//!
//! Training of the CIFAR ResNets, VGGs and SmallCNN of [`pann_nn`] with recipes that suit PANNs, on CPU:
//! SGD with (Nesterov) momentum and weight decay that can spare BN and biases ([`sgd`]), step,
//! cosine and one-cycle schedules with warm-up ([`schedule`]), random crop and flip
//! ([`augment`]), label smoothing and mixup ([`mixup`]), and approximation-aware options:
//! training through the PANN ReLU of precision α (`pann_nn::train_activation`) at one global bound or at
//! per-site bounds fitted by `pann eval`'s rules ([`TrainConfig::pann_range`], refitted as the weights move),
//! with the mean-leak correction inside the loop, knowledge distillation from an exact teacher
//! ([`TrainConfig::distill`]), and noise that imitates the polynomial's error on negative inputs
//! ([`TrainConfig::neg_noise`]).
//!
//! A run lives in a directory and is checkpointed atomically after every epoch
//! ([`checkpoint`]); [`Trainer::resume`] continues a killed run bit-identically, because every
//! random draw derives from `(seed, epoch)` ([`loader`]). Batches are prepared on a background
//! thread while the previous one trains.
//!
//! ```no_run
//! use pann_train::{RunOptions, TrainConfig, Trainer};
//! # fn main() -> pann_train::Result<()> {
//! let cfg = TrainConfig { epochs: 2, train_images: Some(5000), ..TrainConfig::default() };
//! let opts = RunOptions {
//!     dir: "runs/demo".into(),
//!     data_dir: "../shared/data/cifar-10-batches-bin".into(),
//!     test_images: Some(1000),
//!     eval_batch: 500,
//!     eval_lee_layers: false,
//! };
//! let mut run = Trainer::new(cfg, opts)?;
//! run.run(&mut ())?;
//! println!("{:?}", run.records().last());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod augment;
pub mod bench;
pub mod branch;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod loader;
pub mod log;
pub mod loss;
pub mod memory;
pub mod mixup;
pub mod recalibrate;
pub mod schedule;
pub mod sgd;
pub mod step;
pub mod trainer;

pub use bench::{measure, Throughput};
pub use checkpoint::PannSites;
pub use config::{DatasetKind, PannRange, ScheduleKind, TrainConfig, WarmupShape};
pub use error::{Error, Result};
pub use log::EpochRecord;
pub use recalibrate::{recalibrate_on, RecalibrationInputs};
pub use trainer::{
    kept_checkpoint_file, snapshot_file, train_activation, BatchProgress, Observer, RunOptions, Trainer,
};
