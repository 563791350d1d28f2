//! # pann-approx
//!
//! Minimax polynomial approximations for polynomial approximations of neural networks (PANN): a multi-interval
//! Remez exchange ([`remez`]), Lee et al.'s composite minimax approximation of `sign(x)` of precision `2^-α`
//! ([`CompositeSign`]), and the ReLU and max built on it. Pure Rust; no neural-network or encryption dependency.
//!
//! ```
//! use pann_approx::CompositeSign;
//! let sign = CompositeSign::for_alpha(9).unwrap();
//! assert_eq!(sign.relu_depth(), sign.depth() + 1);
//! assert!(sign.certificate().max_relu_error <= 2f64.powi(-9));
//! let r = pann_approx::relu(&sign, 0.3, 1.0);
//! assert!((r - 0.3).abs() <= 2f64.powi(-9));
//! ```
#![warn(missing_docs)]

pub mod bsgs;
pub mod certify;
pub mod chebyshev;
pub mod composite;
pub mod cost;
pub mod domain;
pub mod double_double;
pub mod error;
mod golden;
mod linalg;
pub mod ops;
pub mod presets;
pub mod real;
pub mod remez;
pub mod search;
pub mod sign;
pub mod summary;

pub use certify::Certificate;
pub use chebyshev::Symmetry;
pub use domain::{Domain, Interval};
pub use double_double::DoubleDouble;
pub use error::{Error, Result};
pub use ops::{max2, max_pool, relu, MaxTree};
pub use real::{Precision, Real};
pub use remez::{remez, MinimaxPoly, RemezConfig, RemezReport};
pub use sign::CompositeSign;
pub use summary::ApproxSummary;

/// Smallest precision α (ReLU error `2^-α`) the composite construction supports.
pub const ALPHA_MIN: u32 = 4;
/// Largest precision α the composite construction supports.
pub const ALPHA_MAX: u32 = 20;
