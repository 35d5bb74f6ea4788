//! GPU against CPU: element-wise kernels (the workload
//! `f(x) = sin(x) x + exp(-x)`, its value and its VJP) and the matrix
//! product with its reverse, on the adapter wgpu finds.
//!
//! `cargo bench -p autodiff-gpu-tests --bench gpu` (`WGPU_BACKEND=vulkan`
//! for a software adapter). Device times include waiting for the GPU
//! (`Gpu::synchronize`), not transfers: inputs and outputs stay on the
//! device, in buffers kept between calls, as in a training loop. On a
//! software adapter (lavapipe) the GPU side is slower than the CPU: it is
//! the CPU, running SPIR-V through LLVM.

use std::time::Duration;

use autodiff::gpu::{Gpu, GpuBuffer, MapArg, Mode};
use autodiff::prelude::*;
use autodiff_gpu_tests::{HAND_WRITTEN_VJP, Lcg, product_dot_grad};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

// Only its siblings run here.
#[allow(dead_code)]
#[differentiable(gpu)]
fn f(x: f32) -> f32 {
    x.sin() * x + (-x).exp()
}

fn sizes(gpu: &Gpu) -> Vec<usize> {
    let mut s = vec![10_000, 100_000, 1_000_000, 10_000_000];
    if !gpu.is_software() {
        // The size, 2^28: 1 GiB per array.
        s.push(1 << 28);
    }
    s
}

fn elementwise(c: &mut Criterion) {
    let Ok(gpu) = Gpu::shared() else {
        eprintln!("no GPU adapter: the GPU benchmarks do not run (see docs/gpu.md)");
        return;
    };
    eprintln!("adapter: {}", gpu.adapter());
    let mut group = c.benchmark_group("f_vjp");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut rng = Lcg::new(1);
    for n in sizes(gpu) {
        group.throughput(Throughput::Elements(n as u64));
        let x = rng.vec(n.min(10_000_000), -3.0, 3.0);
        let dy = rng.vec(n.min(10_000_000), -1.0, 1.0);
        if n <= 10_000_000 {
            let mut g = vec![0.0f32; n];
            group.bench_with_input(BenchmarkId::new("cpu", n), &n, |b, _| {
                b.iter(|| {
                    for i in 0..n {
                        g[i] = f_vjp(x[i], dy[i]).1;
                    }
                })
            });
        }
        let (xb, dyb, gb) = device_inputs(gpu, &x, &dy, n);
        group.bench_with_input(BenchmarkId::new("gpu generated", n), &n, |b, _| {
            b.iter(|| {
                f_gpu_kernel()
                    .run_into(
                        gpu,
                        Mode::Vjp,
                        &[MapArg::from(&xb), MapArg::from(&dyb)],
                        &[&gb],
                    )
                    .unwrap();
                gpu.synchronize().unwrap();
            })
        });
        group.bench_with_input(BenchmarkId::new("gpu hand-written", n), &n, |b, _| {
            b.iter(|| {
                gpu.run_wgsl(
                    HAND_WRITTEN_VJP,
                    "main",
                    &[&xb, &dyb, &gb],
                    (n as u64).div_ceil(256),
                )
                .unwrap();
                gpu.synchronize().unwrap();
            })
        });
        group.bench_with_input(BenchmarkId::new("gpu copy", n), &n, |b, _| {
            b.iter(|| {
                gpu.copy(&xb, &gb);
                gpu.synchronize().unwrap();
            })
        });
    }
    group.finish();
}

/// `x` and `dy` on the device (repeated up to `n`), and an output.
fn device_inputs(gpu: &Gpu, x: &[f32], dy: &[f32], n: usize) -> (GpuBuffer, GpuBuffer, GpuBuffer) {
    let tiled = |v: &[f32]| -> GpuBuffer {
        let full: Vec<f32> = v.iter().copied().cycle().take(n).collect();
        gpu.upload(&full).unwrap()
    };
    (tiled(x), tiled(dy), gpu.zeros(n).unwrap())
}

fn matmul(c: &mut Criterion) {
    let Ok(gpu) = Gpu::shared() else { return };
    let mut group = c.benchmark_group("matmul");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let sizes: &[usize] = if gpu.is_software() {
        &[128, 512]
    } else {
        &[1024, 4096]
    };
    let mut rng = Lcg::new(2);
    for &s in sizes {
        let a = rng.vec(s * s, -1.0, 1.0);
        let b = rng.vec(s * s, -1.0, 1.0);
        let w = rng.vec(s * s, -1.0, 1.0);
        let (ab, bb, wb) = (
            gpu.upload(&a).unwrap(),
            gpu.upload(&b).unwrap(),
            gpu.upload(&w).unwrap(),
        );
        group.bench_with_input(BenchmarkId::new("gpu forward", s), &s, |bn, _| {
            bn.iter(|| {
                gpu.matmul(&ab, &bb, s, s, s).unwrap();
                gpu.synchronize().unwrap();
            })
        });
        group.bench_with_input(BenchmarkId::new("gpu backward", s), &s, |bn, _| {
            bn.iter(|| {
                gpu.matmul_vjp(&ab, &bb, &wb, s, s, s).unwrap();
                gpu.synchronize().unwrap();
            })
        });
        if s <= 512 {
            group.bench_with_input(BenchmarkId::new("cpu backward", s), &s, |bn, _| {
                bn.iter(|| product_dot_grad(&a, &b, &w, s, s, s))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, elementwise, matmul);
criterion_main!(benches);
