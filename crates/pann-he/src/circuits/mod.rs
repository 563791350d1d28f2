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
//!   safetensors.

pub mod cnn;
pub mod conv;
pub mod model;
pub mod poly_eval;
pub mod slots;
pub mod weights;

pub use cnn::HeCnn;
pub use conv::HeConv;
pub use model::{Pass, SmallCnn};
pub use poly_eval::{eval_composite_sign, eval_odd_poly, eval_relu, eval_relu_doubled};
pub use slots::{EncryptedSlots, Mask, PlainSlots, Slots};
