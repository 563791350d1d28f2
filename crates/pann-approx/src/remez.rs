//! Multi-interval Remez exchange for weighted minimax polynomial approximation.
//!
//! Finds `p` of degree `n` (with optional odd or even symmetry) minimising `max_{x∈D} w(x)·|f(x) − p(x)|` over a
//! union of intervals `D`. Each iteration solves the levelled-error system
//! `Σ_j c_j T_{k_j}(t_i) + (−1)^i E / w(x_i) = f(x_i)` on `m = #basis + 1` reference points, then moves the reference
//! to the local extrema of the error: every interval is sampled between the current reference points (which
//! concentrate where the error oscillates fastest), each sampled local maximum is refined by golden-section search,
//! same-sign neighbours are merged and the alternating set is trimmed at its ends to `m` points. It stops when the
//! largest error found exceeds the smallest reference error by less than `tolerance` (relative) — the
//! de la Vallée-Poussin bracket `|E| ≤ E* ≤ max|e|` then pins the optimal error to that precision.
//!
//! With [`Symmetry::Odd`] or [`Symmetry::Even`] the domain is the non-negative half of a symmetric domain; the
//! approximation on the mirrored half follows from the parity.

use crate::chebyshev::{self, Symmetry};
use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::golden::golden_max;
use crate::linalg;
use crate::real::Real;
use serde::{Deserialize, Serialize};

/// Largest degree the exchange accepts.
pub const MAX_DEGREE: usize = 255;

/// Tuning knobs of the exchange.
#[derive(Clone, Debug)]
pub struct RemezConfig {
    /// Iteration limit; reaching it is reported (`converged = false`), not an error.
    pub max_iterations: usize,
    /// Relative gap between the largest error and the levelled error at which the exchange stops.
    pub tolerance: f64,
    /// Samples of the error between two consecutive reference points when searching for extrema.
    pub samples_per_gap: usize,
    /// Golden-section steps that refine each local extremum.
    pub refine_steps: usize,
}

impl Default for RemezConfig {
    fn default() -> Self {
        Self {
            max_iterations: 80,
            tolerance: 1e-9,
            samples_per_gap: 8,
            refine_steps: 40,
        }
    }
}

/// How the exchange ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemezReport {
    /// The relative gap fell below the tolerance.
    pub converged: bool,
    /// The error is so small that the working precision cannot resolve its equioscillation: the polynomial is
    /// usable, its error is at round-off level.
    pub resolution_limited: bool,
    /// Iterations run.
    pub iterations: usize,
    /// `|E|`, the levelled error of the last reference (a lower bound of the minimax error).
    pub levelled_error: f64,
    /// Largest weighted error found on the domain (an upper bound of the minimax error).
    pub max_error: f64,
    /// The final reference points.
    pub reference: Vec<f64>,
}

impl RemezReport {
    /// The approximation is trustworthy: converged, or limited only by round-off.
    pub fn usable(&self) -> bool {
        self.converged || self.resolution_limited
    }
}

/// A polynomial from the exchange, in the Chebyshev basis of `t = (x − center) / half_width` and in the power basis
/// of `x`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MinimaxPoly {
    /// Parity.
    pub symmetry: Symmetry,
    /// Degree.
    pub degree: usize,
    /// Centre of the Chebyshev variable.
    pub center: f64,
    /// Half width of the Chebyshev variable.
    pub half_width: f64,
    /// Chebyshev coefficients for the indices of [`Symmetry::indices`].
    pub chebyshev: Vec<f64>,
    /// Power-basis coefficients in `x`, lowest degree first (`degree + 1` of them).
    pub power: Vec<f64>,
}

impl MinimaxPoly {
    /// Evaluates in the (well conditioned) Chebyshev form.
    pub fn eval(&self, x: f64) -> f64 {
        chebyshev::evaluate(self.symmetry, &self.chebyshev, (x - self.center) / self.half_width)
    }
}

