//! Second order: the Hessian-vector product (forward over reverse: the
//! generated gradient of a generic function at `Dual<f64>`) against the
//! gradient, at n = 1000. `cargo bench --bench second_order`.

// Index loops, as numerical code is written.
#![allow(clippy::needless_range_loop)]

use autodiff::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// Extended Rosenbrock.
#[allow(dead_code)]
#[differentiable]
fn rosenbrock<T: Float>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let a = T::one() - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s = s + a * a + T::from(100.0).unwrap() * b * b;
    }
    s
}

/// A smooth objective with transcendental functions: the log-sum-exp of
/// `x` plus a sum of `ln(1 + x_i²)`.
#[allow(dead_code)]
#[differentiable]
fn lse_penalty<T: Float>(x: &[T]) -> T {
    let mut m = x[0];
    for i in 1..x.len() {
        m = m.max(x[i]);
    }
    let mut s = T::zero();
    let mut p = T::zero();
    for i in 0..x.len() {
        s = s + (x[i] - m).exp();
        p = p + (T::one() + x[i] * x[i]).ln();
    }
    m + s.ln() + p
}

fn bench(c: &mut Criterion) {
    let n = 1000;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
    let mut g = c.benchmark_group("second_order");
    g.bench_function("rosenbrock gradient n1000", |b| {
        b.iter(|| rosenbrock_grad(black_box(&x[..])))
    });
    g.bench_function("rosenbrock hvp n1000", |b| {
        b.iter(|| hvp(rosenbrock_grad, black_box(&x), black_box(&v)))
    });
    g.bench_function("lse_penalty gradient n1000", |b| {
        b.iter(|| lse_penalty_grad(black_box(&x[..])))
    });
    g.bench_function("lse_penalty hvp n1000", |b| {
        b.iter(|| hvp(lse_penalty_grad, black_box(&x), black_box(&v)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
