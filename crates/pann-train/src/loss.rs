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

/// Knowledge distillation (Hinton et al., 2015): `T²·KL(softmax(teacher/T) ‖ softmax(student/T))`, the KL
/// summed over classes and averaged over the batch (PyTorch's `KLDivLoss(reduction="batchmean")`). `T²` keeps the
/// gradient's scale independent of `T`. `teacher` is a constant.
///
/// # Shapes
/// `student`, `teacher`: `[N, K]`; result: a scalar.
pub fn distillation_kl(student: &Tensor, teacher: &Tensor, temperature: f64) -> Result<Tensor> {
    let log_q = student.f_div_scalar(temperature)?.f_log_softmax(-1, Kind::Float)?;
    let log_p = teacher
        .detach()
        .f_div_scalar(temperature)?
        .f_log_softmax(-1, Kind::Float)?;
    let p = log_p.f_exp()?;
    Ok(p.f_mul(&log_p.f_sub(&log_q)?)?
        .f_sum_dim_intlist(-1, false, Kind::Float)?
        .f_mean(Kind::Float)?
        .f_mul_scalar(temperature * temperature)?)
}

/// How many rows of `logits` have their maximum at `labels`.
pub fn correct(logits: &Tensor, labels: &Tensor) -> Result<i64> {
    let pred = logits.f_argmax(-1, false)?;
    Ok(pred.f_eq_tensor(labels)?.f_sum(Kind::Int64)?.int64_value(&[]))
}