/// Runs the exchange in working precision `R` for target `f` and weight `w` (use `|_| 1` for plain minimax).
///
/// `initial_reference` (sorted, inside the domain, `#basis + 1` points) warm-starts the exchange, e.g. from the
/// solution of a neighbouring problem; otherwise Chebyshev points are spread over the intervals.
pub fn remez<R, F, W>(
    f: F,
    w: W,
    domain: &Domain,
    degree: usize,
    symmetry: Symmetry,
    config: &RemezConfig,
    initial_reference: Option<&[f64]>,
) -> Result<(MinimaxPoly, RemezReport)>
where
    R: Real,
    F: Fn(R) -> R,
    W: Fn(R) -> R,
{
    validate(domain, degree, symmetry)?;
    let nb = symmetry.len(degree);
    let m = nb + 1;
    let (center, half_width) = match symmetry {
        Symmetry::None => {
            let h = domain.hull();
            ((h.lo + h.hi) / 2.0, (h.hi - h.lo) / 2.0)
        }
        _ => (0.0, domain.max_abs()),
    };
    let to_t = |x: f64| R::from_f64((x - center) / half_width);
    let error_at = |coeffs: &[R], x: f64| -> R {
        let xr = R::from_f64(x);
        w(xr) * (f(xr) - chebyshev::evaluate(symmetry, coeffs, to_t(x)))
    };

    let mut reference = match initial_reference {
        Some(r) if r.len() == m && is_valid_reference(r, domain) => r.to_vec(),
        _ => initial_reference_points(domain, m, symmetry != Symmetry::None),
    };
    let mut report = RemezReport {
        converged: false,
        resolution_limited: false,
        iterations: 0,
        levelled_error: f64::NAN,
        max_error: f64::NAN,
        reference: reference.clone(),
    };
    let mut best: Option<(Vec<R>, f64)> = None;
    let mut row = vec![R::from_f64(0.0); nb];
    let f_scale = reference
        .iter()
        .map(|&x| f(R::from_f64(x)).to_f64().abs())
        .fold(0.0, f64::max)
        .max(1e-300);
    let w_scale = reference
        .iter()
        .map(|&x| w(R::from_f64(x)).to_f64().abs())
        .fold(0.0, f64::max)
        .max(1e-300);

    for iter in 1..=config.max_iterations {
        report.iterations = iter;
        // Levelled-error system on the reference.
        let mut a = vec![R::from_f64(0.0); m * m];
        let mut b = vec![R::from_f64(0.0); m];
        for (i, &x) in reference.iter().enumerate() {
            chebyshev::basis_values(symmetry, to_t(x), &mut row);
            a[i * m..i * m + nb].copy_from_slice(&row);
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            let xr = R::from_f64(x);
            a[i * m + nb] = R::from_f64(sign) / w(xr);
            b[i] = f(xr);
        }
        let Some(sol) = linalg::solve(&mut a, &mut b, m) else {
            break;
        };
        let coeffs = sol[..nb].to_vec();
        let levelled = sol[nb].to_f64().abs();

        let extrema = local_extrema(&coeffs, domain, &reference, config, &error_at);
        let max_err = extrema.iter().map(|e| e.1.abs()).fold(0.0, f64::max);
        if best.as_ref().is_none_or(|(_, e)| max_err < *e) {
            best = Some((coeffs.clone(), max_err));
            report.levelled_error = levelled;
            report.max_error = max_err;
            report.reference = reference.clone();
        }
        // Round-off in evaluating f − p is about u·(|f| + Σ|c_j|); an error gap below a few hundred of those
        // cannot be closed in this precision.
        let coeff_mass: f64 = coeffs.iter().map(|c| c.to_f64().abs()).sum();
        let noise = 256.0 * R::UNIT_ROUNDOFF * (f_scale + coeff_mass) * w_scale;
        // A warm-start reference may sit far from the error's extrema, so that the sampling between its points
        // misses peaks; the gap is only trusted once the reference came from this problem's own error.
        let trusted = iter > 1 || initial_reference.is_none();
        if trusted && (max_err - levelled) / max_err < config.tolerance {
            report.converged = true;
            break;
        }
        if trusted && max_err - levelled <= noise {
            report.resolution_limited = true;
            break;
        }
        let next = exchange(&extrema, m).unwrap_or_else(|| single_exchange(&reference, &extrema, &coeffs, &error_at));
        reference = next.iter().map(|e| e.0).collect();
    }
    let (coeffs, _) = best.ok_or_else(|| Error::InvalidDomain("the reference system is singular".into()))?;
    let power = shifted_power_basis(symmetry, &coeffs, degree, center, half_width);
    let poly = MinimaxPoly {
        symmetry,
        degree,
        center,
        half_width,
        chebyshev: coeffs.iter().map(|c| c.to_f64()).collect(),
        power,
    };
    Ok((poly, report))
}

