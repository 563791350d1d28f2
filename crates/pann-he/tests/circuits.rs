//! Encrypted polynomial evaluation and the encrypted CNN against their plaintext counterparts; levels consumed
//! against pann-approx's cost model.

mod common;

use common::{ctx, max_err, values};
use pann_approx::{cost, CompositeSign};
use pann_he::circuits::model::Conv;
use pann_he::circuits::{eval_odd_poly, eval_relu, EncryptedSlots, HeCnn, HeConv, PlainSlots, SmallCnn};

#[test]
fn odd_polynomials_consume_exactly_the_cost_model_depth() {
    let mut c = ctx(11, 6, &[]);
    let x = values(c.params.slots(), 1, -1.0, 1.0);
    let top = c.params.max_level();
    let ct = c
        .enc
        .encrypt_pk(&c.enc.encode(&x, top, c.params.default_scale()).unwrap(), &c.pk);
    for degree in [1usize, 3, 5, 7, 9, 13, 15, 27, 31] {
        let coeffs: Vec<f64> = (0..=degree)
            .map(|i| {
                if i % 2 == 1 {
                    values(1, i as u64 + 7, -1.0, 1.0)[0] / degree as f64
                } else {
                    0.0
                }
            })
            .collect();
        let out = eval_odd_poly(&c.eval, &ct, &coeffs, c.params.default_scale()).unwrap();
        assert_eq!(top - out.level(), cost::depth(degree) as usize, "degree {degree}");
        assert_eq!(out.scale(), c.params.default_scale(), "the target scale is met exactly");
        let got = c.dec.decrypt_values(&out, x.len()).unwrap();
        let want: Vec<f64> = x
            .iter()
            .map(|&v| coeffs.iter().rev().fold(0.0, |acc, &k| acc * v + k))
            .collect();
        let err = max_err(&got, &want);
        assert!(err < 1e-6, "degree {degree}: error {err:e}");
    }
}

#[test]
fn relu_matches_the_plaintext_approximation_and_its_depth() {
    let alpha = 7;
    let sign = CompositeSign::for_alpha(alpha).unwrap();
    let depth = sign.relu_depth() as usize;
    let mut c = ctx(11, depth + 1, &[]);
    let x = values(c.params.slots(), 3, -1.0, 1.0);
    let top = c.params.max_level();
    let ct = c
        .enc
        .encrypt_pk(&c.enc.encode(&x, top, c.params.default_scale()).unwrap(), &c.pk);
    let out = eval_relu(&c.eval, &ct, &sign).unwrap();
    assert_eq!(top - out.level(), depth);
    let got = c.dec.decrypt_values(&out, x.len()).unwrap();
    let lists = sign.coefficient_lists();
    let plain: Vec<f64> = x
        .iter()
        .map(|&y| y * (1.0 + pann_approx::certify::eval_composite_power(&lists, y)) / 2.0)
        .collect();
    let err = max_err(&got, &plain);
    assert!(err < 1e-5, "encrypted against plaintext PANN ReLU: {err:e}");
    // And the approximation itself is within 2^-α of ReLU.
    let exact: Vec<f64> = x.iter().map(|&y| y.max(0.0)).collect();
    assert!(max_err(&got, &exact) < 2f64.powi(-(alpha as i32)) + 1e-5);
    // Too few levels: a clear error.
    let mut low = ct.clone();
    c.eval.drop_to_level(&mut low, depth - 1).unwrap();
    assert!(matches!(
        eval_relu(&c.eval, &low, &sign),
        Err(pann_he::Error::LevelExhausted { .. })
    ));
}

fn tiny_cnn() -> SmallCnn {
    let conv = |cin: usize, cout: usize, seed: u64| Conv {
        cin,
        cout,
        w: values(cout * cin * 9, seed, -0.5, 0.5),
        b: values(cout, seed + 1, -0.2, 0.2),
    };
    let (side, c2, classes) = (8, 4, 5);
    let feat = c2 * (side / 4) * (side / 4);
    SmallCnn {
        conv1: conv(1, 2, 10),
        conv2: conv(2, c2, 20),
        fc_w: values(classes * feat, 30, -0.5, 0.5),
        fc_b: values(classes, 31, -0.1, 0.1),
        classes,
        side,
    }
}

#[test]
fn slot_program_equals_the_direct_network() {
    let net = tiny_cnn();
    let sign = CompositeSign::for_alpha(6).unwrap();
    let bounds = [4.0, 3.0];
    let he = HeCnn::new(net.clone(), bounds, sign.clone(), 512, None).unwrap();
    let lists = sign.coefficient_lists();
    let relu = |b: f64| {
        let lists = &lists;
        move |z: f64| {
            let y = z / b;
            b * y * (1.0 + pann_approx::certify::eval_composite_power(lists, y)) / 2.0
        }
    };
    for seed in 0..3 {
        let img = values(64, 100 + seed, -1.5, 1.5);
        let (slots, over) = he.run_plain(&img).unwrap();
        let (direct, maxima) = net.forward(&img, relu(bounds[0]), relu(bounds[1]));
        assert!(max_err(&slots, &direct) < 1e-9, "{slots:?} vs {direct:?}");
        assert!(maxima[0] < bounds[0] && maxima[1] < bounds[1] && over == 0);
    }
    // An image with the wrong size is refused.
    assert!(he.run_plain(&[0.0; 10]).is_err());
}

