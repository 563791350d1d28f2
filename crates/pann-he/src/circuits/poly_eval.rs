//! Encrypted evaluation of odd polynomials by the depth-optimal plans of pann-approx ([`OddPlan`]), of the
//! composite sign `p_k ∘ … ∘ p_1`, and of the PANN ReLU.
//!
//! Scale management follows the target-scale method (as in Lattigo's polynomial evaluator): every node of a
//! plan is evaluated *to* a prescribed level and scale. A leaf `Σ c_i x^i` multiplies each power (dropped to the
//! level above the target) by the integer `round(c_i · T · q / Δ_i)`, so every term has scale `T·q` exactly, and
//! one rescale lands on `T`; a split `lo + x^(2^s)·hi` evaluates `hi` to the scale `T·q/Δ(x^(2^s))` so that the
//! product, after its rescale, has scale `T` too. Nothing is ever added at unequal scales, and the only errors
//! are the CKKS noise and the rounding of the constants (relative `2^-40` at scale `2^40`).

use pann_approx::bsgs::{OddPlan, PlanNode};
use pann_approx::CompositeSign;

use crate::ckks::{Ciphertext, Evaluator};
use crate::error::{Error, Result};

/// Powers of the input computed for one plan: `x^1`, the `x^(2^j)` and the odd baby steps.
struct Powers {
    /// `(exponent, ciphertext)`, unsorted; few entries.
    list: Vec<(usize, Ciphertext)>,
}

impl Powers {
    fn get(&self, i: usize) -> Result<&Ciphertext> {
        self.list
            .iter()
            .find(|(e, _)| *e == i)
            .map(|(_, c)| c)
            .ok_or_else(|| Error::Incompatible(format!("plan needs x^{i}, which was not computed")))
    }

    fn compute(eval: &Evaluator, x: &Ciphertext, plan: &OddPlan) -> Result<Self> {
        let mut powers = Self {
            list: vec![(1usize, x.clone())],
        };
        // x^(2^j) = (x^(2^(j−1)))², in increasing j (power_logs is sorted and gap-free).
        for &j in &plan.power_logs {
            let prev = powers.get(1 << (j - 1))?.clone();
            let sq = eval.mul_rescale(&prev, &prev)?;
            powers.list.push((1 << j, sq));
        }
        // Odd baby steps in increasing order: x^i = x^(2^j)·x^(i−2^j), the second factor already there.
        for &i in &plan.baby_steps {
            let j = usize::BITS - 1 - i.leading_zeros();
            let prod = eval.mul_rescale(powers.get(1 << j)?, powers.get(i - (1 << j))?)?;
            powers.list.push((i, prod));
        }
        Ok(powers)
    }
}

/// Evaluates `node` over the coefficients `coeffs[i]` of `x^i` (odd `i`) to exactly `level` and `scale`.
fn eval_node(
    eval: &Evaluator,
    powers: &Powers,
    node: &PlanNode,
    coeffs: &[f64],
    level: usize,
    scale: f64,
) -> Result<Ciphertext> {
    let q_above = eval.params().q()[level + 1] as f64;
    match node {
        PlanNode::Leaf { degree } => {
            let mut acc: Option<Ciphertext> = None;
            for i in (1..=*degree).step_by(2) {
                let c = coeffs.get(i).copied().unwrap_or(0.0);
                let xi = eval.at_level(powers.get(i)?, level + 1)?;
                let mut term = eval.mul_const(&xi, c, scale * q_above / xi.scale())?;
                term.set_scale(scale * q_above)?;
                match acc.as_mut() {
                    None => acc = Some(term),
                    Some(a) => eval.add_assign(a, &term)?,
                }
            }
            let mut out = acc.ok_or_else(|| Error::Incompatible("empty leaf".into()))?;
            eval.rescale_assign(&mut out)?;
            out.set_scale(scale)?;
            Ok(out)
        }
        PlanNode::Split { s, lo, hi } => {
            let shift = 1usize << s;
            let giant = eval.at_level(powers.get(shift)?, level + 1)?;
            let hi_coeffs: Vec<f64> = (0..coeffs.len().saturating_sub(shift))
                .map(|i| coeffs[i + shift])
                .collect();
            let hi_ct = eval_node(eval, powers, hi, &hi_coeffs, level + 1, scale * q_above / giant.scale())?;
            let mut prod = eval.mul(&hi_ct, &giant)?;
            prod.set_scale(scale * q_above)?;
            eval.rescale_assign(&mut prod)?;
            prod.set_scale(scale)?;
            let lo_coeffs: Vec<f64> = coeffs.iter().take(shift).copied().collect();
            let lo_ct = eval_node(eval, powers, lo, &lo_coeffs, level, scale)?;
            eval.add(&lo_ct, &prod)
        }
    }
}