fn validate(domain: &Domain, degree: usize, symmetry: Symmetry) -> Result<()> {
    if degree > MAX_DEGREE {
        return Err(Error::InvalidDegree(format!(
            "{degree} exceeds the maximum {MAX_DEGREE}"
        )));
    }
    if !symmetry.admits(degree) {
        return Err(Error::InvalidDegree(format!(
            "{degree} does not have the parity of a {symmetry:?} polynomial"
        )));
    }
    if symmetry != Symmetry::None && domain.hull().lo < 0.0 {
        return Err(Error::InvalidDomain(
            "with odd or even symmetry give only the non-negative half of the domain".into(),
        ));
    }
    Ok(())
}

fn is_valid_reference(r: &[f64], domain: &Domain) -> bool {
    r.windows(2).all(|w| w[0] < w[1])
        && r.iter()
            .all(|&x| domain.intervals().iter().any(|i| x >= i.lo && x <= i.hi))
}

/// Chebyshev extrema spread over the intervals in proportion to their widths. For symmetric problems the points
/// are Chebyshev-spaced in `x²`, the natural variable of an odd (`x·q(x²)`) or even (`q(x²)`) polynomial.
fn initial_reference_points(domain: &Domain, m: usize, in_square: bool) -> Vec<f64> {
    let total = domain.measure();
    let ivs = domain.intervals();
    let mut counts: Vec<usize> = ivs
        .iter()
        .map(|i| ((i.width() / total) * m as f64).floor() as usize)
        .collect();
    let mut assigned: usize = counts.iter().sum();
    let mut k = 0;
    while assigned < m {
        counts[k % ivs.len()] += 1;
        assigned += 1;
        k += 1;
    }
    type Map = fn(f64) -> f64;
    let (fwd, back): (Map, Map) = if in_square {
        (|x| x * x, f64::sqrt)
    } else {
        (|x| x, |x| x)
    };
    let mut pts = Vec::with_capacity(m);
    for (iv, &c) in ivs.iter().zip(&counts) {
        let (lo, hi) = (fwd(iv.lo), fwd(iv.hi));
        match c {
            0 => {}
            1 => pts.push(back((lo + hi) / 2.0)),
            _ => {
                for i in 0..c {
                    let s = (1.0 - (std::f64::consts::PI * i as f64 / (c - 1) as f64).cos()) / 2.0;
                    pts.push(back(lo + (hi - lo) * s).clamp(iv.lo, iv.hi));
                }
            }
        }
    }
    pts
}

/// The classical single-point exchange, used when the multi-point exchange finds too few alternations (far from
/// the optimum): the point of largest error replaces the reference point next to it whose error has the same sign,
/// which keeps the signs alternating and strictly raises the levelled error.
fn single_exchange<R: Real>(
    reference: &[f64],
    extrema: &[(f64, f64)],
    coeffs: &[R],
    error_at: &impl Fn(&[R], f64) -> R,
) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = reference.iter().map(|&x| (x, error_at(coeffs, x).to_f64())).collect();
    let Some(&(xs, es)) = extrema.iter().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())) else {
        return pts;
    };
    if pts.iter().any(|p| p.0 == xs) {
        return pts;
    }
    let same = |e: f64| (e > 0.0) == (es > 0.0);
    let j = pts.partition_point(|p| p.0 < xs);
    if j == 0 {
        if same(pts[0].1) {
            pts[0] = (xs, es);
        } else {
            pts.insert(0, (xs, es));
            pts.pop();
        }
    } else if j == pts.len() {
        if same(pts[j - 1].1) {
            pts[j - 1] = (xs, es);
        } else {
            pts.push((xs, es));
            pts.remove(0);
        }
    } else if same(pts[j - 1].1) {
        pts[j - 1] = (xs, es);
    } else {
        pts[j] = (xs, es);
    }
    pts
}

