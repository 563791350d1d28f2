//! Every architecture builds, has the documented parameter and site names, and survives a
//! save/load round trip bit for bit, with the architecture inferred from the file.

use pann_nn::{
    Activation, Activations, Architecture, ForwardCtx, Model, OverflowPolicy, PolyMax, PolyRelu, PoolActivation,
    Shortcut,
};
use tch::{Device, Kind, Tensor};

/// Gives every parameter and BN statistic random values, so that a round trip that lost or
/// swapped any of them would change the output.
fn randomise(model: &Model) {
    tch::no_grad(|| {
        for (name, mut v) in model.var_store().variables() {
            let r = Tensor::rand_like(&v) * 0.2;
            // Keep running variances positive and BN scales near 1.
            let r = if name.ends_with("running_var") || name.ends_with("bn1.weight") {
                r + 0.9
            } else {
                r - 0.1
            };
            v.copy_(&r);
        }
    });
}

fn round_trip(arch: Architecture) -> anyhow::Result<Model> {
    tch::manual_seed(3);
    let model = Model::new(arch)?;
    randomise(&model);
    let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let before = model.forward_exact(&x)?;
    assert_eq!(before.size(), vec![2, arch.num_classes() as i64]);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join(format!("{arch}.safetensors"));
    model.save(&path)?;
    let loaded = Model::load(&path)?;
    assert_eq!(loaded.architecture(), arch);
    let after = loaded.forward_exact(&x)?;
    assert!(before.equal(&after), "{arch}: outputs differ after reload");
    Ok(loaded)
}

#[test]
fn resnet_option_b_round_trip() -> anyhow::Result<()> {
    let arch = Architecture::ResNet {
        depth: 20,
        shortcut: Shortcut::B,
        num_classes: 10,
    };
    let model = round_trip(arch)?;
    let vars = model.var_store().variables();
    assert_eq!(vars["layer2.0.shortcut.0.weight"].size(), vec![32, 16, 1, 1]);
    assert_eq!(vars["layer3.0.shortcut.1.running_var"].size(), vec![64]);
    assert!(!vars.contains_key("layer1.0.shortcut.0.weight"));
    assert_eq!(model.relu_sites().len(), 19);
    assert_eq!(model.relu_sites()[..3], ["relu", "layer1.0.relu1", "layer1.0.relu2"]);
    assert!(model.pool_sites().is_empty());
    Ok(())
}

#[test]
fn resnet_option_a_depths() -> anyhow::Result<()> {
    round_trip("resnet20".parse()?)?;
    for (depth, params) in [
        (20, 269_722),
        (32, 464_154),
        (44, 658_586),
        (56, 853_018),
        (110, 1_727_962),
    ] {
        let model = Model::new(format!("resnet{depth}").parse()?)?;
        let vars = model.var_store().variables();
        // Trainable parameters (weights and biases), as counted in the paper's table 6.
        let n: i64 = vars
            .iter()
            .filter(|(k, _)| !k.contains("running_"))
            .map(|(_, v)| v.numel() as i64)
            .sum();
        assert_eq!(n, params, "resnet{depth}");
        assert_eq!(model.relu_sites().len(), depth - 1);
    }
    Ok(())
}

#[test]
fn vgg11_and_vgg16_round_trip() -> anyhow::Result<()> {
    let vgg11 = round_trip("vgg11".parse()?)?;
    assert_eq!(vgg11.relu_sites().len(), 8);
    assert_eq!(vgg11.relu_sites()[..2], ["features.2", "features.6"]);
    assert_eq!(
        vgg11.pool_sites(),
        ["features.3", "features.7", "features.14", "features.21", "features.28"]
    );
    let vars = vgg11.var_store().variables();
    assert_eq!(vars["features.0.weight"].size(), vec![64, 3, 3, 3]);
    assert_eq!(vars["features.1.running_mean"].size(), vec![64]);
    assert_eq!(vars["classifier.weight"].size(), vec![10, 512]);

    let vgg16 = round_trip(Architecture::Vgg {
        depth: 16,
        num_classes: 100,
    })?;
    assert_eq!((vgg16.relu_sites().len(), vgg16.pool_sites().len()), (13, 5));
    assert_eq!(vgg16.pool_sites().last().unwrap(), "features.43");
    Ok(())
}

