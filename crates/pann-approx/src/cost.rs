//! Cost of evaluating odd polynomials under CKKS: multiplicative depth and non-scalar multiplications.
//!
//! The depth of an odd polynomial of degree `d` is `t = ⌈log2(d+1)⌉`, and the product count is that of the
//! cheapest evaluation plan reaching that depth ([`crate::bsgs`]): baby-step giant-step trees in which a constant
//! multiplication is charged its level, as it is under CKKS. (A textbook count `(t−1) + (2^(l−1)−1) + ⌊d/2^l⌋`
//! that folds the constants for free undercounts: with `l ≥ 2` its leaves end one level deeper.) The encrypted
//! evaluator of pann-he runs these very plans. ReLU `x·(1+p(x))/2` costs one more product and one more level.

/// Multiplicative depth of an odd polynomial of degree `d` (`⌈log2(d+1)⌉`).
pub fn depth(degree: usize) -> u32 {
    (usize::BITS - degree.leading_zeros()).max(1)
}

/// Non-scalar multiplications of the cheapest plan at depth `⌈log2(d+1)⌉` ([`crate::bsgs::OddPlan`]);
/// tabulated once for every odd degree up to [`crate::composite::MAX_COMPONENT_DEGREE`].
pub fn nonscalar_mults(degree: usize) -> usize {
    static TABLE: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..=crate::composite::MAX_COMPONENT_DEGREE)
            .map(|d| {
                if d % 2 == 1 {
                    crate::bsgs::OddPlan::new(d).products
                } else {
                    0
                }
            })
            .collect()
    });
    match table.get(degree) {
        Some(&m) if degree % 2 == 1 => m,
        _ => crate::bsgs::OddPlan::new(degree | 1).products,
    }
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
    fn multiplication_counts_come_from_depth_optimal_plans() {
        // Degree 3: x², then x²·(c₃x). Degree 7 at depth 3: x², x⁴ and three splits.
        assert_eq!(nonscalar_mults(3), 2);
        assert_eq!(nonscalar_mults(7), 5);
        for d in (3..=31).step_by(2) {
            assert!(nonscalar_mults(d) <= (depth(d) as usize - 1) + d / 2, "degree {d}");
            assert!(nonscalar_mults(d) >= depth(d) as usize, "degree {d}");
        }
        // The Pareto front only holds degrees that no larger degree beats at equal depth and cost.
        let front = pareto_degrees(31);
        assert!(front.contains(&3) && front.contains(&7) && front.contains(&15) && front.contains(&31));
    }
}
