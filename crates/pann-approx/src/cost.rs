//! Cost of evaluating odd polynomials under CKKS: multiplicative depth and non-scalar multiplications.
//!
//! pann evaluates an odd polynomial `p(x) = Σ c_i x^(2i+1)` of degree `d` by an odd baby-step giant-step scheme
//! (after Lee et al., "High-precision bootstrapping …", 2020): with `t = ⌈log2(d+1)⌉` and a baby-step size `2^l`,
//! - powers of two `x^2, x^4, …, x^(2^(t−1))` by repeated squaring: `t − 1` products;
//! - odd baby steps `x^3, x^5, …, x^(2^l − 1)`, each `x^(2^j) · x^(n − 2^j)` with `2^j` the largest power of two below
//!   `n`, so `x^n` sits at depth `⌈log2(n+1)⌉`: `2^(l−1) − 1` products;
//! - the coefficients split into blocks of `2^l` consecutive powers (`x^(j·2^l) · q_j(x)`, each `q_j` odd of degree
//!   `< 2^l`, a scalar combination of baby steps), recombined by the recursion `p = q_lo + x^(2^s) · q_hi` on the
//!   largest power of two: one product per block but the first, `⌊d / 2^l⌋`.
//!
//! The scalars are folded into the plaintext constants of the leaves, so the whole evaluation has depth exactly
//! `⌈log2(d+1)⌉`, and pann uses the `l` with the fewest products. ReLU `x·(1+p(x))/2` costs one more product and
//! one more level.

/// Multiplicative depth of an odd polynomial of degree `d` (`⌈log2(d+1)⌉`).
pub fn depth(degree: usize) -> u32 {
    (usize::BITS - degree.leading_zeros()).max(1)
}

/// Non-scalar multiplications for `degree` with baby-step size `2^l`.
pub fn nonscalar_mults_with(degree: usize, l: u32) -> usize {
    let t = depth(degree);
    let l = l.clamp(1, t);
    (t as usize - 1) + ((1usize << (l - 1)) - 1) + (degree >> l)
}

/// The baby-step exponent `l` with the fewest non-scalar multiplications (smallest `l` on ties).
pub fn best_baby_step(degree: usize) -> u32 {
    (1..=depth(degree))
        .min_by_key(|&l| nonscalar_mults_with(degree, l))
        .unwrap_or(1)
}

/// Fewest non-scalar multiplications of the odd baby-step giant-step scheme for `degree`.
pub fn nonscalar_mults(degree: usize) -> usize {
    nonscalar_mults_with(degree, best_baby_step(degree))
}

/// Odd degrees `≤ max_degree` not dominated by a larger degree of no greater depth and no more multiplications;
/// a dominated degree can never be the better choice, because the minimax error decreases with the degree.
pub fn pareto_degrees(max_degree: usize) -> Vec<usize> {
    let odd: Vec<usize> = (3..=max_degree).step_by(2).collect();
    odd.iter()
        .copied()
        .filter(|&d| {
            !odd.iter()
                .any(|&e| e > d && depth(e) <= depth(d) && nonscalar_mults(e) <= nonscalar_mults(d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depths_follow_the_log_rule() {
        let expect = [
            (1, 1),
            (3, 2),
            (5, 3),
            (7, 3),
            (9, 4),
            (15, 4),
            (17, 5),
            (31, 5),
            (63, 6),
        ];
        for (d, t) in expect {
            assert_eq!(depth(d), t, "degree {d}");
        }
    }

    #[test]
    fn multiplication_counts_match_hand_counted_schedules() {
        // x²,x³ | x²,x³,x⁴ + 1 combine | x²,x³,x⁴,x⁸ + 3 combines (blocks of 4) | degree 31: x²…x¹⁶, x³,x⁵,x⁷, 3 combines.
        assert_eq!(nonscalar_mults(3), 2);
        assert_eq!(nonscalar_mults(7), 4);
        assert_eq!(nonscalar_mults(15), 7);
        assert_eq!(nonscalar_mults(31), 10);
        assert_eq!(pareto_degrees(31), vec![3, 7, 11, 15, 23, 31]);
    }
}