/// `p(x)` for an odd polynomial with power-basis coefficients `coeffs` (lowest degree first), to `scale`;
/// consumes exactly `⌈log2(deg+1)⌉` levels.
pub fn eval_odd_poly(eval: &Evaluator, x: &Ciphertext, coeffs: &[f64], scale: f64) -> Result<Ciphertext> {
    let degree = coeffs.len().saturating_sub(1);
    if degree.is_multiple_of(2) {
        return Err(Error::Incompatible(format!(
            "an odd polynomial needs an odd degree, got {degree}"
        )));
    }
    let plan = OddPlan::new(degree);
    let depth = plan.depth as usize;
    if x.level() < depth {
        return Err(Error::LevelExhausted {
            op: "polynomial evaluation",
            needed: depth,
            level: x.level(),
        });
    }
    let powers = Powers::compute(eval, x, &plan)?;
    eval_node(eval, &powers, &plan.root, coeffs, x.level() - depth, scale)
}

/// The composite sign `p_k(… p_1(x))`; intermediate results at the default scale, the last at `scale`.
pub fn eval_composite_sign(eval: &Evaluator, x: &Ciphertext, sign: &CompositeSign, scale: f64) -> Result<Ciphertext> {
    let lists = sign.coefficient_lists();
    let mut y = x.clone();
    for (k, c) in lists.iter().enumerate() {
        let target = if k + 1 == lists.len() {
            scale
        } else {
            eval.params().default_scale()
        };
        y = eval_odd_poly(eval, &y, c, target)?;
    }
    Ok(y)
}

/// `y + y·p(y)` for `y = x/B` (every slot in `[−1, 1]`): twice `ReLU(x)/B` up to the approximation error, at
/// exactly the scale of `y`, `relu_depth` levels lower. Networks fold the factor 1/2 into the next linear layer,
/// which keeps every scale near `Δ`.
pub fn eval_relu_doubled(eval: &Evaluator, y: &Ciphertext, sign: &CompositeSign) -> Result<Ciphertext> {
    let depth = sign.relu_depth() as usize;
    if y.level() < depth {
        return Err(Error::LevelExhausted {
            op: "polynomial ReLU",
            needed: depth,
            level: y.level(),
        });
    }
    let p_level = y.level() - sign.depth() as usize;
    // p at scale q_(p_level), so that y·p(y) rescaled by that prime has exactly y's scale.
    let q = eval.params().q()[p_level] as f64;
    let p = eval_composite_sign(eval, y, sign, q)?;
    let y_low = eval.at_level(y, p_level)?;
    let mut prod = eval.mul(&y_low, &p)?;
    prod.set_scale(y.scale() * q)?;
    eval.rescale_assign(&mut prod)?;
    prod.set_scale(y.scale())?;
    eval.add(&prod, &y_low)
}

/// The PANN ReLU `(y + y·p(y))/2 ≈ ReLU(x)/B` for `y = x/B`; the halving is free (recorded in the scale, which
/// doubles).
pub fn eval_relu(eval: &Evaluator, y: &Ciphertext, sign: &CompositeSign) -> Result<Ciphertext> {
    let mut out = eval_relu_doubled(eval, y, sign)?;
    out.halve();
    Ok(out)
}

