//! Gradients of straight-line functions: the primal, the generated gradient,
//! a hand-written gradient, and forward mode with `Dual` (one pass per
//! input). `cargo bench --bench straight_line`; the ratios are in
//! docs/benchmarks.md.

use std::hint::black_box;

use autodiff::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::not_inlined;

#[differentiable]
fn quickstart(x: f64, y: f64) -> f64 {
    let a = x * y + (x / y).sin();
    let b = a.exp() - 3.0 * y.powi(2);
    a.mul_add(b, x.sqrt())
}

fn quickstart_generic<T: Float>(x: T, y: T) -> T {
    let a = x * y + (x / y).sin();
    let three = T::from(3.0).unwrap_or_else(T::nan);
    let b = a.exp() - three * y.powi(2);
    a.mul_add(b, x.sqrt())
}

/// What a careful person writes by hand: the chain rule backwards, each
/// shared factor computed once (three divisions, like the generated code;
/// a version dividing `cos(x/y)` by `y` twice measured 34 ns, not 21).
fn quickstart_hand(x: f64, y: f64) -> (f64, f64) {
    let q = x / y;
    let a = x * y + q.sin();
    let ea = a.exp();
    let b = ea - 3.0 * y * y;
    // f = a b + sqrt(x): ∂f/∂a = b + a e^a (through b), ∂f/∂b = a.
    let ga = b + a * ea;
    let t = q.cos() * ga / y;
    let gx = 0.5 / x.sqrt() + t + y * ga;
    let gy = -6.0 * y * a - q * t + x * ga;
    (gx, gy)
}

/// The Lennard-Jones energy of a pair at offset (dx, dy).
#[differentiable]
fn pair(dx: f64, dy: f64) -> f64 {
    let r2 = dx * dx + dy * dy;
    let s6 = r2.recip().powi(3);
    4.0 * (s6 * s6 - s6)
}

/// Three particles in the plane.
#[differentiable]
fn three_body(x1: f64, y1: f64, x2: f64, y2: f64, x3: f64, y3: f64) -> f64 {
    pair(x2 - x1, y2 - y1) + pair(x3 - x1, y3 - y1) + pair(x3 - x2, y3 - y2)
}

fn pair_generic<T: Float>(dx: T, dy: T) -> T {
    let r2 = dx * dx + dy * dy;
    let s6 = r2.recip().powi(3);
    let four = T::from(4.0).unwrap_or_else(T::nan);
    four * (s6 * s6 - s6)
}

fn three_body_generic<T: Float>(p: [T; 6]) -> T {
    pair_generic(p[2] - p[0], p[3] - p[1])
        + pair_generic(p[4] - p[0], p[5] - p[1])
        + pair_generic(p[4] - p[2], p[5] - p[3])
}

/// The force of a pair as a function of the offset: (∂e/∂dx, ∂e/∂dy).
fn pair_hand(dx: f64, dy: f64) -> (f64, f64) {
    let r2 = dx * dx + dy * dy;
    let inv = r2.recip();
    let s6 = inv * inv * inv;
    let de_dr2 = (-24.0 * s6 * s6 + 12.0 * s6) * inv;
    (2.0 * dx * de_dr2, 2.0 * dy * de_dr2)
}

fn three_body_hand(p: [f64; 6]) -> [f64; 6] {
    let (ax, ay) = pair_hand(p[2] - p[0], p[3] - p[1]);
    let (bx, by) = pair_hand(p[4] - p[0], p[5] - p[1]);
    let (cx, cy) = pair_hand(p[4] - p[2], p[5] - p[3]);
    [-ax - bx, -ay - by, ax - cx, ay - cy, bx + cx, by + cy]
}

not_inlined! {
    q_primal(x: f64, y: f64) -> f64 = quickstart(x, y);
    q_grad(x: f64, y: f64) -> (f64, f64) = quickstart_grad(x, y);
    q_hand(x: f64, y: f64) -> (f64, f64) = quickstart_hand(x, y);
    q_dual(x: f64, y: f64) -> (f64, f64) = (
        quickstart_generic(Dual::variable(x), Dual::constant(y)).eps,
        quickstart_generic(Dual::constant(x), Dual::variable(y)).eps,
    );
    tb_primal(p: [f64; 6]) -> f64 = three_body(p[0], p[1], p[2], p[3], p[4], p[5]);
    tb_grad(p: [f64; 6]) -> (f64, f64, f64, f64, f64, f64) = three_body_grad(p[0], p[1], p[2], p[3], p[4], p[5]);
    tb_hand(p: [f64; 6]) -> [f64; 6] = three_body_hand(p);
    tb_dual(p: [f64; 6]) -> [f64; 6] = std::array::from_fn(|i| {
        let args = std::array::from_fn(|j| if i == j { Dual::variable(p[j]) } else { Dual::constant(p[j]) });
        three_body_generic(args).eps
    });
}

fn benches(c: &mut Criterion) {
    let (x, y) = (1.5, 2.0);
    let mut g = c.benchmark_group("quickstart");
    g.bench_function("primal", |b| {
        b.iter(|| q_primal(black_box(x), black_box(y)))
    });
    g.bench_function("grad", |b| b.iter(|| q_grad(black_box(x), black_box(y))));
    g.bench_function("hand", |b| b.iter(|| q_hand(black_box(x), black_box(y))));
    g.bench_function("dual", |b| b.iter(|| q_dual(black_box(x), black_box(y))));
    g.finish();

    let p = [0.0, 0.1, 1.1, -0.2, 0.4, 1.0];
    let mut g = c.benchmark_group("three_body");
    g.bench_function("primal", |b| b.iter(|| tb_primal(black_box(p))));
    g.bench_function("grad", |b| b.iter(|| tb_grad(black_box(p))));
    g.bench_function("hand", |b| b.iter(|| tb_hand(black_box(p))));
    g.bench_function("dual", |b| b.iter(|| tb_dual(black_box(p))));
    g.finish();

    // The benchmarks compare equal things.
    let (gx, gy) = q_grad(x, y);
    let (hx, hy) = q_hand(x, y);
    let (dx, dy) = q_dual(x, y);
    assert!((gx - dx).abs() < 1e-12 * dx.abs() && (gy - dy).abs() < 1e-12 * dy.abs());
    assert!((gx - hx).abs() < 1e-9 * hx.abs() && (gy - hy).abs() < 1e-9 * hy.abs());
    let g = tb_grad(p);
    let h = tb_hand(p);
    // Not bit for bit: LLVM may fold `powi` with constant arguments differently.
    assert!((tb_primal(p) - three_body(p[0], p[1], p[2], p[3], p[4], p[5])).abs() < 1e-12);
    assert!(
        tb_dual(p)
            .iter()
            .zip(h)
            .all(|(a, b)| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
    );
    let g = [g.0, g.1, g.2, g.3, g.4, g.5];
    for (a, b) in g.iter().zip(h) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{g:?} vs {h:?}");
    }
}

criterion_group!(straight_line, benches);
criterion_main!(straight_line);
