//! Cross-entropy against target distributions (label smoothing and mixup make them soft).

use tch::{Kind, Tensor};

use crate::error::Result;

/// `mean_i −Σ_k t_ik · log_softmax(z_i)_k`.
///
/// # Shapes
/// `logits`, `targets`: `[N, K]`; result: a scalar.
pub fn soft_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let logp = logits.f_log_softmax(-1, Kind::Float)?;
    Ok(logp
        .f_mul(targets)?
        .f_sum_dim_intlist(-1, false, Kind::Float)?
        .f_mean(Kind::Float)?
        .f_neg()?)
}

/// How many rows of `logits` have their maximum at `labels`.
pub fn correct(logits: &Tensor, labels: &Tensor) -> Result<i64> {
    let pred = logits.f_argmax(-1, false)?;
    Ok(pred.f_eq_tensor(labels)?.f_sum(Kind::Int64)?.int64_value(&[]))
}
