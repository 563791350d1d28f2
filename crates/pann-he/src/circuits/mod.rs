//! Circuits on ciphertexts: polynomial evaluation at the depth of pann-approx's cost model (the only module
//! that imports pann-approx), the PANN ReLU, and the small CNN run end to end.

pub mod cnn;
pub mod model;
pub mod poly_eval;

pub use cnn::{EncryptedSlots, HeCnn, HeConv, PlainSlots, Slots};
pub use model::{Pass, SmallCnn};
pub use poly_eval::{eval_composite_sign, eval_odd_poly, eval_relu, eval_relu_doubled};
