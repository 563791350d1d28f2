//! Evaluation plans for odd polynomials under CKKS at the minimal depth `⌈log2(d+1)⌉`.
//!
//! Under CKKS every multiplication by a real constant consumes a level, like a ciphertext product. A plain
//! baby-step giant-step scheme with baby steps up to `x^(2^l − 1)` therefore evaluates its leaves
//! `Σ c_i x^i` one level deeper than the baby steps, and each leaf multiplied by the giant step `x^(2^l)` ends
//! one level deeper than `⌈log2(d+1)⌉`. A plan here is a tree that never exceeds that depth:
//!
//! - a **leaf** `Σ c_i x^i` (odd `i`, all below `2^l`) costs no product of its own; its depth is
//!   `depth(x^deg) + 1` (the constants), and 1 for the single term `c_1·x`;
//! - a **split** `q(x) = q_lo(x) + x^(2^s)·q_hi(x)`, with `q_lo` the odd terms below `2^s` and `q_hi` the
//!   others shifted down by `2^s` (again odd), costs one product; its depth is
//!   `max(depth(q_lo), max(s, depth(q_hi)) + 1)`.
//!
//! Powers: `x^(2^j)` by repeated squaring (depth `j`), odd baby steps `x^i = x^(2^j)·x^(i−2^j)` with `2^j` the
//! largest power of two below `i` (depth `⌈log2(i+1)⌉`). A dynamic programme over (degree, depth budget) finds
//! the plan with the fewest products for each baby-step size `l`, and [`OddPlan::new`] keeps the best `l`.
//! Plans treat every odd coefficient as non-zero (minimax polynomials have no zero odd coefficients).
//!
//! The encrypted evaluator in pann-he executes these plans, so the depth and the product count of the cost
//! model ([`crate::cost`]) are those of the real encrypted evaluation.

use std::collections::{BTreeSet, HashMap};

/// A node of a plan, over the odd exponents `offset + i` of the polynomial being evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanNode {
    /// `Σ c_i x^i` over the odd `i ≤ degree`, from stored powers.
    Leaf {
        /// Highest odd exponent of the leaf.
        degree: usize,
    },
    /// `lo + x^(2^s)·hi`.
    Split {
        /// The giant step exponent `s`.
        s: u32,
        /// Terms below `2^s` (degree `2^s − 1`).
        lo: Box<PlanNode>,
        /// Terms from `2^s` on, shifted down by `2^s`.
        hi: Box<PlanNode>,
    },
}

/// A complete plan: the tree, the baby steps and powers it needs, its depth and its non-scalar products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OddPlan {
    /// Degree of the polynomial (odd).
    pub degree: usize,
    /// Baby steps are the odd powers below `2^baby_log`.
    pub baby_log: u32,
    /// The evaluation tree.
    pub root: PlanNode,
    /// Odd powers `x^i`, `i ≥ 3`, the leaves read.
    pub baby_steps: Vec<usize>,
    /// Exponents `j` of the powers `x^(2^j)`, `j ≥ 1`, the plan needs (giant steps and baby-step factors).
    pub power_logs: Vec<u32>,
    /// Multiplicative depth (levels consumed).
    pub depth: u32,
    /// Non-scalar (ciphertext × ciphertext) products.
    pub products: usize,
}

/// `⌈log2(n+1)⌉`, the depth of an odd polynomial of degree `n`.
fn log_depth(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

/// Depth of `x^i` as computed here: `j` for `x^(2^j)`, `⌈log2(i+1)⌉` for odd `i ≥ 3`, 0 for `x`.
pub fn stored_power_depth(i: usize) -> u32 {
    if i <= 1 {
        0
    } else if i.is_power_of_two() {
        i.trailing_zeros()
    } else {
        log_depth(i)
    }
}

fn leaf_depth(degree: usize) -> u32 {
    stored_power_depth(degree) + 1
}

struct Planner {
    baby_limit: usize,
    memo: HashMap<(usize, u32), Option<(usize, PlanNode)>>,
}

impl Planner {
    /// Fewest split products for an odd polynomial of `degree` within `budget` levels.
    fn best(&mut self, degree: usize, budget: u32) -> Option<(usize, PlanNode)> {
        if let Some(r) = self.memo.get(&(degree, budget)) {
            return r.clone();
        }
        let mut best: Option<(usize, PlanNode)> = None;
        if (degree == 1 || degree < self.baby_limit) && leaf_depth(degree) <= budget {
            best = Some((0, PlanNode::Leaf { degree }));
        }
        let mut s = 1u32;
        while (1usize << s) < degree {
            if s < budget {
                let lo = self.best((1 << s) - 1, budget);
                let hi = self.best(degree - (1 << s), budget - 1);
                if let (Some((cl, nl)), Some((ch, nh))) = (lo, hi) {
                    let cost = 1 + cl + ch;
                    if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                        best = Some((
                            cost,
                            PlanNode::Split {
                                s,
                                lo: Box::new(nl),
                                hi: Box::new(nh),
                            },
                        ));
                    }
                }
            }
            s += 1;
        }
        self.memo.insert((degree, budget), best.clone());
        best
    }
}