/// The Chebyshev interpolant of degree `degree` of `f` on `[−1, 1]`: `p(u) = Σ_k c_k T_k(u)` through the
/// `degree + 1` Chebyshev nodes `u_j = cos(π(j + ½)/(d+1))`, `c_k = (2 − δ_k0)/(d+1) · Σ_j f(u_j) T_k(u_j)`.
/// Near-minimax for smooth `f`: the error is within a small factor of the best uniform approximation.
pub fn chebyshev_interpolant(f: impl Fn(f64) -> f64, degree: usize) -> Vec<f64> {
    let m = degree + 1;
    let theta: Vec<f64> = (0..m)
        .map(|j| std::f64::consts::PI * (j as f64 + 0.5) / m as f64)
        .collect();
    let fv: Vec<f64> = theta.iter().map(|t| f(t.cos())).collect();
    (0..m)
        .map(|k| {
            let s: f64 = theta.iter().zip(&fv).map(|(t, y)| y * (k as f64 * t).cos()).sum();
            s * if k == 0 { 1.0 } else { 2.0 } / m as f64
        })
        .collect()
}

/// `Σ_k c_k T_k(u)` in plaintext (Clenshaw), the reference of the encrypted evaluation.
pub fn chebyshev_value(coeffs: &[f64], u: f64) -> f64 {
    let (mut b1, mut b2) = (0.0, 0.0);
    for &c in coeffs.iter().skip(1).rev() {
        let b0 = 2.0 * u * b1 - b2 + c;
        b2 = b1;
        b1 = b0;
    }
    u * b1 - b2 + coeffs.first().copied().unwrap_or(0.0)
}

/// A baby-step/giant-step plan for a polynomial in the Chebyshev basis (Paterson–Stockmeyer in the Chebyshev
/// basis, as in Han–Ki 2020 and Bossuat et al. 2021 Alg. 2), at the optimal depth `⌈log2(deg + 1)⌉`.
///
/// Baby steps `T_1 … T_(m−1)`, `m = 2^b ≈ √deg`, and the powers `T_(2^j)` are computed by
/// `T_(2^j) = 2·T_(2^(j−1))² − 1` and `T_i = 2·T_(2^k)·T_(i−2^k) − T_(2^(k+1)−i)` (`2^k < i < 2^(k+1)`), so
/// `T_i` sits `⌈log2 i⌉` levels down. A node with coefficients `c_0 … c_(len−1)` is either a leaf
/// `Σ c_i T_i` (each `T_i` times its constant, one rescale: depth `⌈log2(len−1)⌉ + 1`), or split at the largest
/// power of two `g < len`: `p = r + T_g·q` with `q = c_g + 2 Σ_(i≥1) c_(g+i) T_i` and
/// `r = Σ_(k<g) c_k T_k − Σ_(i≥1) c_(g+i) T_(g−i)` (from `2 T_a T_b = T_(a+b) + T_|a−b|`), costing
/// `max(depth(q) + 1, log2 g + 1, depth(r))`.
///
/// Each node gets a level budget: a leaf where it fits, a split otherwise. The top chain of `q`'s thereby splits
/// down to degree-1 leaves `c_0 + c_1·x` (depth 1, the constant folded into `x`, which sits at depth 0), while
/// the `r` branches, which have one level of slack, keep large leaves. [`ChebyshevPlan::depth`] is the cost
/// model the tests hold the evaluation to. Scales follow the target-scale method of [`eval_odd_poly`]: every
/// node lands exactly on the level and scale its parent asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChebyshevPlan {
    /// Degree of the polynomial.
    pub degree: usize,
    /// `log2` of the baby-step count `m`.
    pub baby_log: u32,
    /// Levels consumed.
    depth: usize,
    root: ChebNode,
}

/// A node of a [`ChebyshevPlan`]: `len` coefficients.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ChebNode {
    Leaf {
        len: usize,
    },
    Split {
        g: usize,
        q: Box<ChebNode>,
        r: Box<ChebNode>,
    },
}

