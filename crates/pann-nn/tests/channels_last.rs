//! Channels-last (NHWC) evaluation: the activation kernels must give the same values on a channels-last tensor as
//! on its NCHW twin (per-channel offsets and leak sums included, where the channel of a value in memory changes
//! with every value), keep the layout so that the next convolution stays in NHWC, and a whole network run
//! channels-last must agree with NCHW up to the convolutions' summation order.

use pann_approx::CompositeSign;
use pann_data::{load_cifar10, Normalization, Split};
use pann_nn::tensor::{images_tensor, is_channels_last, to_channels_last};
use pann_nn::{apply_relu, Activation, Activations, ForwardCtx, LeakMeter, Model, OverflowPolicy, PolyRelu, SiteHook};
use tch::{Kind, Tensor};

fn relu(alpha: u32, bound: f64, offsets: Vec<f64>) -> PolyRelu {
    PolyRelu {
        components: CompositeSign::for_alpha(alpha).unwrap().coefficient_lists(),
        bound,
        overflow: OverflowPolicy::Count,
        shift: 0.0,
        offsets,
    }
}

/// Deterministic values in about [−3, 3] in an NCHW tensor whose channels have different scales.
fn nchw(shape: [i64; 4]) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let ch = (i / (shape[2] * shape[3])) % shape[1];
            (((i * 7919) % 1000) as f32 / 500.0 - 1.0) * (1.0 + ch as f32)
        })
        .collect();
    Tensor::from_slice(&v).reshape(shape)
}

fn values(t: &Tensor) -> Vec<f32> {
    // `contiguous()` puts a channels-last tensor back in NCHW order, so both layouts compare index by index.
    Vec::<f32>::try_from(&t.contiguous().to_kind(Kind::Float).flatten(0, -1)).unwrap()
}

#[test]
fn a_channels_last_tensor_gets_the_same_activation_values_and_keeps_its_layout() {
    let x = nchw([2, 3, 5, 7]);
    let xc = to_channels_last(&x).unwrap();
    assert!(is_channels_last(&xc) && !xc.is_contiguous());
    assert!(x.is_contiguous() && !is_channels_last(&x));
    // Per-channel offsets of very different sizes: a value given the wrong channel's offset is off by ≥ 1.
    let with_offsets = relu(8, 4.0, vec![1.0, -2.0, 4.0]);
    for act in [
        Activation::Exact,
        Activation::Poly(relu(8, 4.0, Vec::new())),
        Activation::Poly(with_offsets),
    ] {
        let (y, st) = apply_relu(&x, &act).unwrap();
        let (yc, stc) = apply_relu(&xc, &act).unwrap();
        assert!(
            is_channels_last(&yc) && !yc.is_contiguous(),
            "{act:?}: the output left channels-last"
        );
        // Element-wise kernels on the same values: bit-identical, only the memory order differs.
        assert_eq!(values(&y), values(&yc), "{act:?}");
        assert_eq!((st.elements, st.max_abs), (stc.elements, stc.max_abs));
    }
}

#[test]
fn the_leak_meter_sums_each_channel_in_either_layout() {
    let x = nchw([3, 4, 6, 5]);
    let acts = Activations {
        relu: vec![Activation::Poly(relu(6, 3.0, Vec::new()))],
        pool: vec![],
    };
    let mut a = LeakMeter::new(&acts).unwrap();
    let mut b = LeakMeter::new(&acts).unwrap();
    a.add(0, &x).unwrap();
    b.add(0, &to_channels_last(&x).unwrap()).unwrap();
    let (ma, mb) = (a.means(), b.means());
    assert_eq!(ma[0].len(), 4);
    // The channels' means differ (their scales do), so a channel mix-up would show.
    assert!((ma[0][0] - ma[0][3]).abs() > 1e-3, "{:?}", ma[0]);
    for (p, q) in ma[0].iter().zip(&mb[0]) {
        assert!((p - q).abs() <= 1e-12 * p.abs().max(1e-6), "{p} vs {q}");
    }
}

/// Records whether each ReLU site's input arrived channels-last.
struct LayoutSpy(Vec<bool>);

impl SiteHook for LayoutSpy {
    fn relu_input(&mut self, _site: usize, _name: &str, x: &Tensor) -> pann_nn::Result<()> {
        self.0.push(is_channels_last(x));
        Ok(())
    }
}

