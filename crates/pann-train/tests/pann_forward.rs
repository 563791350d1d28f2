//! The differentiable PANN ReLU: at high α it is ReLU up to `B·2^-α`, its gradient is the
//! polynomial's derivative, and a trained network runs through it like through exact ReLU.

mod common;

use pann_nn::{Model, TrainActivation, TrainRelu};
use pann_train::{train_activation, TrainConfig};
use tch::{Device, Kind, Tensor};

fn pann(alpha: u32, bound: f64) -> TrainActivation {
    train_activation(&TrainConfig {
        pann_alpha: Some(alpha),
        bound,
        ..TrainConfig::default()
    })
    .expect("valid α")
}

#[test]
fn high_alpha_matches_relu_and_gradient_is_the_slope() -> anyhow::Result<()> {
    let bound = 10.0;
    let act = pann(14, bound);
    let x = Tensor::linspace(-12.0, 12.0, 4001, (Kind::Double, Device::Cpu)).set_requires_grad(true);
    let y = act.apply(&x, true)?;
    // Inside [−B, B] the error is at most B·2^-α; beyond, the clamp keeps it at most |x|·2^-α.
    let err = (&y - x.relu()).abs().detach();
    let inside = x.abs().le(bound).detach();
    let max_inside = err.masked_select(&inside).max().double_value(&[]);
    assert!(max_inside <= bound * 2f64.powi(-14), "max error inside {max_inside}");
    let ratio = (&err / x.abs().clamp_min(1.0))
        .masked_select(&inside.logical_not())
        .max();
    assert!(ratio.double_value(&[]) <= 2f64.powi(-14), "error beyond B {ratio}");
    y.sum(Kind::Double).backward();
    let g = x.grad();
    // Finite differences of the same activation, away from the kink and the clamp edges.
    let h = 1e-7;
    let fd = tch::no_grad(|| -> anyhow::Result<Tensor> {
        let up = act.apply(&(&x + h), false)?;
        let down = act.apply(&(&x - h), false)?;
        Ok((up - down) / (2.0 * h))
    })?;
    let xs = Vec::<f64>::try_from(x.detach())?;
    let (g, fd) = (Vec::<f64>::try_from(g)?, Vec::<f64>::try_from(fd)?);
    for i in 0..xs.len() {
        if xs[i].abs() > 0.05 && (xs[i].abs() - bound).abs() > 0.05 {
            assert!(
                (g[i] - fd[i]).abs() < 1e-3 * (1.0 + fd[i].abs()),
                "x = {}: {} vs {}",
                xs[i],
                g[i],
                fd[i]
            );
        }
    }
    Ok(())
}

#[test]
fn trained_network_through_pann_relu_matches_exact() -> anyhow::Result<()> {
    let model = Model::load(&common::shared().join("models/resnet20-akamaster.safetensors"))?;
    let data = pann_data::load_cifar10(&common::cifar10(), pann_data::Split::Test, Some(200))?;
    let x = pann_data::Normalization::imagenet().normalize(&data, 0..200)?;
    let xs = Tensor::from_slice(&x).view([200, 3, 32, 32]);
    let exact = tch::no_grad(|| model.forward_t(&xs, &TrainActivation::exact(), false))?;
    let act = pann(14, 50.0);
    assert!(matches!(act.relu, TrainRelu::Poly(_)));
    let poly = tch::no_grad(|| model.forward_t(&xs, &act, false))?;
    let diff = (&exact - &poly).abs().max().double_value(&[]);
    let agree = exact
        .argmax(-1, false)
        .eq_tensor(&poly.argmax(-1, false))
        .sum(Kind::Int64)
        .int64_value(&[]);
    assert!(
        diff < 0.5 && agree >= 198,
        "max logit difference {diff}, {agree}/200 agree"
    );
    // And gradients flow through the polynomial in training mode.
    let small = xs.narrow(0, 0, 8);
    let loss = model
        .forward_train(&small, &act)?
        .logsumexp([1], false)
        .mean(Kind::Float);
    loss.backward();
    let vars = model.var_store().variables();
    let g = vars["conv1.weight"].grad();
    assert!(g.defined() && g.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    Ok(())
}