impl ChebyshevPlan {
    /// The plan for `degree` with `m ≈ √(deg+1)` baby steps (a power of two), at the smallest depth it fits.
    pub fn new(degree: usize) -> Self {
        let l = usize::BITS - degree.max(1).leading_zeros();
        let baby_log = l.div_ceil(2).max(1);
        let m = 1usize << baby_log;
        let len = degree + 1;
        let (depth, root) = (ceil_log2(len)..)
            .find_map(|budget| Self::node(len, budget, m).map(|n| (budget, n)))
            .expect("a budget of ⌈log2 len⌉ + 1 always fits");
        Self {
            degree,
            baby_log,
            depth,
            root,
        }
    }

    fn node(len: usize, budget: usize, m: usize) -> Option<ChebNode> {
        let leaf_depth = if len <= 1 { 0 } else { ceil_log2(len - 1) + 1 };
        if len <= 1 || (len <= m && leaf_depth <= budget) {
            return (leaf_depth <= budget).then_some(ChebNode::Leaf { len });
        }
        let j = floor_log2(len - 1);
        let g = 1usize << j;
        if j + 1 > budget || budget == 0 {
            return None;
        }
        let q = Self::node(len - g, budget - 1, m)?;
        let r = Self::node(g, budget, m)?;
        Some(ChebNode::Split {
            g,
            q: Box::new(q),
            r: Box::new(r),
        })
    }

    /// Levels the evaluation consumes: `⌈log2(deg + 1)⌉`.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Ciphertext–ciphertext products of the evaluation (the dominant cost): one per computed `T_i`, `i ≥ 2`,
    /// and one per split.
    pub fn products(&self) -> usize {
        self.basis_indices().len() + Self::splits(&self.root)
    }

    fn splits(n: &ChebNode) -> usize {
        match n {
            ChebNode::Leaf { .. } => 0,
            ChebNode::Split { q, r, .. } => 1 + Self::splits(q) + Self::splits(r),
        }
    }

    /// The `T_i`, `i ≥ 2`, the plan uses, in the order they are computed.
    fn basis_indices(&self) -> Vec<usize> {
        fn walk(n: &ChebNode, out: &mut Vec<usize>) {
            match n {
                ChebNode::Leaf { len } => out.extend(2..*len),
                ChebNode::Split { g, q, r } => {
                    out.push(*g);
                    walk(q, out);
                    walk(r, out);
                }
            }
        }
        let mut want = Vec::new();
        walk(&self.root, &mut want);
        // Every T_i needs its factors: T_(2^k), T_(i−2^k), T_(2^(k+1)−i), down to T_1.
        let mut i = 0;
        while i < want.len() {
            let t = want[i];
            if t >= 2 {
                if t.is_power_of_two() {
                    want.push(t / 2);
                } else {
                    let k = 1usize << floor_log2(t);
                    want.extend([k, t - k, 2 * k - t]);
                }
            }
            i += 1;
        }
        want.retain(|&t| t >= 2);
        want.sort_unstable();
        want.dedup();
        want
    }
}

fn ceil_log2(x: usize) -> usize {
    (usize::BITS - (x.max(1) - 1).leading_zeros()) as usize
}

fn floor_log2(x: usize) -> usize {
    (usize::BITS - 1 - x.leading_zeros()) as usize
}

/// The Chebyshev polynomials `T_i(x)` one plan needs.
struct ChebyshevBasis {
    t: std::collections::BTreeMap<usize, Ciphertext>,
}

impl ChebyshevBasis {
    fn get(&self, i: usize) -> Result<&Ciphertext> {
        self.t
            .get(&i)
            .ok_or_else(|| Error::Incompatible(format!("Chebyshev plan needs T_{i}, which was not computed")))
    }