fn collect(node: &PlanNode, babies: &mut BTreeSet<usize>, powers: &mut BTreeSet<u32>) {
    match node {
        PlanNode::Leaf { degree } => {
            for i in (3..=*degree).step_by(2) {
                babies.insert(i);
            }
        }
        PlanNode::Split { s, lo, hi } => {
            powers.insert(*s);
            collect(lo, babies, powers);
            collect(hi, babies, powers);
        }
    }
}

/// Depth of a node, recomputed from the tree (an independent check of the planner's budget logic).
pub fn node_depth(node: &PlanNode) -> u32 {
    match node {
        PlanNode::Leaf { degree } => leaf_depth(*degree),
        PlanNode::Split { s, lo, hi } => node_depth(lo).max(node_depth(hi).max(*s) + 1),
    }
}

impl OddPlan {
    /// The plan of fewest products at depth `⌈log2(d+1)⌉` for an odd `degree ≥ 1`.
    pub fn new(degree: usize) -> Self {
        assert!(degree % 2 == 1, "odd polynomials have odd degree");
        let depth = log_depth(degree);
        (1..=depth)
            .filter_map(|l| Self::with_baby_log(degree, l))
            .min_by_key(|p| (p.products, p.baby_log))
            .expect("baby_log = 1 always reaches the minimal depth")
    }

    /// The best plan with baby steps below `2^baby_log`, if one reaches the minimal depth.
    pub fn with_baby_log(degree: usize, baby_log: u32) -> Option<Self> {
        let depth = log_depth(degree);
        let mut planner = Planner {
            baby_limit: 1 << baby_log,
            memo: HashMap::new(),
        };
        let (splits, root) = planner.best(degree, depth)?;
        let mut babies = BTreeSet::new();
        let mut powers = BTreeSet::new();
        collect(&root, &mut babies, &mut powers);
        // Baby step x^i = x^(2^j)·x^(i−2^j): needs x^(2^j) and, recursively, x^(i−2^j).
        let mut all_babies = BTreeSet::new();
        let mut stack: Vec<usize> = babies.iter().copied().collect();
        while let Some(i) = stack.pop() {
            if i < 3 || !all_babies.insert(i) {
                continue;
            }
            let j = usize::BITS - 1 - i.leading_zeros();
            powers.insert(j);
            stack.push(i - (1 << j));
        }
        // x^(2^j) needs all lower squarings.
        if let Some(&top) = powers.iter().max() {
            powers.extend(1..=top);
        }
        let products = splits + all_babies.len() + powers.len();
        Some(Self {
            degree,
            baby_log,
            depth: node_depth(&root),
            root,
            baby_steps: all_babies.into_iter().collect(),
            power_logs: powers.into_iter().collect(),
            products,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_reach_the_minimal_depth_for_every_odd_degree() {
        for d in (1..=63).step_by(2) {
            let p = OddPlan::new(d);
            assert_eq!(p.depth, log_depth(d), "degree {d}");
            assert_eq!(node_depth(&p.root), p.depth);
            // Never worse than the all-splits plan with baby steps of size 2.
            let plain = OddPlan::with_baby_log(d, 1).unwrap();
            assert!(p.products <= plain.products);
            // … which itself is at most the textbook count of squarings plus one product per extra term
            // (degree 5 does better: x·(c₁ + x²·(c₃ + c₅x²)) needs only x²).
            assert!(plain.products <= (log_depth(d) as usize - 1) + d / 2, "degree {d}");
        }
    }

    #[test]
    fn hand_counted_plans() {
        // x², x·c₃ → x²·(c₃x): 2 products, depth 2.
        assert_eq!(OddPlan::new(3).products, 2);
        // Degree 7 at depth 3: x², x⁴ and three splits, or x³ instead of one split: 5 either way.
        assert_eq!(OddPlan::new(7).products, 5);
        let p = OddPlan::new(15);
        assert_eq!(p.depth, 4);
        assert!(p.products < 10, "{p:?}");
    }

    #[test]
    fn power_depths() {
        assert_eq!(stored_power_depth(1), 0);
        assert_eq!(stored_power_depth(2), 1);
        assert_eq!(stored_power_depth(3), 2);
        assert_eq!(stored_power_depth(4), 2);
        assert_eq!(stored_power_depth(5), 3);
        assert_eq!(stored_power_depth(8), 3);
        assert_eq!(stored_power_depth(9), 4);
    }
}
