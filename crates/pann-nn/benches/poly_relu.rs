//! Throughput of the fused polynomial-ReLU kernel on plain `f32` slices (no libtorch ops in
//! the loop, so libtorch's own threads do not compete with the kernel's).
//!
//! ```text
//! source scripts/env.sh
//! cargo bench -p pann-nn --bench poly_relu
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pann_nn::{kernel_isa, poly_relu_slice, set_kernel_isa_cap, KernelIsa, OverflowPolicy, PolyRelu};

/// An odd polynomial of the given degree with placeholder coefficients.
fn odd(degree: usize) -> Vec<f64> {
    (0..=degree)
        .map(|i| if i % 2 == 1 { 1.0 / (i * i) as f64 } else { 0.0 })
        .collect()
}

fn bench(c: &mut Criterion) {
    let n = 1 << 22;
    let x: Vec<f32> = (0..n).map(|i| ((i % 2001) as f32 - 1000.0) / 20.0).collect();
    let mut group = c.benchmark_group("poly_relu");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(20);
    // Each build the CPU has, best first (the cap only lowers what `kernel_isa` picks).
    let mut isas = Vec::new();
    for cap in [KernelIsa::Avx512, KernelIsa::Avx2, KernelIsa::Portable] {
        set_kernel_isa_cap(cap);
        if !isas.contains(&kernel_isa()) {
            isas.push(kernel_isa());
        }
    }
    for (isa, degrees) in isas
        .iter()
        .flat_map(|&isa| [vec![7usize], vec![15, 15, 27]].map(|d| (isa, d)))
    {
        set_kernel_isa_cap(isa);
        let relu = PolyRelu {
            components: degrees.iter().map(|&d| odd(d)).collect(),
            bound: 50.0,
            overflow: OverflowPolicy::Count,
            shift: 0.0,
            offsets: Vec::new(),
        };
        let name = format!("{isa:?} {degrees:?}");
        group.bench_with_input(BenchmarkId::from_parameter(name), &relu, |b, relu| {
            let mut y = x.clone();
            b.iter(|| {
                y.copy_from_slice(&x);
                poly_relu_slice(&mut y, relu).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
