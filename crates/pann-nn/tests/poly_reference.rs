//! The fused polynomial kernels against a plain tensor-op implementation of the same
//! formulas, and their overflow accounting.

use pann_nn::{
    apply_max_pool, apply_relu, Activation, Activations, Architecture, Error, ForwardCtx, Model, OverflowPolicy,
    PolyMax, PolyRelu, PoolActivation, SiteHook,
};
use tch::{Device, Kind, Tensor};

/// Cheon et al.'s f₃(t) = (35t − 35t³ + 21t⁵ − 5t⁷)/16, a standard sign-approximation stage.
fn f3() -> Vec<f64> {
    vec![0.0, 35.0 / 16.0, 0.0, -35.0 / 16.0, 0.0, 21.0 / 16.0, 0.0, -5.0 / 16.0]
}

/// A composite with odd components and one general (not odd) one, to cover both paths.
fn components() -> Vec<Vec<f64>> {
    vec![f3(), vec![0.01, 1.0, 0.02, -0.03], f3(), f3()]
}

/// p(t) with tensor ops in f64: Σ c_i t^i per component, first to last.
fn reference_poly(t: &Tensor, comps: &[Vec<f64>]) -> Tensor {
    let mut t = t.shallow_clone();
    for c in comps {
        let mut acc = t.zeros_like();
        let mut pow = t.ones_like();
        for &a in c {
            acc += &pow * a;
            pow *= &t;
        }
        t = acc;
    }
    t
}

fn reference_relu(x: &Tensor, comps: &[Vec<f64>], bound: f64, clamp: bool, shift: f64) -> Tensor {
    let xd = x.to_kind(Kind::Double);
    let mut t = &xd / bound;
    if clamp {
        t = t.clamp(-1.0, 1.0);
    }
    let t = t * (1.0 - shift) - shift;
    (xd * (reference_poly(&t, comps) + 1.0) * 0.5).to_kind(Kind::Float)
}

fn reference_max(a: &Tensor, b: &Tensor, comps: &[Vec<f64>], d: f64) -> Tensor {
    let diff = a - b;
    ((a + b) + &diff * reference_poly(&(&diff / d), comps)) * 0.5
}

/// Largest |a − b| / max(1, |b|).
fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double);
    ((&a - &b).abs() / b.abs().clamp_min(1.0)).max().double_value(&[])
}

fn randn(shape: &[i64], scale: f64) -> Tensor {
    tch::manual_seed(7);
    Tensor::randn(shape, (Kind::Float, Device::Cpu)) * scale
}

#[test]
fn relu_kernel_matches_tensor_reference() -> anyhow::Result<()> {
    // Odd sizes, so the padded last block is exercised; a small tensor runs on the calling
    // thread, a large one in parallel.
    for (shape, policy, clamp, shift) in [
        ([3, 5, 17, 19], OverflowPolicy::Count, false, 0.0),
        ([3, 5, 17, 19], OverflowPolicy::Clamp, true, 0.0),
        ([3, 5, 17, 19], OverflowPolicy::Clamp, true, 0.2),
        ([3, 5, 171, 191], OverflowPolicy::Count, false, 0.0),
        ([3, 5, 171, 191], OverflowPolicy::Count, false, 0.3),
    ] {
        let x = randn(&shape, 4.0);
        let relu = PolyRelu {
            components: components(),
            bound: 10.0,
            overflow: policy,
            shift,
            offsets: Vec::new(),
        };
        let (y, st) = apply_relu(&x, &Activation::Poly(relu))?;
        assert_eq!(y.size(), x.size());
        let err = rel_err(&y, &reference_relu(&x, &components(), 10.0, clamp, shift));
        assert!(err <= 1e-6, "{policy:?}, shift {shift}: relative error {err}");
        assert_eq!(st.elements, x.numel() as u64);
    }
    Ok(())
}