#[test]
fn smallcnn_round_trip_names_and_shapes() -> anyhow::Result<()> {
    let model = round_trip("smallcnn".parse()?)?;
    assert_eq!(
        model.architecture(),
        Architecture::SmallCnn {
            c1: 8,
            c2: 16,
            num_classes: 10
        }
    );
    assert_eq!(model.relu_sites(), ["relu1", "relu2"]);
    assert!(model.pool_sites().is_empty() && model.pool_windows().is_empty());
    let vars = model.var_store().variables();
    let mut names: Vec<&str> = vars.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "bn1.weight",
            "bn2.bias",
            "bn2.running_mean",
            "bn2.running_var",
            "bn2.weight",
            "conv1.weight",
            "conv2.weight",
            "fc.bias",
            "fc.weight",
        ]
    );
    assert_eq!(vars["conv1.weight"].size(), vec![8, 3, 3, 3]);
    assert_eq!(vars["conv2.weight"].size(), vec![16, 8, 3, 3]);
    assert_eq!(vars["bn2.running_var"].size(), vec![16]);
    assert_eq!(vars["fc.weight"].size(), vec![10, 16 * 8 * 8]);
    assert_eq!(vars["fc.bias"].size(), vec![10]);

    // Other widths and classes are inferred from the shapes.
    let wide = round_trip(Architecture::SmallCnn {
        c1: 4,
        c2: 12,
        num_classes: 100,
    })?;
    assert_eq!(wide.architecture().to_string(), "smallcnn4x12");
    assert_eq!(wide.var_store().variables()["fc.weight"].size(), vec![100, 12 * 64]);
    Ok(())
}

