//! Double-double arithmetic: an unevaluated sum `hi + lo` of two `f64`, about 106 bits of mantissa.
//!
//! Written here rather than taken from a crate because the hot loop of the Remez exchange needs a `Copy` type with
//! correctly rounded-to-double-double `+ − × ÷`: `twofloat` 0.8.4 was measured to divide with a relative error of
//! 7e-18 (`(1/(0.3−2))·(0.3−2) − 1`), which is no better than `f64`, and arbitrary-precision crates allocate on every
//! operation. The algorithms are the classical error-free transformations of Dekker (1971) and Knuth (TAOCP vol. 2):
//! `two_sum`, Dekker's splitting product, and long division by two Newton-like correction steps.

use std::cmp::Ordering;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A double-double number `hi + lo` with `|lo| ≤ ulp(hi)/2`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DoubleDouble {
    /// Leading part (the nearest `f64`).
    pub hi: f64,
    /// Trailing part.
    pub lo: f64,
}

#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

#[inline]
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

#[inline]
fn split(a: f64) -> (f64, f64) {
    const SPLITTER: f64 = 134_217_729.0; // 2^27 + 1
    let c = SPLITTER * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

#[inline]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

impl DoubleDouble {
    /// The exact value of an `f64`.
    pub const fn from_f64(x: f64) -> Self {
        Self { hi: x, lo: 0.0 }
    }

    /// Rounded to the nearest `f64`.
    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    fn renorm(hi: f64, lo: f64) -> Self {
        let (hi, lo) = quick_two_sum(hi, lo);
        Self { hi, lo }
    }
}

impl Add for DoubleDouble {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        let (s, e) = two_sum(self.hi, o.hi);
        let (t, f) = two_sum(self.lo, o.lo);
        let (s, e) = quick_two_sum(s, e + t);
        Self::renorm(s, e + f)
    }
}

impl Neg for DoubleDouble {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl Sub for DoubleDouble {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        self + (-o)
    }
}

impl Mul for DoubleDouble {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        let (p, e) = two_prod(self.hi, o.hi);
        Self::renorm(p, e + (self.hi * o.lo + self.lo * o.hi))
    }
}

impl Div for DoubleDouble {
    type Output = Self;
    #[inline]
    fn div(self, o: Self) -> Self {
        let q1 = self.hi / o.hi;
        let r = self - o * Self::from_f64(q1);
        let q2 = r.hi / o.hi;
        let r = r - o * Self::from_f64(q2);
        let q3 = r.hi / o.hi;
        let (q1, q2) = quick_two_sum(q1, q2);
        Self { hi: q1, lo: q2 } + Self::from_f64(q3)
    }
}

impl PartialOrd for DoubleDouble {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        match self.hi.partial_cmp(&o.hi) {
            Some(Ordering::Equal) => self.lo.partial_cmp(&o.lo),
            c => c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dd(x: f64) -> DoubleDouble {
        DoubleDouble::from_f64(x)
    }

    #[test]
    fn division_is_accurate_to_double_double() {
        for &(a, b) in &[(1.0, 0.3 - 2.0), (1.0, 3.0), (7.0, 1e-9), (-2.5, 17.0)] {
            let q = dd(a) / dd(b);
            let back = q * dd(b) - dd(a);
            assert!(back.to_f64().abs() < 1e-30 * a.abs(), "{a}/{b}: residual {back:?}");
        }
    }

    #[test]
    fn sums_keep_what_f64_loses() {
        let x = dd(1.0) + dd(1e-20);
        assert_eq!((x - dd(1.0)).to_f64(), 1e-20);
        assert!(dd(1.0) + dd(1e-25) > dd(1.0));
        let third = dd(1.0) / dd(3.0);
        let r = third * dd(3.0) - dd(1.0);
        assert!(r.to_f64().abs() < 1e-31);
    }
}
