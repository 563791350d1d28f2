//! The ResNet program of pann-he on small insecure rings (DISCLAIMER: not secure, tests only): the packing and
//! every layer type against the `f64` ResNet, the same program encrypted against its plaintext mirror, residual
//! additions at unequal levels, missing rotation keys, and the bootstrap planner against brute force.

mod common;

use common::{ctx, max_err, values};
use pann_approx::certify::eval_composite_power;
use pann_approx::CompositeSign;
use pann_he::circuits::model::Conv;
use pann_he::circuits::planner::{self, SitePlan, Step};
use pann_he::circuits::resnet_model::Block;
use pann_he::circuits::{
    EncryptedSlots, HeResNet, KeyedSlots, Layout, Leveled, MirrorSlots, PlainSlots, Plan, ResNet, RotationKeys,
    Shortcut, Slots,
};

fn conv(cin: usize, cout: usize, seed: u64) -> Conv {
    let r = 1.0 / (9.0 * cin as f64).sqrt();
    Conv {
        cin,
        cout,
        w: values(cout * cin * 9, seed, -r, r),
        b: values(cout, seed + 1, -0.2, 0.2),
    }
}

/// A random ResNet on `side × side` inputs: stem 3 → 4, then `blocks` blocks, every second one of stride 2
/// doubling the channels with the given shortcut (`'A'` or `'B'`).
fn tiny_resnet(side: usize, blocks: usize, option: char, seed: u64) -> ResNet {
    let mut c = 4;
    let mut list = Vec::new();
    for k in 0..blocks {
        let stride = if k % 2 == 1 { 2 } else { 1 };
        let out = c * stride;
        let shortcut = match (stride, option) {
            (1, _) => Shortcut::Identity,
            (_, 'A') => Shortcut::PadA { pad: out / 4 },
            _ => Shortcut::Conv1x1 {
                w: values(out * c, seed + 100 + k as u64, -0.5, 0.5),
                b: values(out, seed + 200 + k as u64, -0.2, 0.2),
            },
        };
        list.push(Block {
            conv1: conv(c, out, seed + 10 * k as u64),
            conv2: conv(out, out, seed + 10 * k as u64 + 5),
            stride,
            shortcut,
        });
        c = out;
    }
    ResNet {
        stem: conv(3, 4, seed + 1000),
        blocks: list,
        fc_w: values(10 * c, seed + 2000, -1.0, 1.0),
        fc_b: values(10, seed + 2001, -0.1, 0.1),
        classes: 10,
        side,
    }
}

/// The PANN ReLU of bound `b` as the program computes it: `B/2·(y + y·p(y))`, `y = z/B`.
fn pann(lists: &[Vec<f64>], b: f64, z: f64) -> f64 {
    let y = z / b;
    b / 2.0 * (y + y * eval_composite_power(lists, y))
}

/// Bounds: 1.5 × the largest |input| of each site on a few images, later sites seeing earlier polynomials.
fn bounds(net: &ResNet, sign: &CompositeSign, images: &[Vec<f64>]) -> Vec<f64> {
    let lists = sign.coefficient_lists();
    let mut b: Vec<f64> = Vec::new();
    for site in 0..net.sites() {
        let relu = |k: usize, z: f64| if k < site { pann(&lists, b[k], z) } else { z.max(0.0) };
        let seen = images.iter().map(|x| net.forward(x, relu).1[site]).fold(0.0, f64::max);
        b.push(1.5 * seen);
    }
    b
}

fn images(side: usize, n: u64) -> Vec<Vec<f64>> {
    (0..n).map(|k| values(3 * side * side, 500 + k, -1.5, 1.5)).collect()
}