/// Local extrema of the error `(x, e(x))`, left to right, over every interval.
fn local_extrema<R: Real>(
    coeffs: &[R],
    domain: &Domain,
    reference: &[f64],
    config: &RemezConfig,
    error_at: &impl Fn(&[R], f64) -> R,
) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for iv in domain.intervals() {
        let mut knots = vec![iv.lo];
        knots.extend(reference.iter().copied().filter(|&x| x > iv.lo && x < iv.hi));
        knots.push(iv.hi);
        let mut xs = Vec::with_capacity(knots.len() * config.samples_per_gap);
        for wnd in knots.windows(2) {
            for s in 0..config.samples_per_gap {
                xs.push(wnd[0] + (wnd[1] - wnd[0]) * s as f64 / config.samples_per_gap as f64);
            }
        }
        xs.push(iv.hi);
        let es: Vec<f64> = xs.iter().map(|&x| error_at(coeffs, x).to_f64()).collect();
        let n = xs.len();
        for j in 0..n {
            let a = es[j].abs();
            let left_ok = j == 0 || a >= es[j - 1].abs();
            let right_ok = j + 1 == n || a > es[j + 1].abs();
            if !(left_ok && right_ok) || a == 0.0 {
                continue;
            }
            if j == 0 || j + 1 == n {
                out.push((xs[j], es[j]));
            } else {
                let sign = es[j].signum();
                let (x, e) = golden_max(
                    &|x| sign * error_at(coeffs, x).to_f64(),
                    xs[j - 1],
                    xs[j + 1],
                    config.refine_steps,
                );
                let (x, e) = if e >= a { (x, sign * e) } else { (xs[j], es[j]) };
                out.push((x, e));
            }
        }
    }
    out
}

/// Chooses the next reference: merges same-sign neighbours (keeping the larger) and trims the ends to `m` points.
fn exchange(ext: &[(f64, f64)], m: usize) -> Option<Vec<(f64, f64)>> {
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(ext.len());
    for &e in ext {
        match merged.last_mut() {
            Some(last) if (last.1 > 0.0) == (e.1 > 0.0) => {
                if e.1.abs() > last.1.abs() {
                    *last = e;
                }
            }
            _ => merged.push(e),
        }
    }
    if merged.len() < m {
        return None;
    }
    let (mut lo, mut hi) = (0, merged.len());
    while hi - lo > m {
        if merged[lo].1.abs() < merged[hi - 1].1.abs() {
            lo += 1;
        } else {
            hi -= 1;
        }
    }
    Some(merged[lo..hi].to_vec())
}

