//! Gradients of programs with loops: the primal, the generated gradient and
//! a careful hand-written gradient, for the four programs of the issue on
//! control flow. `cargo bench --bench loops`; the ratios are in
//! docs/benchmarks.md.

use std::hint::black_box;

use autodiff::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::close;
use common::not_inlined;

const N: usize = 10_000;

#[differentiable]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
    }
    s
}

/// Each element written once: `g[i]` gets its two terms in one iteration
/// (accumulating into `g[i + 1]` as well measured 68 µs, 4x slower, from
/// the store-to-load chain through memory).
fn rosenbrock_hand(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut from_left = 0.0;
    for i in 0..n - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        g[i] = from_left - 2.0 * a - 400.0 * b * x[i];
        from_left = 200.0 * b;
    }
    g[n - 1] = from_left;
    g
}

/// Cross-entropy of the softmax of `logits` against class `target`.
#[differentiable]
fn softmax_ce(logits: &[f64], target: usize) -> f64 {
    let mut m = logits[0];
    for &v in logits.iter() {
        m = m.max(v);
    }
    let mut z = 0.0;
    for &v in logits.iter() {
        z += (v - m).exp();
    }
    z.ln() + m - logits[target]
}

fn softmax_ce_hand(logits: &[f64], target: usize) -> Vec<f64> {
    let m = logits.iter().fold(logits[0], |m, &v| m.max(v));
    let mut g: Vec<f64> = logits.iter().map(|&v| (v - m).exp()).collect();
    let z: f64 = g.iter().sum();
    for gi in &mut g {
        *gi /= z;
    }
    g[target] -= 1.0;
    g
}

/// The polynomial with coefficients `c` at `x`, by Horner's rule.
#[differentiable]
fn horner(c: &[f64], x: f64) -> f64 {
    let mut y = 0.0;
    for k in (0..c.len()).rev() {
        y = y * x + c[k];
    }
    y
}

fn horner_hand(c: &[f64], x: f64) -> (Vec<f64>, f64) {
    // ∂p/∂c_k = x^k; ∂p/∂x by Horner's rule on the derivative.
    let mut gc = vec![0.0; c.len()];
    let mut power = 1.0;
    for g in gc.iter_mut() {
        *g = power;
        power *= x;
    }
    let (mut y, mut dy) = (0.0, 0.0);
    for k in (0..c.len()).rev() {
        dy = dy * x + y;
        y = y * x + c[k];
    }
    (gc, dy)
}

/// A damped pendulum, explicit Euler: `p = [angle, velocity, damping,
/// length]`; the energy-like output at the end.
#[differentiable]
fn pendulum(p: &[f64], steps: usize) -> f64 {
    let dt = 1e-3;
    let mut th = p[0];
    let mut om = p[1];
    for _ in 0..steps {
        let a = -9.81 / p[3] * th.sin() - p[2] * om;
        th += dt * om;
        om += dt * a;
    }
    th * th + om * om
}

fn pendulum_hand(p: &[f64], steps: usize) -> Vec<f64> {
    let dt = 1e-3;
    let (mut th, mut om) = (p[0], p[1]);
    let mut path = Vec::with_capacity(steps);
    for _ in 0..steps {
        path.push((th, om));
        let a = -9.81 / p[3] * th.sin() - p[2] * om;
        th += dt * om;
        om += dt * a;
    }
    let (mut gth, mut gom) = (2.0 * th, 2.0 * om);
    let (mut gc, mut gl) = (0.0, 0.0);
    for &(th, om) in path.iter().rev() {
        // th' = th + dt om;  om' = om + dt (-(9.81 / l) sin th - c om)
        gc -= gom * dt * om;
        gl += gom * dt * 9.81 / (p[3] * p[3]) * th.sin();
        let new_gth = gth - gom * dt * 9.81 / p[3] * th.cos();
        let new_gom = gth * dt + gom * (1.0 - dt * p[2]);
        (gth, gom) = (new_gth, new_gom);
    }
    vec![gth, gom, gc, gl]
}

not_inlined! {
    r_primal(x: &[f64]) -> f64 = rosenbrock(x);
    r_grad(x: &[f64]) -> Vec<f64> = rosenbrock_grad(x);
    r_hand(x: &[f64]) -> Vec<f64> = rosenbrock_hand(x);
    s_primal(x: &[f64], t: usize) -> f64 = softmax_ce(x, t);
    s_grad(x: &[f64], t: usize) -> Vec<f64> = softmax_ce_grad(x, t);
    s_hand(x: &[f64], t: usize) -> Vec<f64> = softmax_ce_hand(x, t);
    h_primal(c: &[f64], x: f64) -> f64 = horner(c, x);
    h_grad(c: &[f64], x: f64) -> (Vec<f64>, f64) = horner_grad(c, x);
    h_hand(c: &[f64], x: f64) -> (Vec<f64>, f64) = horner_hand(c, x);
    p_primal(p: &[f64], n: usize) -> f64 = pendulum(p, n);
    p_grad(p: &[f64], n: usize) -> Vec<f64> = pendulum_grad(p, n);
    p_hand(p: &[f64], n: usize) -> Vec<f64> = pendulum_hand(p, n);
}

fn benches(c: &mut Criterion) {
    let x: Vec<f64> = (0..N)
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let p = [0.8, 0.0, 0.3, 1.5];
    assert!(close(&r_grad(&x), &r_hand(&x)));
    assert!(close(&s_grad(&x, 17), &s_hand(&x, 17)));
    let (hg, hx) = h_grad(&x, 0.999);
    let (hh, hhx) = h_hand(&x, 0.999);
    assert!(close(&hg, &hh) && close(&[hx], &[hhx]));
    assert!(
        close(&p_grad(&p, N), &p_hand(&p, N)),
        "{:?} {:?}",
        p_grad(&p, N),
        p_hand(&p, N)
    );

    let mut g = c.benchmark_group("rosenbrock");
    g.bench_function("primal", |b| b.iter(|| r_primal(black_box(&x))));
    g.bench_function("grad", |b| b.iter(|| r_grad(black_box(&x))));
    g.bench_function("hand", |b| b.iter(|| r_hand(black_box(&x))));
    g.finish();
    let mut g = c.benchmark_group("softmax_ce");
    g.bench_function("primal", |b| {
        b.iter(|| s_primal(black_box(&x), black_box(17)))
    });
    g.bench_function("grad", |b| b.iter(|| s_grad(black_box(&x), black_box(17))));
    g.bench_function("hand", |b| b.iter(|| s_hand(black_box(&x), black_box(17))));
    g.finish();
    let mut g = c.benchmark_group("horner");
    g.bench_function("primal", |b| {
        b.iter(|| h_primal(black_box(&x), black_box(0.999)))
    });
    g.bench_function("grad", |b| {
        b.iter(|| h_grad(black_box(&x), black_box(0.999)))
    });
    g.bench_function("hand", |b| {
        b.iter(|| h_hand(black_box(&x), black_box(0.999)))
    });
    g.finish();
    let mut g = c.benchmark_group("pendulum");
    g.bench_function("primal", |b| {
        b.iter(|| p_primal(black_box(&p), black_box(N)))
    });
    g.bench_function("grad", |b| b.iter(|| p_grad(black_box(&p), black_box(N))));
    g.bench_function("hand", |b| b.iter(|| p_hand(black_box(&p), black_box(N))));
    g.finish();
}

criterion_group!(loops, benches);
criterion_main!(loops);