#[test]
fn multiplexed_layout_packs_every_channel_once_and_refuses_what_does_not_fit() {
    let l = Layout::new(8, 2, 8, 512).unwrap();
    assert_eq!((l.blocks(), l.period(), l.map_side()), (2, 128, 4));
    let map = values(8 * 16, 1, -1.0, 1.0);
    let packed = l.pack(&map).unwrap();
    assert_eq!(packed.iter().filter(|v| **v != 0.0).count(), map.len());
    assert_eq!(l.unpack(&packed), map);
    // CIFAR ResNet-20's stage 3 (64 channels of 8×8 on gap 4) in 4 blocks of 32² slots.
    let s3 = Layout::new(32, 4, 64, 32768).unwrap();
    assert_eq!(s3.period(), 4096);
    assert!(
        Layout::new(32, 1, 64, 32768).is_err(),
        "64 blocks of 1024 slots do not fit 32768"
    );
    assert!(Layout::new(8, 8, 4, 512).is_err(), "a gap as large as the side");
}

#[test]
fn plain_program_is_the_f64_resnet_for_both_shortcut_options_and_stride_two() {
    let sign = CompositeSign::for_alpha(5).unwrap();
    let lists = sign.coefficient_lists();
    for option in ['A', 'B'] {
        let net = tiny_resnet(8, 4, option, 7);
        let imgs = images(8, 3);
        let b = bounds(&net, &sign, &imgs);
        let he = HeResNet::new(net.clone(), b.clone(), vec![sign.clone(); net.sites()], 512).unwrap();
        for x in &imgs {
            let out = he.run(&PlainSlots::default(), &he.input_slots(x).unwrap()).unwrap();
            let got: Vec<f64> = he.logit_slots().iter().map(|&s| out[s]).collect();
            let want = net.pass(x, |k, z| pann(&lists, b[k], z)).0;
            assert!(max_err(&got, &want) < 1e-9, "option {option}: {got:?} vs {want:?}");
            // And the polynomial makes a difference (the check could fail).
            let exact = net.pass(x, |_, z| z.max(0.0)).0;
            assert!(max_err(&exact, &want) > 1e-6);
        }
    }
}

#[test]
fn encrypted_program_follows_its_plaintext_mirror_layer_by_layer() {
    let sign = CompositeSign::for_alpha(5).unwrap();
    for option in ['A', 'B'] {
        let net = tiny_resnet(8, 2, option, 11);
        let imgs = images(8, 2);
        let b = bounds(&net, &sign, &imgs);
        let he = HeResNet::new(net.clone(), b, vec![sign.clone(); net.sites()], 512).unwrap();
        let uses = he.rotation_uses().unwrap();
        let rot: Vec<i64> = uses.iter().map(|u| u.0).collect();
        let depth = he.depth();
        let mut c = ctx(10, depth, &rot);
        let input = he.input_slots(&imgs[0]).unwrap();
        let ct = c
            .enc
            .encrypt_pk(&c.enc.encode(&input, depth, c.params.default_scale()).unwrap(), &c.pk);
        let out = he.run(&EncryptedSlots { eval: &c.eval }, &ct).unwrap();
        assert_eq!(out.level(), 0, "the program consumes exactly its depth");
        let got = c.dec.decrypt_values(&out, 512).unwrap();
        let mirror = he.run_mirror(&imgs[0], depth, 0, None).unwrap();
        assert_eq!(mirror.rotations, uses.iter().map(|u| u.1).sum::<usize>());
        let got: Vec<f64> = he.logit_slots().iter().map(|&s| got[s]).collect();
        assert_eq!(mirror.min_level, 0);
        assert_eq!(mirror.overflows, 0);
        // The split bootstraps are wide: their halved inputs stay within EvalMod's range.
        assert_eq!(mirror.boot_overflows, 0);
        assert!(mirror.boot_max <= 1.0);
        assert!(
            max_err(&got, &mirror.logits) < 1e-3,
            "option {option}: {got:?} vs {:?}",
            mirror.logits
        );
    }
}