/// Power-basis coefficients of `Σ c_j T_{k_j}((x − center)/half_width)` in `x`.
fn shifted_power_basis<R: Real>(
    symmetry: Symmetry,
    coeffs: &[R],
    degree: usize,
    center: f64,
    half_width: f64,
) -> Vec<f64> {
    if center == 0.0 {
        return chebyshev::to_power_basis(symmetry, coeffs, degree, half_width);
    }
    // Coefficients in t, then Horner substitution t = (x − center)/half_width in R.
    let in_t = chebyshev::to_power_basis(symmetry, coeffs, degree, 1.0);
    let zero = R::from_f64(0.0);
    let a = R::from_f64(1.0 / half_width);
    let b = R::from_f64(-center / half_width);
    let mut acc = vec![zero; degree + 1];
    for &c in in_t.iter().rev() {
        // acc ← acc·(a x + b) + c
        let mut next = vec![zero; degree + 1];
        for i in 0..degree {
            next[i + 1] = next[i + 1] + acc[i] * a;
            next[i] = next[i] + acc[i] * b;
        }
        next[degree] = next[degree] + acc[degree] * b;
        next[0] = next[0] + R::from_f64(c);
        acc = next;
    }
    acc.iter().map(|c| c.to_f64()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::double_double::DoubleDouble;

    fn one<R: Real>(_: R) -> R {
        R::from_f64(1.0)
    }

    #[test]
    fn abs_degree_two_is_x_squared_plus_one_eighth() {
        // Known answer (Chebfun's test): best degree-2 approximation of |x| on [−1,1] is x² + 1/8, error 1/8.
        let d = Domain::interval(0.0, 1.0).unwrap();
        let (p, rep) = remez(|x: f64| x, one, &d, 2, Symmetry::Even, &RemezConfig::default(), None).unwrap();
        assert!(rep.converged, "{rep:?}");
        assert!((rep.max_error - 0.125).abs() < 1e-12, "{rep:?}");
        assert!((p.power[0] - 0.125).abs() < 1e-12 && p.power[1].abs() < 1e-15 && (p.power[2] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn exp_matches_known_minimax_error_on_full_interval() {
        // Degree 1 minimax of e^x on [0,1]: slope e−1, error ((e−1)·ln(e−1) ... closed form below.
        let d = Domain::interval(0.0, 1.0).unwrap();
        let (p, rep) = remez(
            |x: f64| x.exp(),
            one,
            &d,
            1,
            Symmetry::None,
            &RemezConfig::default(),
            None,
        )
        .unwrap();
        let e = std::f64::consts::E;
        let slope = e - 1.0;
        let xi = slope.ln();
        let intercept = (e - slope * xi) / 2.0;
        let exact = (1.0 - intercept).abs();
        assert!((p.power[1] - slope).abs() < 1e-9);
        assert!((rep.max_error - exact).abs() < 1e-9, "{} vs {exact}", rep.max_error);
    }

    /// Chebyshev's closed form for the minimax error of `1/(x − a)`, `a > 1`, on `[−1, 1]` at degree `n`.
    fn pole_error(a: f64, n: i32) -> f64 {
        (a - (a * a - 1.0).sqrt()).powi(n) / (a * a - 1.0)
    }

    #[test]
    fn pole_function_matches_closed_form_in_f64() {
        let d = Domain::interval(-1.0, 1.0).unwrap();
        let (_, rep) = remez(
            |x: f64| 1.0 / (x - 2.0),
            one,
            &d,
            7,
            Symmetry::None,
            &RemezConfig::default(),
            None,
        )
        .unwrap();
        assert!(rep.converged);
        let exact = pole_error(2.0, 7);
        assert!(
            (rep.max_error / exact - 1.0).abs() < 1e-6,
            "{} vs {exact}",
            rep.max_error
        );
    }

    #[test]
    fn double_double_resolves_errors_below_f64_roundoff() {
        // At degree 40 the minimax error of 1/(x−2) is ≈ 5e-24: invisible in f64, equioscillating in double-double.
        let d = Domain::interval(-1.0, 1.0).unwrap();
        let cfg = RemezConfig {
            tolerance: 1e-6,
            ..Default::default()
        };
        let (_, rep64) = remez(|x: f64| 1.0 / (x - 2.0), one, &d, 40, Symmetry::None, &cfg, None).unwrap();
        assert!(rep64.resolution_limited && !rep64.converged, "{rep64:?}");
        let two = DoubleDouble::from_f64(2.0);
        let (_, rep) = remez(
            |x: DoubleDouble| DoubleDouble::from_f64(1.0) / (x - two),
            one,
            &d,
            40,
            Symmetry::None,
            &cfg,
            None,
        )
        .unwrap();
        assert!(rep.converged, "{rep:?}");
        let exact = pole_error(2.0, 40);
        assert!(
            (rep.max_error / exact - 1.0).abs() < 1e-4,
            "{} vs {exact}",
            rep.max_error
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        let d = Domain::interval(0.1, 1.0).unwrap();
        let cfg = RemezConfig::default();
        assert!(matches!(
            remez(|x: f64| x, one, &d, 4, Symmetry::Odd, &cfg, None),
            Err(Error::InvalidDegree(_))
        ));
        let neg = Domain::interval(-1.0, 1.0).unwrap();
        assert!(matches!(
            remez(|x: f64| x, one, &neg, 3, Symmetry::Odd, &cfg, None),
            Err(Error::InvalidDomain(_))
        ));
    }
}
