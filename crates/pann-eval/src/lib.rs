//! # pann-eval
//!
//! The PANN evaluation engine: "I have a trained CNN — what accuracy does it keep as a PANN at precision `2^-α`,
//! with which input range `B`, at what multiplicative depth?"
//!
//! - [`plan`]: polynomial activation plans from [`pann_approx`] composites, with global or per-site bounds;
//! - [`range`]: Lee et al.'s global-`B` search (exact decisions, early stop), per-site calibration, and Lee's rule
//!   per site from the calibrated bounds (`lee-layers`: no input of the approximate network outside its bound);
//! - [`rule`]: the six named rules of the analyses (Lee's B, calibrated bounds or Lee's rule per layer, with or without the correction);
//! - [`leak_correction`]: mean-leak correction, per-channel offsets that make each ReLU's error zero-mean on calibration data;
//! - [`run`]: batched inference with progress and overflow statistics;
//! - [`depth`]: depth of the whole network under CKKS;
//! - [`sweep`]: exact accuracy plus one row per α — what `pann eval` prints;
//! - [`perturb_sweep`]: accuracy under controlled perturbations of the ReLU outputs (`pann analyze perturb`);
//! - [`profile`]: what the ReLUs of the exact network see, relative to the bound (`pann analyze profile`);
//! - [`layerwise`]: a per-site α at the least total depth within a tolerance (`pann analyze layerwise`);
//! - [`headline`]: the headline table and the paper's claims checked on it (`pann analyze headline`).
#![warn(missing_docs)]

pub mod depth;
pub mod error;
pub mod headline;
pub mod layerwise;
pub mod leak_correction;
pub mod perturb_sweep;
pub mod plan;
pub mod profile;
pub mod range;
pub mod rule;
pub mod run;
pub mod sweep;

pub use error::{Error, Result};
pub use plan::{Bounds, ReluShift};
pub use range::{lee_layers, lee_layers_bounds, LayerStep, LeeLayers, LeeLayersResult, LeeResult, LeeSearch};
pub use rule::Rule;
pub use run::{Progress, Silent};
pub use sweep::{evaluate_pann, AlphaRow, EvalConfig, EvalSummary, ExactRow, RangeRule, RowSink};
