//! Intervals and unions of intervals on which an approximation is sought.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A closed interval `[lo, hi]` with `lo < hi`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Left end point.
    pub lo: f64,
    /// Right end point.
    pub hi: f64,
}

impl Interval {
    /// A checked interval: both ends finite and `lo < hi`.
    pub fn new(lo: f64, hi: f64) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite()) || lo >= hi {
            return Err(Error::InvalidDomain(format!(
                "[{lo}, {hi}] is not an interval with lo < hi"
            )));
        }
        Ok(Self { lo, hi })
    }

    /// `hi - lo`.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }
}

/// A union of disjoint closed intervals, sorted from left to right.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    intervals: Vec<Interval>,
}

impl Domain {
    /// A domain made of the given intervals, which must be disjoint; they are sorted here.
    pub fn new(mut intervals: Vec<Interval>) -> Result<Self> {
        if intervals.is_empty() {
            return Err(Error::InvalidDomain("the domain has no interval".into()));
        }
        intervals.sort_by(|a, b| a.lo.total_cmp(&b.lo));
        for w in intervals.windows(2) {
            if w[1].lo <= w[0].hi {
                return Err(Error::InvalidDomain(format!(
                    "intervals [{}, {}] and [{}, {}] overlap",
                    w[0].lo, w[0].hi, w[1].lo, w[1].hi
                )));
            }
        }
        Ok(Self { intervals })
    }

    /// The single interval `[lo, hi]`.
    pub fn interval(lo: f64, hi: f64) -> Result<Self> {
        Self::new(vec![Interval::new(lo, hi)?])
    }

    /// The intervals, left to right.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// Smallest and largest point.
    pub fn hull(&self) -> Interval {
        Interval {
            lo: self.intervals[0].lo,
            hi: self.intervals[self.intervals.len() - 1].hi,
        }
    }

    /// Largest absolute value of a point of the domain.
    pub fn max_abs(&self) -> f64 {
        let h = self.hull();
        h.lo.abs().max(h.hi.abs())
    }

    /// Total length of the intervals.
    pub fn measure(&self) -> f64 {
        self.intervals.iter().map(Interval::width).sum()
    }
}