#[test]
fn resnet20_channels_last_agrees_with_nchw_and_stays_channels_last() -> anyhow::Result<()> {
    let shared = pann_data::test_utils::shared_dir();
    let mut model = Model::load(&shared.join("models/resnet20-akamaster.safetensors"))?;
    let test = load_cifar10(&shared.join("data/cifar-10-batches-bin"), Split::Test, Some(200))?;
    let xs = images_tensor(&test, 0..200, &Normalization::imagenet())?;
    let pann10 = Activations::uniform(
        model.relu_sites().len(),
        Activation::Poly(relu(10, 50.0, Vec::new())),
        0,
        pann_nn::PoolActivation::Exact,
    );
    for acts in [Activations::exact_for(&model), pann10] {
        let logits = |m: &Model, spy: &mut LayoutSpy| -> anyhow::Result<Tensor> {
            let mut ctx = ForwardCtx::new(m, &acts)?.with_hook(spy);
            Ok(tch::no_grad(|| m.forward(&xs, &mut ctx))?)
        };
        model.set_channels_last(false);
        let mut spy = LayoutSpy(Vec::new());
        let reference = logits(&model, &mut spy)?;
        assert!(
            spy.0.iter().all(|&c| !c),
            "NCHW run saw channels-last inputs: {:?}",
            spy.0
        );
        model.set_channels_last(true);
        let mut spy = LayoutSpy(Vec::new());
        let nhwc = logits(&model, &mut spy)?;
        // Every ReLU input is channels-last: no activation or shortcut fell back to NCHW.
        assert_eq!(spy.0.len(), model.relu_sites().len());
        assert!(spy.0.iter().all(|&c| c), "sites not channels-last: {:?}", spy.0);
        let diff = (&reference - &nhwc).abs().max().double_value(&[]);
        let scale = reference.abs().max().double_value(&[]);
        assert!(
            diff <= 1e-4 * scale,
            "max logit difference {diff} (logits up to {scale})"
        );
        let same = reference.argmax(-1, false).eq_tensor(&nhwc.argmax(-1, false));
        let agree = same.sum(Kind::Int64).int64_value(&[]);
        assert!(agree >= 199, "{agree} of 200 predictions agree");
    }
    Ok(())
}

/// Records whether each ReLU and max-pool input arrived channels-last.
#[derive(Default)]
struct SiteLayouts {
    relu: Vec<bool>,
    pool: Vec<bool>,
}

impl SiteHook for SiteLayouts {
    fn relu_input(&mut self, _site: usize, _name: &str, x: &Tensor) -> pann_nn::Result<()> {
        self.relu.push(is_channels_last(x));
        Ok(())
    }
    fn pool_input(&mut self, _site: usize, _name: &str, x: &Tensor) -> pann_nn::Result<()> {
        self.pool.push(is_channels_last(x));
        Ok(())
    }
}

#[test]
fn vgg_with_polynomial_pools_agrees_and_stays_channels_last() -> anyhow::Result<()> {
    tch::manual_seed(3);
    let mut model = Model::new("vgg11".parse()?)?;
    let composite = CompositeSign::for_alpha(8).unwrap().coefficient_lists();
    let acts = Activations::uniform(
        model.relu_sites().len(),
        Activation::Exact,
        model.pool_sites().len(),
        pann_nn::PoolActivation::Poly(pann_nn::PolyMax {
            components: composite,
            divisors: vec![60.0, 120.0],
            overflow: OverflowPolicy::Clamp,
        }),
    );
    let x = Tensor::randn([4, 3, 32, 32], (Kind::Float, tch::Device::Cpu));
    let mut outputs = Vec::new();
    for channels_last in [false, true] {
        model.set_channels_last(channels_last);
        let mut layouts = SiteLayouts::default();
        let mut ctx = ForwardCtx::new(&model, &acts)?.with_hook(&mut layouts);
        outputs.push(tch::no_grad(|| model.forward(&x, &mut ctx))?);
        drop(ctx);
        // The first max-pool's output feeds a convolution whose output feeds the second ReLU: all channels-last.
        assert_eq!(layouts.pool.len(), model.pool_sites().len());
        assert!(
            layouts.relu.iter().chain(&layouts.pool).all(|&c| c == channels_last),
            "channels-last {channels_last}: ReLU {:?}, pool {:?}",
            layouts.relu,
            layouts.pool
        );
    }
    let diff = (&outputs[0] - &outputs[1]).abs().max().double_value(&[]);
    let scale = outputs[0].abs().max().double_value(&[]);
    assert!(
        diff <= 1e-4 * scale,
        "max logit difference {diff} (logits up to {scale})"
    );
    Ok(())
}
