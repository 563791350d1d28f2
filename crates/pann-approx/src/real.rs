//! Working precision for the Remez exchange.
//!
//! The exchange only needs `+ − × ÷`, comparisons and conversion to and from `f64`, so it is written once over
//! [`Real`] and instantiated twice: `f64` (fast; enough whenever the minimax error is far above 1e-13, which is the
//! case for every sign/ReLU component pann builds for α ≤ 20) and [`DoubleDouble`](crate::double_double::DoubleDouble), with about 106 bits
//! of mantissa, for approximations whose error is too small for `f64` to resolve its equioscillation (smooth
//! functions at high degree, components that are far more precise than needed).

use crate::double_double::DoubleDouble;
use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A field of floating-point numbers the Remez exchange can run in.
pub trait Real:
    Copy
    + PartialOrd
    + Debug
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Unit round-off of the format, used to decide when an error is too small to be resolved.
    const UNIT_ROUNDOFF: f64;
    /// Exact conversion from `f64`.
    fn from_f64(x: f64) -> Self;
    /// Rounded conversion to `f64`.
    fn to_f64(self) -> f64;
    /// Absolute value.
    fn abs(self) -> Self {
        if self < Self::from_f64(0.0) {
            -self
        } else {
            self
        }
    }
    /// Whether the value is finite (not NaN or ±∞).
    fn is_finite(self) -> bool {
        self.to_f64().is_finite()
    }
}

impl Real for f64 {
    const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
}

impl Real for DoubleDouble {
    const UNIT_ROUNDOFF: f64 = 1.2e-32;
    fn from_f64(x: f64) -> Self {
        DoubleDouble::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        DoubleDouble::to_f64(self)
    }
}

/// Which working precision a Remez run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Precision {
    /// IEEE double (53-bit mantissa).
    #[default]
    Double,
    /// Double-double (about 106-bit mantissa).
    DoubleDouble,
}
