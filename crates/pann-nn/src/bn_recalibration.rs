//! Re-estimating BatchNorm running statistics after training.
//!
//! Why: the running mean and variance a network is evaluated with are an exponential moving
//! average over the last few hundred *training* batches. When those batches are not what the
//! network sees at test time — mixup blends two images, so its activations have a smaller
//! spread than a real image's — the averages are biased, and they still drift between the last
//! epochs. [`recalibrate_batch_norm`] replaces them by the plain average over batches of
//! unmixed images: the weights do not change, only the statistics BN divides by.
//!
//! How: libtorch updates `running ← (1 − m)·running + m·batch` with `m` = [`BN_MOMENTUM`] on
//! every training-mode forward pass. Zeroing the running statistics before each batch leaves
//! `m·batch` in them afterwards, so the batch's own mean and (unbiased) variance come out
//! exactly; they are averaged over the batches, weighted by batch size (what PyTorch's
//! `momentum=None` cumulative average does, per image instead of per batch).

use tch::Tensor;

use crate::error::{Error, Result};
use crate::models::{Model, BN_MOMENTUM};
use crate::train_activation::TrainActivation;

/// What [`recalibrate_batch_norm`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recalibration {
    /// BatchNorm layers whose statistics were replaced.
    pub layers: usize,
    /// Batches averaged.
    pub batches: usize,
    /// Images averaged.
    pub images: usize,
}

/// Replaces every BatchNorm layer's running mean and variance of `model` by their average over
/// `batches` (each `[N, C, H, W]`, normalised like the training inputs), with every ReLU site
/// computing `act`. On an error, or if `batches` is empty, the statistics are left as they were.
pub fn recalibrate_batch_norm<I>(model: &Model, act: &TrainActivation, batches: I) -> Result<Recalibration>
where
    I: IntoIterator<Item = Result<Tensor>>,
{
    let mut stats: Vec<(String, Tensor)> = model
        .var_store()
        .variables()
        .into_iter()
        .filter(|(name, _)| name.ends_with(".running_mean") || name.ends_with(".running_var"))
        .collect();
    stats.sort_by(|a, b| a.0.cmp(&b.0));
    let saved: Vec<Tensor> = stats.iter().map(|(_, t)| t.copy()).collect();
    let outcome = tch::no_grad(|| average_statistics(model, act, &stats, batches));
    let (sums, batches, images) = match outcome {
        Ok(v) => v,
        Err(e) => {
            restore(&stats, &saved)?;
            return Err(e);
        }
    };
    if images == 0 {
        restore(&stats, &saved)?;
        return Err(Error::BadInput("BatchNorm recalibration got no images".into()));
    }
    for ((name, t), sum) in stats.iter().zip(&sums) {
        let mean = sum.f_div_scalar(images as f64)?;
        let finite = bool::try_from(mean.f_isfinite()?.f_all()?)?;
        if !finite {
            restore(&stats, &saved)?;
            return Err(Error::BadInput(format!(
                "BatchNorm recalibration: {name} is not finite (NaN or infinite activations)"
            )));
        }
        tch::no_grad(|| t.shallow_clone().f_copy_(&mean))?;
    }
    Ok(Recalibration {
        layers: stats.len() / 2,
        batches,
        images,
    })
}

/// Sums of `n·batch statistic` per running-statistics tensor, batches and images seen.
fn average_statistics<I>(
    model: &Model,
    act: &TrainActivation,
    stats: &[(String, Tensor)],
    batches: I,
) -> Result<(Vec<Tensor>, usize, usize)>
where
    I: IntoIterator<Item = Result<Tensor>>,
{
    let mut sums: Vec<Tensor> = stats.iter().map(|(_, t)| t.zeros_like()).collect();
    let (mut count, mut images) = (0usize, 0usize);
    for xs in batches {
        let xs = xs?;
        let n = xs.size().first().copied().unwrap_or(0).max(0) as usize;
        for (_, t) in stats {
            let _ = t.shallow_clone().f_zero_()?;
        }
        let _ = model.forward_t(&xs, act, true)?;
        for ((_, t), sum) in stats.iter().zip(sums.iter_mut()) {
            // `t` now holds `m·batch`.
            let _ = sum.f_add_(&t.f_mul_scalar(n as f64 / BN_MOMENTUM)?)?;
        }
        count += 1;
        images += n;
    }
    Ok((sums, count, images))
}