#[test]
fn encrypted_cnn_agrees_with_the_plaintext_pann() {
    let net = tiny_cnn();
    let sign = CompositeSign::for_alpha(4).unwrap();
    let probe = HeCnn::new(net.clone(), [4.0, 3.0], sign.clone(), 512, None).unwrap();
    let rotations = probe.rotations().unwrap();
    let mut c = ctx(10, probe.depth(), &rotations);
    assert_eq!(c.params.slots(), 512);
    let backend = EncryptedSlots { eval: &c.eval };
    for seed in 0..2 {
        let img = values(64, 200 + seed, -1.5, 1.5);
        let (plain, _) = probe.run_plain(&img).unwrap();
        let input = probe.input_slots(&img).unwrap();
        let pt = c
            .enc
            .encode(&input, c.params.max_level(), c.params.default_scale())
            .unwrap();
        let ct = c.enc.encrypt_pk(&pt, &c.pk);
        let out = probe.run(&backend, &ct).unwrap();
        assert_eq!(out.level(), 0, "the network uses every level");
        let dec = c.dec.decrypt_values(&out, 512).unwrap();
        let got: Vec<f64> = probe.logit_slots().iter().map(|&s| dec[s]).collect();
        let err = max_err(&got, &plain);
        assert!(err < 1e-3, "logit error {err:e}: {got:?} vs {plain:?}");
    }
}

#[test]
fn strided_and_unstrided_convolutions_by_rotations_match_the_direct_convolution() {
    let (side, slots) = (8usize, 512usize);
    let conv = Conv {
        cin: 3,
        cout: 4,
        w: values(4 * 3 * 9, 40, -1.0, 1.0),
        b: values(4, 41, -0.5, 0.5),
    };
    let img = values(3 * side * side, 42, -1.0, 1.0);
    // Input slots: channel c in block c, replicated with period 4 blocks (3 channels padded to 4).
    let block = side * side;
    let input: Vec<f64> = (0..slots)
        .map(|x| {
            if x % (4 * block) < 3 * block {
                img[x % (4 * block)]
            } else {
                0.0
            }
        })
        .collect();
    let mut c = ctx(10, 1, &[]);
    let mut keys_needed = Vec::new();
    for stride in [1usize, 2] {
        let layer = HeConv::new(&conv, 1.0, 1.0, side, 1, stride, slots).unwrap();
        let plain = PlainSlots::default();
        let out = layer.run(&plain, &input).unwrap();
        keys_needed.extend(plain.rotations());
        let direct = conv.apply_strided(&img, side, side, stride);
        let n = side / stride;
        for o in 0..4 {
            for i in 0..n {
                for j in 0..n {
                    let got = out[o * block + stride * i * side + stride * j];
                    let want = direct[(o * n + i) * n + j];
                    assert!((got - want).abs() < 1e-12, "stride {stride}, channel {o}, ({i}, {j})");
                }
            }
        }
    }
    assert!(
        HeConv::new(&conv, 1.0, 1.0, side, 1, 3, slots).is_err(),
        "stride 3 is refused"
    );
    // The stride-2 convolution encrypted.
    keys_needed.sort_unstable();
    keys_needed.dedup();
    let mut kg = pann_he::rlwe::KeyGenerator::with_seed(c.params.clone(), 5);
    let rlk = kg.relin_key(&c.sk);
    let gks = kg.galois_keys(&c.sk, &keys_needed);
    let eval = pann_he::ckks::Evaluator::new(c.params.clone(), c.encoder.clone(), Some(rlk), gks);
    let layer = HeConv::new(&conv, 1.0, 1.0, side, 1, 2, slots).unwrap();
    let want = layer.run(&PlainSlots::default(), &input).unwrap();
    let ct = c
        .enc
        .encrypt_pk(&c.enc.encode(&input, 1, c.params.default_scale()).unwrap(), &c.pk);
    let out = layer.run(&EncryptedSlots { eval: &eval }, &ct).unwrap();
    let got = c.dec.decrypt_values(&out, slots).unwrap();
    assert!(max_err(&got, &want) < 1e-6);
}

#[test]
fn leak_correction_folds_into_biases_exactly() {
    let net = tiny_cnn();
    let sign = CompositeSign::for_alpha(5).unwrap();
    let bounds = [4.0, 3.0];
    let lists = sign.coefficient_lists();
    let pann = |b: f64| {
        let lists = &lists;
        move |z: f64| {
            let y = z / b;
            b * y * (1.0 + pann_approx::certify::eval_composite_power(lists, y)) / 2.0
        }
    };
    let calib: Vec<Vec<f64>> = (0..4).map(|k| values(64, 300 + k, -1.5, 1.5)).collect();
    let leaks = net.mean_leaks(&calib, pann(bounds[0]), pann(bounds[1]));
    // The leak of a polynomial ReLU is one-sided: every channel's mean error is negative.
    assert!(leaks[0].iter().chain(&leaks[1]).all(|&m| m < 0.0), "{leaks:?}");
    let he = HeCnn::new(net.clone(), bounds, sign.clone(), 512, Some(&leaks)).unwrap();
    let (r1, r2) = (pann(bounds[0]), pann(bounds[1]));
    for seed in 0..3 {
        let img = values(64, 400 + seed, -1.5, 1.5);
        let (slots, _) = he.run_plain(&img).unwrap();
        let direct = net
            .pass(&img, |c, z| r1(z) - leaks[0][c], |c, z| r2(z) - leaks[1][c])
            .logits;
        assert!(max_err(&slots, &direct) < 1e-9, "{slots:?} vs {direct:?}");
        let uncorrected = net.forward(&img, r1, r2).0;
        assert!(
            max_err(&slots, &uncorrected) > 1e-6,
            "the correction must change the logits"
        );
    }
    let wrong = [vec![0.0; 1], leaks[1].clone()];
    assert!(HeCnn::new(net, bounds, sign, 512, Some(&wrong)).is_err());
}