#[test]
fn residual_additions_at_unequal_levels_are_aligned() {
    let c = ctx(10, 4, &[]);
    let e = EncryptedSlots { eval: &c.eval };
    let (x, y) = (values(512, 1, -1.0, 1.0), values(512, 2, -1.0, 1.0));
    let mut enc = c.enc;
    let a = enc.encrypt_pk(&enc.encode(&x, 4, c.params.default_scale()).unwrap(), &c.pk);
    let b = enc.encrypt_pk(&enc.encode(&y, 1, c.params.default_scale()).unwrap(), &c.pk);
    for (p, q) in [(&a, &b), (&b, &a)] {
        let s = e.add_aligned(p, q).unwrap();
        assert_eq!(s.level(), 1);
        let got = c.dec.decrypt_values(&s, 512).unwrap();
        let want: Vec<f64> = x.iter().zip(&y).map(|(u, v)| u + v).collect();
        assert!(max_err(&got, &want) < 1e-6);
    }
    // The mirror keeps the same rule; a plain addition at unequal levels is refused there.
    let m = MirrorSlots::new(3);
    let (lx, ly) = (
        Leveled {
            values: x.clone(),
            level: 4,
        },
        Leveled { values: y, level: 1 },
    );
    assert_eq!(m.add_aligned(&lx, &ly).unwrap().level, 1);
    assert!(m.add(&lx, &ly).is_err());
}

#[test]
fn a_missing_rotation_key_is_an_error_naming_the_rotation() {
    let sign = CompositeSign::for_alpha(5).unwrap();
    let net = tiny_resnet(8, 2, 'A', 3);
    let imgs = images(8, 1);
    let b = bounds(&net, &sign, &imgs);
    let he = HeResNet::new(net.clone(), b, vec![sign; net.sites()], 512).unwrap();
    let rot: Vec<i64> = he.rotation_uses().unwrap().iter().map(|u| u.0).collect();
    let missing = rot[rot.len() / 2];
    let keep: Vec<i64> = rot.iter().copied().filter(|&r| r != missing).collect();
    let mut c = ctx(10, he.depth(), &keep);
    let input = he.input_slots(&imgs[0]).unwrap();
    let ct = c.enc.encrypt_pk(
        &c.enc.encode(&input, he.depth(), c.params.default_scale()).unwrap(),
        &c.pk,
    );
    let err = he.run(&EncryptedSlots { eval: &c.eval }, &ct).unwrap_err().to_string();
    // Rotations are reported left by k slots; a right rotation −k is the same key as S − k.
    let named = [missing, missing - 512];
    assert!(
        named.iter().any(|k| err.contains(&format!("rotation by {k} slots"))),
        "{err} (missing {missing})"
    );
}

/// The fewest bootstraps over every plan (each site: input bootstrap or not, any cuts), by enumeration.
fn brute_force_min(steps: &[Step], top: usize, boot: usize) -> Option<usize> {
    let sites: Vec<Vec<SitePlan>> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Relu { parts, .. } => Some(planner::site_choices(parts.len())),
            _ => None,
        })
        .collect();
    let total: usize = sites.iter().map(Vec::len).product();
    (0..total)
        .filter_map(|mut code| {
            let plan = Plan {
                sites: sites
                    .iter()
                    .map(|c| {
                        let sp = c[code % c.len()].clone();
                        code /= c.len();
                        sp
                    })
                    .collect(),
            };
            planner::simulate(steps, top, boot, &plan).ok().map(|_| plan.count())
        })
        .min()
}

#[test]
fn planner_is_optimal_against_brute_force_and_its_plans_run_on_the_mirror() {
    let net = tiny_resnet(8, 3, 'A', 5);
    let imgs = images(8, 1);
    let mut checked = 0;
    let mut split = 0;
    for alpha in [5u32, 7, 9] {
        let sign = CompositeSign::for_alpha(alpha).unwrap();
        let r = sign.relu_depth() as usize;
        let deepest = sign
            .degrees
            .iter()
            .map(|&d| pann_approx::cost::depth(d) as usize)
            .max()
            .unwrap();
        let b = bounds(&net, &sign, &imgs);
        let mut he = HeResNet::new(net.clone(), b, vec![sign; net.sites()], 512).unwrap();
        let steps = he.steps();
        for boot in [deepest + 1, r - 1, r, r + 1, 2 * r + 2] {
            for top in [boot, boot + 12] {
                let best = brute_force_min(&steps, top, boot);
                let planned = he.plan_bootstraps(top, boot).cloned();
                assert_eq!(
                    planned.as_ref().ok().map(Plan::count),
                    best,
                    "α {alpha}, top {top}, boot {boot}"
                );
                let Ok(plan) = planned else { continue };
                checked += 1;
                split += usize::from(plan.sites.iter().any(|s| !s.cuts.is_empty()));
                // The program itself, level by level: never below 0, and as many bootstraps as planned.
                let run = he.run_mirror(&imgs[0], top, boot, None).unwrap();
                assert_eq!(run.bootstraps, plan.count());
                // Dropping any one bootstrap makes the mirror run out of levels.
                for k in 0..plan.sites.len() {
                    let mut fewer = plan.clone();
                    if fewer.sites[k].input {
                        fewer.sites[k].input = false;
                    } else if fewer.sites[k].cuts.pop().is_none() {
                        continue;
                    }
                    he.set_plan(fewer).unwrap();
                    assert!(
                        he.run_mirror(&imgs[0], top, boot, None).is_err(),
                        "site {k}: bootstrap was needed"
                    );
                }
            }
        }
        // A bootstrap that leaves no room for the deepest component and its product cannot work.
        assert!(he.plan_bootstraps(40, deepest).is_err());
    }
    assert!(checked > 10, "only {checked} feasible cases");
    assert!(split > 0, "no case split a ReLU");
}