/// SmallCNN computes conv–BN–ReLU–avgpool twice and a linear layer on the channel-major
/// flattening, written out here with plain tensor ops from its parameters.
#[test]
fn smallcnn_forward_is_the_documented_network() -> anyhow::Result<()> {
    tch::manual_seed(5);
    let model = Model::new("smallcnn".parse()?)?;
    randomise(&model);
    let v = model.var_store().variables();
    let x = Tensor::randn([5, 3, 32, 32], (Kind::Float, Device::Cpu));
    let bn = |y: &Tensor, p: &str| {
        let shape = [1, -1, 1, 1];
        let scale = v[&format!("{p}.weight")].view(shape) / (v[&format!("{p}.running_var")].view(shape) + 1e-5).sqrt();
        (y - v[&format!("{p}.running_mean")].view(shape)) * scale + v[&format!("{p}.bias")].view(shape)
    };
    let pool = |y: &Tensor| {
        let (n, c, h, w) = y.size4().unwrap();
        y.view([n, c, h / 2, 2, w / 2, 2])
            .mean_dim(&[3i64, 5][..], false, Kind::Float)
    };
    let expected = tch::no_grad(|| {
        let y = x.conv2d(&v["conv1.weight"], None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
        let y = pool(&bn(&y, "bn1").relu());
        let y = y.conv2d(&v["conv2.weight"], None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
        let y = pool(&bn(&y, "bn2").relu());
        assert_eq!(y.size(), vec![5, 16, 8, 8]);
        y.reshape([5, 16 * 64]).matmul(&v["fc.weight"].tr()) + &v["fc.bias"]
    });
    let got = model.forward_exact(&x)?;
    assert_eq!(got.size(), vec![5, 10]);
    let diff = (&got - &expected).abs().max().double_value(&[]);
    let scale = expected.abs().max().double_value(&[]);
    assert!(scale > 1e-3 && diff < 1e-4 * scale, "differs by {diff} (scale {scale})");

    // Its ReLU sites are ordinary sites: a polynomial plan runs and records their inputs.
    let acts = Activations::uniform(
        2,
        Activation::Poly(PolyRelu {
            components: vec![vec![0.0, 1.5, 0.0, -0.5]],
            bound: 20.0,
            overflow: OverflowPolicy::Clamp,
            shift: 0.0,
            offsets: Vec::new(),
        }),
        0,
        PoolActivation::Exact,
    );
    let mut ctx = ForwardCtx::new(&model, &acts)?;
    let y = tch::no_grad(|| model.forward(&x, &mut ctx))?;
    assert_eq!(y.size(), vec![5, 10]);
    assert!(!y.equal(&got), "the polynomial plan changed nothing");
    let stats = ctx.stats();
    assert_eq!(stats.relu[0].elements, 5 * 8 * 32 * 32);
    assert_eq!(stats.relu[1].elements, 5 * 16 * 16 * 16);
    assert!(stats.relu.iter().all(|s| s.max_abs > 0.0 && s.max_ratio > 0.0));
    Ok(())
}

#[test]
fn vgg_with_polynomial_pool_runs_and_records() -> anyhow::Result<()> {
    let model = Model::new("vgg11".parse()?)?;
    let sign = vec![0.0, 1.5, 0.0, -0.5];
    let acts = Activations::uniform(
        8,
        Activation::Poly(PolyRelu {
            components: vec![sign.clone()],
            bound: 20.0,
            overflow: OverflowPolicy::Clamp,
            shift: 0.0,
            offsets: Vec::new(),
        }),
        5,
        PoolActivation::Poly(PolyMax {
            components: vec![sign],
            divisors: vec![40.0, 80.0],
            overflow: OverflowPolicy::Clamp,
        }),
    );
    let mut ctx = ForwardCtx::new(&model, &acts)?;
    let x = Tensor::randn([3, 3, 32, 32], (Kind::Float, Device::Cpu));
    let y = tch::no_grad(|| model.forward(&x, &mut ctx))?;
    assert_eq!(y.size(), vec![3, 10]);
    let stats = ctx.stats();
    assert_eq!(stats.pool[0].elements, 3 * 64 * 32 * 32);
    assert!(stats.pool.iter().all(|s| s.max_abs > 0.0 && s.max_ratio > 0.0));
    Ok(())
}

#[test]
fn architecture_names() -> anyhow::Result<()> {
    for name in [
        "resnet20",
        "resnet56b",
        "resnet110",
        "vgg11",
        "vgg19",
        "smallcnn",
        "smallcnn16x32",
    ] {
        assert_eq!(name.parse::<Architecture>()?.to_string(), name);
    }
    let small: Architecture = "smallcnn".parse()?;
    assert_eq!(
        small,
        Architecture::SmallCnn {
            c1: 8,
            c2: 16,
            num_classes: 10
        }
    );
    assert_eq!(small.with_classes(100).num_classes(), 100);
    assert_eq!(small.with_classes(100).to_string(), "smallcnn");
    // The default widths written out name the default architecture.
    assert_eq!("smallcnn8x16".parse::<Architecture>()?, small);
    for bad in [
        "resnet21",
        "resnet",
        "vgg12",
        "lenet",
        "resnet20c",
        "smallcnn0x16",
        "smallcnn8x",
        "smallcnn8",
        "smallcnnx",
        "smallcnn-8-16",
    ] {
        assert!(bad.parse::<Architecture>().is_err(), "{bad}");
    }
    Ok(())
}

#[test]
fn wrong_input_shape_is_an_error() -> anyhow::Result<()> {
    let model = Model::new("vgg11".parse()?)?;
    let x = Tensor::zeros([1, 3, 28, 28], (Kind::Float, Device::Cpu));
    let err = model.forward_exact(&x).unwrap_err();
    assert!(err.to_string().contains("[N, 3, 32, 32]"), "{err}");
    let model = Model::new("resnet20".parse()?)?;
    assert!(model
        .forward_exact(&Tensor::zeros([1, 1, 32, 32], (Kind::Float, Device::Cpu)))
        .is_err());
    // SmallCNN's linear layer fixes the input at 3×32×32.
    let model = Model::new("smallcnn".parse()?)?;
    for shape in [[1, 3, 28, 28], [1, 3, 64, 64], [1, 1, 32, 32]] {
        let err = model
            .forward_exact(&Tensor::zeros(shape, (Kind::Float, Device::Cpu)))
            .unwrap_err();
        assert!(
            err.to_string().contains("smallcnn expects") && err.to_string().contains("[N, 3, 32, 32]"),
            "{err}"
        );
    }
    let err = model
        .forward_train(
            &Tensor::zeros([2, 3, 16, 16], (Kind::Float, Device::Cpu)),
            &Default::default(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("[N, 3, 32, 32]"), "{err}");
    Ok(())
}

/// A fresh network starts as PyTorch's would: every BN scale 1 and shift 0 (tch's own default
/// draws the scales from `[0, 1)`, which cost `pann train` about 0.9 points of ResNet-20 accuracy
/// against PyTorch), and convolution weights with the Kaiming variance `2 / fan_in`.
#[test]
fn fresh_parameters_have_pytorch_initialisation() -> anyhow::Result<()> {
    tch::manual_seed(0);
    let archs = [
        Architecture::ResNet {
            depth: 20,
            shortcut: Shortcut::B,
            num_classes: 10,
        },
        Architecture::Vgg {
            depth: 11,
            num_classes: 10,
        },
        Architecture::SmallCnn {
            c1: 8,
            c2: 16,
            num_classes: 10,
        },
    ];
    for arch in archs {
        let model = Model::new(arch)?;
        let mut bn_layers = 0;
        for (name, v) in model.var_store().variables() {
            let is_bn = model.var_store().variables().contains_key(
                &name
                    .replace(".weight", ".running_mean")
                    .replace(".bias", ".running_mean"),
            );
            if is_bn && name.ends_with(".weight") {
                bn_layers += 1;
                let ones = v.ones_like();
                assert!(v.equal(&ones), "{arch}: {name} is not all ones");
            } else if is_bn && name.ends_with(".bias") {
                assert!(v.equal(&v.zeros_like()), "{arch}: {name} is not all zeros");
            } else if name.ends_with(".weight") && v.dim() == 4 && v.numel() >= 2000 {
                let fan_in = (v.size()[1] * v.size()[2] * v.size()[3]) as f64;
                let var = v.var(false).double_value(&[]);
                let want = 2.0 / fan_in;
                assert!(
                    (var / want - 1.0).abs() < 0.15,
                    "{arch}: {name} variance {var}, want {want}"
                );
            }
        }
        assert!(bn_layers >= 2, "{arch}: found {bn_layers} BN layers");
    }
    Ok(())
}