#[test]
fn relu_overflow_counts_and_maxima() -> anyhow::Result<()> {
    let x = randn(&[4, 8, 160, 160], 3.0);
    let bound = 4.0;
    let want = x.abs().gt(bound).sum(Kind::Int64).int64_value(&[]) as u64;
    let max_abs = x.abs().max().double_value(&[]);
    assert!(want > 100, "the test data should overflow somewhere");
    let relu = PolyRelu {
        components: components(),
        bound,
        overflow: OverflowPolicy::Count,
        shift: 0.0,
        offsets: Vec::new(),
    };
    let (_, st) = apply_relu(&x, &Activation::Poly(relu.clone()))?;
    assert_eq!(st.overflows, want);
    assert_eq!(st.max_abs, max_abs);
    assert!((st.max_ratio - max_abs / bound).abs() < 1e-12);

    let err = apply_relu(
        &x,
        &Activation::Poly(PolyRelu {
            overflow: OverflowPolicy::Error,
            ..relu
        }),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Overflow { count, .. } if count == want), "{err}");
    Ok(())
}

#[test]
fn exact_relu_kernel_matches_libtorch() -> anyhow::Result<()> {
    let x = randn(&[2, 3, 9, 7], 2.0);
    let (y, st) = apply_relu(&x, &Activation::Exact)?;
    assert!(y.equal(&x.relu()));
    assert_eq!((st.overflows, st.max_abs), (0, x.abs().max().double_value(&[])));
    Ok(())
}

#[test]
fn max_pool_kernel_matches_tensor_reference() -> anyhow::Result<()> {
    // Planes of one output (2×2 → 1×1) and of a few, so that a block of lanes spans several planes; odd planes,
    // whose last row and column are dropped as PyTorch's floor mode does; a large tensor for the parallel path.
    for shape in [
        [3, 5, 2, 2],
        [2, 7, 4, 6],
        [2, 3, 9, 9],
        [4, 16, 131, 129],
        [3, 16, 131, 129],
    ] {
        max_pool_matches_reference_for(&shape)?;
    }
    Ok(())
}

fn max_pool_matches_reference_for(shape: &[i64; 4]) -> anyhow::Result<()> {
    // σ = 0.5: level-0 differences beyond D_0 = 6 (12σ) do not occur.
    let x = randn(shape, 0.5).to_kind(Kind::Double);
    let (n, c, h, w) = (shape[0], shape[1], shape[2] / 2, shape[3] / 2);
    let d = [6.0, 9.0];
    let pool = PolyMax {
        components: components(),
        divisors: d.to_vec(),
        overflow: OverflowPolicy::Count,
    };
    let (y, st) = apply_max_pool(&x.to_kind(Kind::Float), 2, &PoolActivation::Poly(pool))?;
    let x = x.to_kind(Kind::Float).to_kind(Kind::Double);
    let e = |di: i64, dj: i64| x.slice(2, di, Some(2 * h), 2).slice(3, dj, Some(2 * w), 2);
    let comps = components();
    let top = reference_max(&e(0, 0), &e(0, 1), &comps, d[0]);
    let bottom = reference_max(&e(1, 0), &e(1, 1), &comps, d[0]);
    let want = reference_max(&top, &bottom, &comps, d[1]).to_kind(Kind::Float);
    assert_eq!(y.size(), vec![n, c, h, w]);
    let err = rel_err(&y, &want);
    assert!(err <= 1e-6, "{shape:?}: relative error {err}");
    assert_eq!(st.elements, (n * c * h * w * 4) as u64);
    assert_eq!(st.overflows, 0);
    // The largest |input| over the pooled windows only (floor mode drops an odd last row and column).
    let pooled = x.slice(2, 0, Some(2 * h), 1).slice(3, 0, Some(2 * w), 1);
    assert_eq!(st.max_abs, pooled.abs().max().double_value(&[]), "{shape:?}");

    // Overflow: level-0 differences beyond D_0 are counted exactly. Clamping keeps the level-0
    // maxima bounded, so that level 1 (divisor 100) does not overflow in turn.
    let tight = PolyMax {
        components: components(),
        divisors: vec![0.5, 100.0],
        overflow: OverflowPolicy::Clamp,
    };
    let (_, st) = apply_max_pool(&x.to_kind(Kind::Float), 2, &PoolActivation::Poly(tight))?;
    let count = |a: Tensor, b: Tensor| (a - b).abs().gt(0.5).sum(Kind::Int64).int64_value(&[]);
    let want = count(e(0, 0), e(0, 1)) + count(e(1, 0), e(1, 1));
    assert_eq!(st.overflows, want as u64);
    Ok(())
}