#[test]
fn a_relu_split_by_bootstraps_is_the_same_relu_on_the_mirror() {
    // Levels below one ReLU's depth: every ReLU is split between its components; the logits do not change.
    let sign = CompositeSign::for_alpha(9).unwrap();
    let net = tiny_resnet(8, 2, 'B', 21);
    let imgs = images(8, 2);
    let b = bounds(&net, &sign, &imgs);
    let mut he = HeResNet::new(net.clone(), b, vec![sign.clone(); net.sites()], 512).unwrap();
    let whole = he.run_mirror(&imgs[0], he.depth(), 0, None).unwrap();
    let r = sign.relu_depth() as usize;
    let plan = he.plan_bootstraps(r - 1, r - 1).unwrap().clone();
    assert!(plan.sites.iter().all(|s| !s.cuts.is_empty()), "{plan:?}");
    let split = he.run_mirror(&imgs[0], r - 1, r - 1, None).unwrap();
    assert_eq!(split.bootstraps, plan.count());
    assert!(max_err(&whole.logits, &split.logits) < 1e-12);
}

#[test]
fn rotations_composed_from_a_few_keys_give_the_same_network() {
    let sign = CompositeSign::for_alpha(5).unwrap();
    let net = tiny_resnet(8, 2, 'B', 13);
    let imgs = images(8, 1);
    let b = bounds(&net, &sign, &imgs);
    let he = HeResNet::new(net.clone(), b, vec![sign; net.sites()], 512).unwrap();
    let uses = he.rotation_uses().unwrap();
    // Powers of two and one of the used rotations: everything else composed.
    let base: Vec<i64> = (0..9).map(|t| 1i64 << t).collect();
    let keys = RotationKeys::choose(512, &base, &uses, 1);
    assert_eq!(keys.keys().len(), base.len() + 1);
    let switches = keys.switches(&uses).unwrap();
    assert!(
        switches > uses.iter().map(|u| u.1).sum::<usize>(),
        "composition costs more key switches"
    );
    let depth = he.depth();
    let plain = he.run_mirror(&imgs[0], depth, 0, None).unwrap();
    let keyed = he.run_mirror(&imgs[0], depth, 0, Some(&keys)).unwrap();
    assert_eq!(keyed.rotations, switches);
    assert!(max_err(&plain.logits, &keyed.logits) < 1e-12);
    let mut c = ctx(10, depth, keys.keys());
    let input = he.input_slots(&imgs[0]).unwrap();
    let ct = c
        .enc
        .encrypt_pk(&c.enc.encode(&input, depth, c.params.default_scale()).unwrap(), &c.pk);
    let inner = EncryptedSlots { eval: &c.eval };
    let out = he
        .run(
            &KeyedSlots {
                inner: &inner,
                keys: &keys,
            },
            &ct,
        )
        .unwrap();
    let got = c.dec.decrypt_values(&out, 512).unwrap();
    let got: Vec<f64> = he.logit_slots().iter().map(|&s| got[s]).collect();
    assert!(max_err(&got, &plain.logits) < 1e-3, "{got:?} vs {:?}", plain.logits);
    // Keys 2 and 4 compose only even rotations: an odd one is refused, and the error names it.
    let odd = RotationKeys::new(512, &[2, 4]);
    let err = odd.path(3).unwrap_err().to_string();
    assert!(err.contains("rotation by 3 slots"), "{err}");
}

