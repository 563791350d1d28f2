//! Generation speed of the approximation engine (issue target: every α from 4 to 20 in well under one second).
//!
//! `cargo bench -p pann-approx` — `all_alphas_4_to_20` is the whole job of `pann approx --table 4..20`: degree
//! search, design and certificate for 17 precisions, sharing the error tables as the CLI does.

use criterion::{criterion_group, criterion_main, Criterion};
use pann_approx::search::{cheapest_with_tables, ErrorTables, SearchConfig};
use pann_approx::{remez, CompositeSign, Domain, RemezConfig, Symmetry};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("approx");
    g.sample_size(10);
    g.bench_function("all_alphas_4_to_20", |b| {
        b.iter(|| {
            let mut tables = ErrorTables::default();
            for a in 4..=20 {
                black_box(cheapest_with_tables(a, &SearchConfig::default(), &mut tables).unwrap());
            }
        })
    });
    g.bench_function("alpha_14_search", |b| {
        b.iter(|| black_box(CompositeSign::for_alpha(14).unwrap()))
    });
    g.bench_function("lee_alpha_14_design", |b| {
        b.iter(|| black_box(CompositeSign::with_degrees(14, &[15, 27, 29]).unwrap()))
    });
    let dom = Domain::interval(1e-3, 1.0).unwrap();
    g.bench_function("remez_sign_degree_31", |b| {
        b.iter(|| {
            black_box(
                remez(
                    |_: f64| 1.0,
                    |_: f64| 1.0,
                    &dom,
                    31,
                    Symmetry::Odd,
                    &RemezConfig::default(),
                    None,
                )
                .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(approx, benches);
criterion_main!(approx);
