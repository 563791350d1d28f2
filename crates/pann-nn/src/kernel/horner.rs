//! Horner's scheme on [`LANES`] values at once, the step every polynomial kernel shares.

use super::LANES;
use crate::poly::{Component, Composite};

/// `a·b + c`, fused (one rounding) in the FMA builds.
#[inline(always)]
pub(super) fn fmadd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Replaces every lane `t` by `p(t)`.
#[inline(always)]
pub(super) fn eval_lanes<const FMA: bool>(p: &Composite, t: &mut [f64; LANES]) {
    for c in &p.components {
        match c {
            Component::Odd(q) => {
                let (&last, rest) = q.split_last().expect("odd components are non-empty");
                let t2: [f64; LANES] = std::array::from_fn(|l| t[l] * t[l]);
                let mut acc = [last; LANES];
                for &a in rest.iter().rev() {
                    for l in 0..LANES {
                        acc[l] = fmadd::<FMA>(acc[l], t2[l], a);
                    }
                }
                for l in 0..LANES {
                    t[l] *= acc[l];
                }
            }
            Component::General(q) => {
                let (&last, rest) = q.split_last().expect("components are non-empty");
                let mut acc = [last; LANES];
                for &a in rest.iter().rev() {
                    for l in 0..LANES {
                        acc[l] = fmadd::<FMA>(acc[l], t[l], a);
                    }
                }
                *t = acc;
            }
        }
    }
}