#[test]
fn exact_max_pool_is_libtorch_max_pool() -> anyhow::Result<()> {
    let x = randn(&[1, 2, 8, 8], 1.0);
    let (y, _) = apply_max_pool(&x, 2, &PoolActivation::Exact)?;
    assert!(y.equal(&x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false)));
    Ok(())
}

/// Counts, per ReLU site, the inputs above a bound, with tensor ops.
struct CountAbove {
    bound: f64,
    counts: Vec<u64>,
}

impl SiteHook for CountAbove {
    fn relu_input(&mut self, site: usize, _name: &str, x: &Tensor) -> pann_nn::Result<()> {
        self.counts[site] += x.abs().gt(self.bound).sum(Kind::Int64).int64_value(&[]) as u64;
        Ok(())
    }
}

#[test]
fn model_sites_count_overflows_and_error_names_the_site() -> anyhow::Result<()> {
    tch::manual_seed(1);
    let model = Model::new("resnet20".parse::<Architecture>()?)?;
    let x = randn(&[4, 3, 32, 32], 1.0);
    let bound = 1.5;
    let relu = |overflow| {
        Activation::Poly(PolyRelu {
            components: components(),
            bound,
            overflow,
            shift: 0.0,
            offsets: Vec::new(),
        })
    };
    let n = model.relu_sites().len();
    // Clamp, so that an overflow at one site does not turn later inputs into inf and NaN.
    let acts = Activations::uniform(n, relu(OverflowPolicy::Clamp), 0, PoolActivation::Exact);
    let mut hook = CountAbove {
        bound,
        counts: vec![0; n],
    };
    let mut ctx = ForwardCtx::new(&model, &acts)?.with_hook(&mut hook);
    let logits = tch::no_grad(|| model.forward(&x, &mut ctx))?;
    assert_eq!(logits.size(), vec![4, 10]);
    let stats = ctx.take_stats();
    let counted: Vec<u64> = stats.relu.iter().map(|s| s.overflows).collect();
    assert_eq!(counted, hook.counts);
    assert!(counted.iter().sum::<u64>() > 0);

    let acts = Activations::uniform(n, relu(OverflowPolicy::Error), 0, PoolActivation::Exact);
    let mut ctx = ForwardCtx::new(&model, &acts)?;
    let err = tch::no_grad(|| model.forward(&x, &mut ctx)).unwrap_err();
    let first = hook.counts.iter().position(|&c| c > 0).unwrap();
    match err {
        Error::Overflow { site, .. } => assert_eq!(site, model.relu_sites()[first]),
        other => panic!("expected an overflow error, got {other}"),
    }
    Ok(())
}

#[test]
fn plan_must_fit_the_model() -> anyhow::Result<()> {
    let model = Model::new("vgg11".parse()?)?;
    let err = ForwardCtx::new(&model, &Activations::exact(3, 0)).err().unwrap();
    assert!(err.to_string().contains("8 ReLU and 5 max-pool sites"), "{err}");
    let short = PolyMax {
        components: vec![f3()],
        divisors: vec![1.0],
        overflow: OverflowPolicy::Count,
    };
    let acts = Activations::uniform(8, Activation::Exact, 5, PoolActivation::Poly(short));
    let err = ForwardCtx::new(&model, &acts).err().unwrap();
    assert!(err.to_string().contains("features.3"), "{err}");
    Ok(())
}

#[test]
fn bad_pool_inputs_are_errors() {
    let x = randn(&[1, 1, 1, 1], 1.0);
    assert!(apply_max_pool(&x, 2, &PoolActivation::Exact).is_err());
    assert!(apply_max_pool(&x, 0, &PoolActivation::Exact).is_err());
    assert!(apply_max_pool(&randn(&[4], 1.0), 2, &PoolActivation::Exact).is_err());
}
