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
                let mut xi = powers.get(i)?.clone();
                eval.drop_to_level(&mut xi, level + 1)?;
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
            let mut giant = powers.get(shift)?.clone();
            eval.drop_to_level(&mut giant, level + 1)?;
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
    let mut y_low = y.clone();
    eval.drop_to_level(&mut y_low, p_level)?;
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
