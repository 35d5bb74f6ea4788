//! Buffers across calls: local arrays lent to callees (`&v`), parts of
//! slices (`&x[a..b]`, `&x[a..]`), arrays passed by reference, a local
//! buffer written again after a callee read it.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

#[differentiable]
fn logsumexp(x: &[f64]) -> f64 {
    let mut m = x[0];
    for i in 1..x.len() {
        if x[i] > m {
            m = x[i];
        }
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - m).exp();
    }
    m + s.ln()
}

#[differentiable]
fn sqnorm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

/// A local buffer filled per row, lent to a helper, then filled again.
#[differentiable]
fn rows_lse(x: &[f64], k: usize) -> f64 {
    let n = x.len() / k;
    let mut buf = vec![0.0; k];
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..k {
            buf[j] = x[i * k + j] * (j as f64 + 1.0);
        }
        total += logsumexp(&buf);
    }
    total
}

/// Parts of a slice, and an array lent by reference.
#[differentiable]
fn parts(x: &[f64]) -> f64 {
    let head = sqnorm(&x[..2]);
    let tail = logsumexp(&x[2..]);
    let mid = sqnorm(&x[1..=2]);
    let v = [x[0] * x[1], x[2]];
    head * tail + mid + sqnorm(&v)
}

fn check_slice(
    name: &str,
    f: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    vg: impl Fn(&[f64]) -> (f64, Vec<f64>),
    n: usize,
) {
    let mut rng = Rng::new(n as u64);
    for _ in 0..30 {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (y, g) = vg(&x);
        assert_eq!(y, f(&x), "{name}: value");
        check::gradient(&f, &g, &x, FD).unwrap_or_else(|e| panic!("{name}: {e}"));
        let v: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y2, d) = jvp(&x, &v);
        assert_eq!(y2, y, "{name}: JVP value");
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close(&format!("{name}: JVP"), d, expected, EXACT);
    }
}

#[test]
fn local_buffer_lent_to_a_helper() {
    for k in [1, 3] {
        check_slice(
            "rows_lse",
            |x| rows_lse(x, k),
            |x, v| rows_lse_jvp(x, k, v),
            |x| rows_lse_value_and_grad(x, k),
            4 * k,
        );
    }
}

#[test]
fn parts_of_slices() {
    check_slice("parts", parts, parts_jvp, parts_value_and_grad, 5);
}