fn restore(stats: &[(String, Tensor)], saved: &[Tensor]) -> Result<()> {
    tch::no_grad(|| -> Result<()> {
        for ((_, t), s) in stats.iter().zip(saved) {
            t.shallow_clone().f_copy_(s)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Architecture;
    use tch::{Kind, Tensor};

    fn small() -> Model {
        Model::new(Architecture::SmallCnn {
            c1: 4,
            c2: 6,
            num_classes: 3,
        })
        .unwrap()
    }

    fn var(m: &Model, name: &str) -> Tensor {
        m.var_store().variables()[name].copy()
    }

    /// The first BN's statistics must become the image-weighted average of its input's batch
    /// mean and unbiased variance, computed here directly from `conv1`.
    #[test]
    fn first_layer_statistics_are_the_average_of_the_batch_statistics() {
        tch::manual_seed(1);
        let m = small();
        let a = Tensor::randn([5, 3, 32, 32], (Kind::Float, tch::Device::Cpu)) * 2.0 + 0.5;
        let b = Tensor::randn([3, 3, 32, 32], (Kind::Float, tch::Device::Cpu));
        let w = var(&m, "conv1.weight");
        let bias = m.var_store().variables().get("conv1.bias").map(|t| t.copy());
        let conv = |x: &Tensor| x.conv2d(&w, bias.as_ref(), [1], [1], [1], 1);
        let stat = |x: &Tensor| {
            let y = conv(x);
            let mean = y.mean_dim([0i64, 2, 3].as_slice(), false, Kind::Float);
            let var = y.var_dim([0i64, 2, 3].as_slice(), true, false);
            (mean, var)
        };
        let (ma, va) = stat(&a);
        let (mb, vb) = stat(&b);
        let want_mean = (ma * 5.0 + mb * 3.0) / 8.0;
        let want_var = (va * 5.0 + vb * 3.0) / 8.0;
        let r = recalibrate_batch_norm(&m, &TrainActivation::exact(), [Ok(a), Ok(b)]).unwrap();
        assert_eq!(
            r,
            Recalibration {
                layers: 2,
                batches: 2,
                images: 8
            }
        );
        let got_mean = var(&m, "bn1.running_mean");
        let got_var = var(&m, "bn1.running_var");
        let err_mean = f64::try_from((got_mean - &want_mean).abs().max()).unwrap();
        let err_var = f64::try_from((got_var - &want_var).abs().max() / want_var.abs().max()).unwrap();
        assert!(err_mean < 1e-5, "mean off by {err_mean}");
        assert!(err_var < 1e-5, "variance off by {err_var} (relative)");
    }

    #[test]
    fn no_images_or_a_bad_batch_leaves_the_statistics_alone() {
        let m = small();
        let before = var(&m, "bn2.running_var");
        let none: Vec<Result<Tensor>> = Vec::new();
        assert!(recalibrate_batch_norm(&m, &TrainActivation::exact(), none).is_err());
        let good = Tensor::randn([2, 3, 32, 32], (Kind::Float, tch::Device::Cpu));
        let wrong_shape = Tensor::zeros([2, 3, 8, 8], (Kind::Float, tch::Device::Cpu));
        let e = recalibrate_batch_norm(&m, &TrainActivation::exact(), [Ok(good), Ok(wrong_shape)]).unwrap_err();
        assert!(e.to_string().contains("32"), "{e}");
        assert!(var(&m, "bn2.running_var").equal(&before));
        let nan = Tensor::full([2, 3, 32, 32], f64::NAN, (Kind::Float, tch::Device::Cpu));
        let e = recalibrate_batch_norm(&m, &TrainActivation::exact(), [Ok(nan)]).unwrap_err();
        assert!(e.to_string().contains("not finite"), "{e}");
        assert!(var(&m, "bn2.running_var").equal(&before));
    }
}