    fn compute(eval: &Evaluator, x: &Ciphertext, plan: &ChebyshevPlan) -> Result<Self> {
        let mut basis = Self {
            t: std::collections::BTreeMap::from([(1usize, x.clone())]),
        };
        for i in plan.basis_indices() {
            let t = if i.is_power_of_two() {
                // T_(2i) = 2·T_i² − 1.
                let h = basis.get(i / 2)?;
                let mut sq = eval.mul_rescale(h, h)?;
                sq = eval.mul_integer(&sq, 2);
                eval.add_const(&sq, -1.0)?
            } else {
                // T_i = 2·T_(2^k)·T_(i−2^k) − T_(2^(k+1)−i).
                let k = 1usize << floor_log2(i);
                let mut prod = eval.mul(basis.get(k)?, basis.get(i - k)?)?;
                prod = eval.mul_integer(&prod, 2);
                let level = prod.level();
                eval.rescale_assign(&mut prod)?;
                let c = eval.at_level(basis.get(2 * k - i)?, level)?;
                let c = eval.mul_const_to_scale(&c, 1.0, prod.scale())?;
                eval.sub(&prod, &c)?
            };
            basis.t.insert(i, t);
        }
        Ok(basis)
    }
}

fn eval_chebyshev_node(
    eval: &Evaluator,
    basis: &ChebyshevBasis,
    node: &ChebNode,
    coeffs: &[f64],
    level: usize,
    scale: f64,
) -> Result<Ciphertext> {
    match node {
        ChebNode::Leaf { .. } => {
            let mut acc: Option<Ciphertext> = None;
            for (i, &c) in coeffs.iter().enumerate().skip(1) {
                if c == 0.0 {
                    continue;
                }
                let q_above = eval.params().q()[level + 1] as f64;
                let ti = eval.at_level(basis.get(i)?, level + 1)?;
                let mut term = eval.mul_const(&ti, c, scale * q_above / ti.scale())?;
                term.set_scale(scale * q_above)?;
                match acc.as_mut() {
                    None => acc = Some(term),
                    Some(a) => eval.add_assign(a, &term)?,
                }
            }
            let c0 = coeffs.first().copied().unwrap_or(0.0);
            match acc {
                None => eval.add_const(&eval.zero(level, scale), c0),
                Some(a) => {
                    let mut out = eval.add_const(&a, c0)?;
                    eval.rescale_assign(&mut out)?;
                    out.set_scale(scale)?;
                    Ok(out)
                }
            }
        }
        ChebNode::Split {
            g,
            q: q_node,
            r: r_node,
        } => {
            let g = *g;
            let q_above = eval.params().q()[level + 1] as f64;
            let mut q = vec![coeffs.get(g).copied().unwrap_or(0.0)];
            q.extend(coeffs.iter().skip(g + 1).map(|c| 2.0 * c));
            let mut r: Vec<f64> = coeffs.iter().take(g).copied().collect();
            r.resize(g, 0.0);
            for (i, &c) in coeffs.iter().enumerate().skip(g + 1) {
                r[2 * g - i] -= c;
            }
            let giant = eval.at_level(basis.get(g)?, level + 1)?;
            let q_ct = eval_chebyshev_node(eval, basis, q_node, &q, level + 1, scale * q_above / giant.scale())?;
            let mut prod = eval.mul(&q_ct, &giant)?;
            prod.set_scale(scale * q_above)?;
            eval.rescale_assign(&mut prod)?;
            prod.set_scale(scale)?;
            let r_ct = eval_chebyshev_node(eval, basis, r_node, &r, level, scale)?;
            eval.add(&r_ct, &prod)
        }
    }
}

/// `Σ_k c_k T_k(x)` for `x` with every slot in `[−1, 1]`, to exactly `scale`, [`ChebyshevPlan::depth`] levels
/// below `x`.
pub fn eval_chebyshev(eval: &Evaluator, x: &Ciphertext, coeffs: &[f64], scale: f64) -> Result<Ciphertext> {
    if coeffs.is_empty() {
        return Err(Error::Incompatible(
            "a Chebyshev series needs at least one coefficient".into(),
        ));
    }
    let plan = ChebyshevPlan::new(coeffs.len() - 1);
    let depth = plan.depth();
    if x.level() < depth {
        return Err(Error::LevelExhausted {
            op: "Chebyshev evaluation",
            needed: depth,
            level: x.level(),
        });
    }
    let basis = ChebyshevBasis::compute(eval, x, &plan)?;
    eval_chebyshev_node(eval, &basis, &plan.root, coeffs, x.level() - depth, scale)
}