#[test]
fn encrypted_resnet_with_planned_and_split_bootstraps_follows_its_mirror() {
    use pann_he::bootstrap::{keys as boot_keys, params as boot_params, Bootstrapper};
    use pann_he::circuits::BootstrappingSlots;
    use pann_he::ckks::{Decryptor, Encoder, Encryptor, Parameters};
    use pann_he::rlwe::KeyGenerator;
    use std::sync::Arc;
    // α = 7 with fewer levels between bootstraps than one ReLU takes: the planner splits every ReLU.
    let sign = CompositeSign::for_alpha(7).unwrap();
    let deepest = sign
        .degrees
        .iter()
        .map(|&d| pann_approx::cost::depth(d) as usize)
        .max()
        .unwrap();
    let levels = (deepest + 1).max(sign.relu_depth() as usize - 2);
    assert!(levels < sign.relu_depth() as usize);
    let net = tiny_resnet(8, 2, 'A', 17);
    let imgs = images(8, 2);
    let b = bounds(&net, &sign, &imgs);
    let mut he = HeResNet::new(net.clone(), b, vec![sign.clone(); net.sites()], 512).unwrap();
    let plan = he.plan_bootstraps(levels, levels).unwrap().clone();
    assert!(plan.sites.iter().any(|s| !s.cuts.is_empty()), "{plan:?}");
    let mirror = he.run_mirror(&imgs[0], levels, levels, None).unwrap();
    eprintln!(
        "mirror: {} ReLU overflows, {} bootstrap inputs beyond 1, largest {}",
        mirror.overflows, mirror.boot_overflows, mirror.boot_max
    );
    assert_eq!(mirror.overflows, 0);
    // The split bootstraps are wide: their halved inputs stay within EvalMod's range.
    assert_eq!(mirror.boot_overflows, 0);
    assert!(mirror.boot_max <= 1.0);

    let preset = boot_params::test_insecure(10, levels);
    let params = Arc::new(Parameters::new(preset.literal.clone()).unwrap());
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 3);
    let sk = kg.secret_key();
    let ring = params.ring();
    let mut elements = boot_keys::galois_elements(&params, &preset.boot);
    elements.extend(he.rotation_uses().unwrap().iter().map(|u| ring.galois_element(u.0)));
    elements.sort_unstable();
    elements.dedup();
    let keys = pann_he::bootstrap::BootstrapKeys {
        relin: kg.relin_key(&sk),
        galois: kg.galois_keys_for_elements(&sk, &elements),
        encapsulation: None,
    };
    let boot = Bootstrapper::new(params.clone(), encoder.clone(), preset.boot.clone(), keys).unwrap();
    assert_eq!(boot.output_level(), levels);
    let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), 4);
    let dec = Decryptor::new(params.clone(), encoder, sk.clone());
    let pt = enc
        .encode(&he.input_slots(&imgs[0]).unwrap(), levels, params.default_scale())
        .unwrap();
    let ct = enc.encrypt_sk(&pt, &sk);
    let out = he.run(&BootstrappingSlots { boot: &boot }, &ct).unwrap();
    let got = dec.decrypt_values(&out, 512).unwrap();
    let got: Vec<f64> = he.logit_slots().iter().map(|&s| got[s]).collect();
    let err = max_err(&got, &mirror.logits);
    eprintln!(
        "{} bootstraps ({} sites split): logit error {err:.2e}",
        plan.count(),
        plan.sites.iter().filter(|s| !s.cuts.is_empty()).count()
    );
    // Measured 2·10^-7 (the sign's intermediate values reach 1.4 at the split bootstraps, halved there).
    assert!(err < 1e-5, "{got:?} vs {:?}", mirror.logits);
}
