//! Circuits on ciphertexts: polynomial evaluation at the depth of pann-approx's cost model, the PANN ReLU, and
//! the small CNN run end to end.
//!
//! One module per job:
//! - [`poly_eval`]: polynomials and the PANN ReLU on ciphertexts;
//! - [`slots`]: the back ends a network program runs on — plaintext `f64` ([`PlainSlots`]) or CKKS
//!   ([`EncryptedSlots`]) — and their plaintext operand ([`Mask`]);
//! - [`conv`]: the convolution compiler (rotations and masks, baby-step giant-step);
//! - [`cnn`]: network assembly, the small CNN as one slot program ([`HeCnn`]);
//! - [`model`]: the plain `f64` network the program mirrors ([`SmallCnn`]); [`weights`]: reading it from
//!   safetensors;
//! - [`packing`]: the multiplexed layout of a ResNet's feature maps and the compiler of any linear map between
//!   two layouts; [`resnet`]: the ResNet program ([`HeResNet`]) over the `f64` ResNet of [`resnet_model`];
//! - [`planner`]: where to bootstrap; [`mirror`]: the level-tracking plaintext back end that checks a plan
//!   ([`MirrorSlots`]) and the bootstrapping one ([`BootstrappingSlots`]); [`rotations`]: rotations composed
//!   from a small key set ([`KeyedSlots`]).

pub mod cnn;
pub mod conv;
pub mod mirror;
pub mod model;
pub mod packing;
pub mod planner;
pub mod poly_eval;
pub mod resnet;
pub mod resnet_model;
pub mod rotations;
pub mod slots;
pub mod weights;

pub use cnn::HeCnn;
pub use conv::HeConv;
pub use mirror::{BootstrappingSlots, Leveled, MirrorSlots};
pub use model::{Pass, SmallCnn};
pub use packing::{Layout, LinearMap};
pub use planner::{Plan, SitePlan, Step};
pub use poly_eval::{eval_composite_sign, eval_odd_poly, eval_relu, eval_relu_doubled};
pub use resnet::{HeResNet, MirrorRun};
pub use resnet_model::{ResNet, Shortcut};
pub use rotations::{KeyedSlots, RotationKeys};
pub use slots::{EncryptedSlots, Mask, PlainSlots, Slots};
