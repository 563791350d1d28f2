//! CKKS hot paths at N = 2^14, 2^15, 2^16, on one thread and on two:
//! NTT (one prime, and every prime of the top level, the rows in parallel), multiply + relinearise, rescale,
//! rotate — each at the top level of the preset.
//!
//! `cargo bench -p pann-he` (criterion). Reference point from the issue, measured there on this kind of machine,
//! single thread: SEAL (through sealy) multiply + relinearise at N = 2^14 with a 400-bit modulus: 25.6 ms —
//! compare with `pn14_qp400/1t/mul_relin`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use pann_he::ckks::{presets, Ciphertext, Encoder, Encryptor, Evaluator, Parameters, ParametersLiteral};
use pann_he::rlwe::KeyGenerator;

struct Setup {
    params: Arc<Parameters>,
    eval: Evaluator,
    ct: Ciphertext,
}

fn setup(lit: ParametersLiteral) -> Setup {
    let params = Arc::new(Parameters::new(lit).expect("preset"));
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 1);
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk);
    let rlk = kg.relin_key(&sk);
    let gks = kg.galois_keys(&sk, &[1]);
    let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), 2);
    let values: Vec<f64> = (0..params.slots()).map(|i| ((i % 17) as f64 - 8.0) / 8.0).collect();
    let pt = enc
        .encode(&values, params.max_level(), params.default_scale())
        .expect("encode");
    let ct = enc.encrypt_pk(&pt, &pk);
    let eval = Evaluator::new(params.clone(), encoder, Some(rlk), gks);
    Setup { params, eval, ct }
}

fn bench(c: &mut Criterion) {
    let sets = [
        ("pn14_qp400", presets::pn14_qp400()),
        ("pn15_qp881", presets::pn15_qp881()),
        ("pn16_qp1500", presets::pn16_qp1500()),
    ];
    for (name, lit) in sets {
        let s = setup(lit);
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let mut g = c.benchmark_group(format!("{name}/{threads}t"));
            g.sample_size(10);
            let ring = s.params.ring().clone();
            let table = ring.table_of(pann_he::ring::Basis::level(0), 0);
            let row: Vec<u64> = (0..ring.n() as u64).map(|i| i * 7919 % ring.q(0).value()).collect();
            if threads == 1 {
                g.bench_function("ntt_forward_one_prime", |b| {
                    b.iter_batched_ref(|| row.clone(), |r| table.forward(r), BatchSize::LargeInput)
                });
                g.bench_function("ntt_inverse_one_prime", |b| {
                    b.iter_batched_ref(|| row.clone(), |r| table.inverse(r), BatchSize::LargeInput)
                });
            }
            let full = ring.from_signed(
                &(0..ring.n() as i64)
                    .map(|i| (i * 7919) % 1_000_003 - 500_000)
                    .collect::<Vec<_>>(),
                pann_he::ring::Basis::level(s.params.max_level()),
            );
            g.bench_function("ntt_forward_all_primes", |b| {
                b.iter_batched_ref(|| full.clone(), |p| pool.install(|| ring.ntt(p)), BatchSize::LargeInput)
            });
            g.bench_function("mul_relin", |b| {
                b.iter(|| pool.install(|| s.eval.mul(&s.ct, &s.ct).expect("mul")))
            });
            let prod = s.eval.mul(&s.ct, &s.ct).expect("mul");
            g.bench_function("rescale", |b| {
                b.iter(|| pool.install(|| s.eval.rescale(&prod).expect("rescale")))
            });
            g.bench_function("rotate", |b| {
                b.iter(|| pool.install(|| s.eval.rotate(&s.ct, 1).expect("rotate")))
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
