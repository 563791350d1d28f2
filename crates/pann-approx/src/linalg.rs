//! Dense linear solve for the Remez reference system (at most a few dozen unknowns).

use crate::real::Real;

/// Solves `A·x = b` in place by Gaussian elimination with partial pivoting; `a` is row-major `n×n`.
/// Returns `None` when a pivot vanishes (the reference points do not determine the polynomial).
pub fn solve<R: Real>(a: &mut [R], b: &mut [R], n: usize) -> Option<Vec<R>> {
    let zero = R::from_f64(0.0);
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| {
            a[i * n + col]
                .abs()
                .partial_cmp(&a[j * n + col].abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        })?;
        let p = a[pivot * n + col];
        if p.abs().partial_cmp(&zero) != Some(std::cmp::Ordering::Greater) || !p.is_finite() {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        for row in col + 1..n {
            let f = a[row * n + col] / p;
            if f == zero {
                continue;
            }
            for k in col..n {
                a[row * n + k] = a[row * n + k] - f * a[col * n + k];
            }
            b[row] = b[row] - f * b[col];
        }
    }
    let mut x = vec![zero; n];
    for row in (0..n).rev() {
        let mut s = b[row];
        for k in row + 1..n {
            s = s - a[row * n + k] * x[k];
        }
        x[row] = s / a[row * n + row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system_and_detects_singularity() {
        let mut a = vec![0.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0];
        let mut b = vec![5.0, 4.0, 7.0];
        let x = solve(&mut a, &mut b, 3).unwrap();
        for (v, e) in x.iter().zip([1.0, 2.0, 1.0].iter()) {
            assert!((v - e).abs() < 1e-12, "{x:?}");
        }
        let mut s = vec![1.0, 2.0, 2.0, 4.0];
        let mut c = vec![1.0, 2.0];
        assert!(solve(&mut s, &mut c, 2).is_none());
    }
}
