//! Neural networks for PANN on libtorch (`tch`): CIFAR ResNets, VGGs and SmallCNN whose ReLU and
//! max-pool sites can each run exactly or as a polynomial approximation.
//!
//! * [`Model`]: an [`Architecture`] with its parameters under PyTorch state-dict names, loaded
//!   from and saved to safetensors ([`Model::load`] infers the architecture).
//! * [`Activations`]: one [`Activation`] per ReLU site and one [`PoolActivation`] per max-pool
//!   site; polynomials are [`PolyRelu`] and [`PolyMax`], evaluated by fused `f64` kernels.
//! * [`ForwardCtx`] runs a plan through [`Model::forward`] and accumulates [`ForwardStats`]
//!   (per-site input maxima and overflow counts); a [`SiteHook`] can watch every site.
//! * [`evaluate`]: accuracy and statistics over a [`pann_data::Dataset`].
//! * [`Model::set_channels_last`]: run the network in NHWC memory, faster on oneDNN; the ReLU
//!   kernels take either layout in place ([`tensor::is_channels_last`]), the polynomial
//!   max-pool an NCHW copy, and every site hands its output on in its input's layout.
//!
//! libtorch comes from `scripts/env.sh`; test binaries get its directory as rpath (build.rs).
//!
//! ```no_run
//! use pann_nn::{evaluate, Activations, Model};
//! use pann_data::{load_cifar10, Normalization, Split};
//! # fn main() -> anyhow::Result<()> {
//! let model = Model::load("../shared/models/resnet20-akamaster.safetensors".as_ref())?;
//! let test = load_cifar10("../shared/data/cifar-10-batches-bin".as_ref(), Split::Test, None)?;
//! let report = evaluate(&model, &test, &Normalization::imagenet(), 500, &Activations::exact_for(&model))?;
//! println!("{:.2}% ({} of {})", 100.0 * report.accuracy(), report.correct, report.total);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod accuracy;
pub mod activation;
pub mod averaging;
pub mod bn_recalibration;
pub mod error;
pub mod forward;
pub mod kernel;
pub mod leak_meter;
pub mod model_card;
pub mod models;
pub mod perturb;
pub mod poly;
pub mod stats;
pub mod tensor;
pub mod train_activation;
pub mod weights;

pub use accuracy::{evaluate, evaluate_with, evaluate_with_hook, BatchDone, EvalReport};
pub use activation::{Activation, Activations, PoolActivation};
pub use averaging::average_models;
pub use bn_recalibration::{recalibrate_batch_norm, Recalibration};
pub use error::{Error, Result};
pub use forward::{apply_max_pool, apply_relu, ForwardCtx, SiteHook};
pub use kernel::{
    kernel_isa, poly_relu_error_sums, poly_relu_planes, poly_relu_slice, set_kernel_isa_cap, ChannelErrorSums,
    KernelIsa,
};
pub use leak_meter::LeakMeter;
pub use model_card::{Mismatch, ModelCard};
pub use models::{Architecture, Model, Shortcut, BN_MOMENTUM};
pub use perturb::{Magnitude, Perturbation, Region, SignMode};
pub use poly::{OverflowPolicy, PolyMax, PolyRelu};
pub use stats::{ForwardStats, SiteStats};
pub use train_activation::{ChebyshevComponent, TrainActivation, TrainPoly, TrainRelu};
pub use weights::{infer_architecture, read_state_dict, StateDict};

/// The `tch` this crate is built on, so dependents use the very same version.
pub use tch;
