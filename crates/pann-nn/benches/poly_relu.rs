//! Throughput of the fused polynomial-ReLU kernel on plain `f32` slices (no libtorch ops in
//! the loop, so libtorch's own threads do not compete with the kernel's), and of the
//! polynomial 2×2 max-pool on tensors of the shapes VGG pools on CIFAR: many large planes and
//! many 2×2 planes. Its kernel fills the lanes across planes, so both should run at about the
//! same rate per output.
//!
//! ```text
//! source scripts/env.sh
//! cargo bench -p pann-nn --bench poly_relu
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pann_nn::tch::{Device, Kind, Tensor};
use pann_nn::{
    apply_max_pool, kernel_isa, poly_relu_slice, set_kernel_isa_cap, KernelIsa, OverflowPolicy, PolyMax, PolyRelu,
    PoolActivation,
};

/// Each kernel build the CPU has, best first (the cap only lowers what `kernel_isa` picks).
fn isas() -> Vec<KernelIsa> {
    let mut isas = Vec::new();
    for cap in [KernelIsa::Avx512, KernelIsa::Avx2, KernelIsa::Portable] {
        set_kernel_isa_cap(cap);
        if !isas.contains(&kernel_isa()) {
            isas.push(kernel_isa());
        }
    }
    isas
}

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
    for (isa, degrees) in isas()
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

fn bench_max_pool(c: &mut Criterion) {
    let _guard = pann_nn::tch::no_grad_guard();
    let mut group = c.benchmark_group("poly_max_pool");
    group.sample_size(10);
    let pool = PoolActivation::Poly(PolyMax {
        components: vec![odd(7), odd(7)],
        divisors: vec![60.0, 120.0],
        overflow: OverflowPolicy::Count,
    });
    // 2^18 outputs each: 1,024 planes of 32×32 → 16×16, and 262,144 planes of 2×2 → 1×1.
    for shape in [[16i64, 64, 32, 32], [1024, 256, 2, 2]] {
        let x = Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 10.0;
        let outputs = x.numel() as u64 / 4;
        group.throughput(Throughput::Elements(outputs));
        for isa in isas() {
            set_kernel_isa_cap(isa);
            let name = format!("{isa:?} {shape:?}");
            group.bench_with_input(BenchmarkId::from_parameter(name), &x, |b, x| {
                b.iter(|| apply_max_pool(x, 2, &pool).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench, bench_max_pool);
criterion_main!(benches);
