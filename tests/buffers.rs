//! Buffers across calls: local arrays lent to callees (`&v`), parts of
//! slices (`&x[a..b]`, `&x[a..]`), arrays passed by reference, a local
//! buffer written again after a callee read it.
#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::vec_init_then_push
)]

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

/// A scratch array made inside a loop, written by an inner loop, read back
/// (a per-bone transform), and lent to a helper.
#[differentiable]
fn per_bone(theta: &[f64], n: usize) -> f64 {
    let mut total = 0.0;
    for b in 0..n {
        let mut tr = [0.0; 4];
        for i in 0..4 {
            tr[i] = theta[b] * (i as f64 + 1.0);
            if i > 0 {
                tr[i] += tr[i - 1].sin();
            }
        }
        let mut acc = 0.0;
        for i in 0..4 {
            acc += tr[i] * tr[(i + 1) % 4];
        }
        total += acc + sqnorm(&tr);
    }
    total
}

/// A scratch vector made in a branch.
#[differentiable]
fn in_branch(x: &[f64]) -> f64 {
    if x[0] > 0.0 {
        let mut w = vec![0.0; x.len()];
        for i in 0..x.len() {
            w[i] = x[i] * x[0];
        }
        w[0] = w[1] * w[0];
        logsumexp(&w) + w[0]
    } else {
        x[1]
    }
}

#[test]
fn scratch_arrays_made_in_loops_and_branches() {
    check_slice(
        "per_bone",
        |x| per_bone(x, 3),
        |x, v| per_bone_jvp(x, 3, v),
        |x| per_bone_value_and_grad(x, 3),
        3,
    );
    check_slice(
        "in_branch",
        in_branch,
        in_branch_jvp,
        in_branch_value_and_grad,
        4,
    );
}

/// A vector built by `push` and read back, at the top and inside a loop.
#[differentiable]
fn pushed(x: &[f64]) -> f64 {
    let mut p = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        p.push(x[i] * x[i]);
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut q = Vec::new();
        q.push(p[i]);
        q.push(x[i].sin());
        q[0] = q[0] * q[1];
        s += q[0] + p[(i + 1) % x.len()] * q[1];
    }
    s + sqnorm(&p)
}

#[test]
fn vectors_built_by_push_and_read_back() {
    check_slice("pushed", pushed, pushed_jvp, pushed_value_and_grad, 4);
}

/// A returned vector that reads back what it pushed.
#[differentiable]
fn pushed_output(x: &[f64]) -> Vec<f64> {
    let mut y = Vec::with_capacity(2);
    y.push(x[0]);
    y.push(y[0] * 2.0 + x[1]);
    y
}

#[test]
fn returned_vector_reads_back_its_pushes() {
    let x = [0.5, -1.5];
    assert_eq!(pushed_output(&x), vec![0.5, -0.5]);
    let (y, dy) = pushed_output_jvp(&x, &[1.0, 0.0]);
    assert_eq!((y, dy), (vec![0.5, -0.5], vec![1.0, 2.0]));
    let (y, g) = pushed_output_vjp(&x, vec![1.0, 1.0]);
    assert_eq!((y, g), (vec![0.5, -0.5], vec![3.0, 1.0]));
}

#[differentiable]
fn square_into32(src: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = src[i] * src[i] + out[i];
    }
}

#[differentiable]
fn sum32(x: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i].sin();
    }
    s
}

/// `f32` buffers lent to callees, read and written again.
#[differentiable]
fn buffers32(x: &[f32]) -> f32 {
    let mut w = vec![0.0f32; x.len()];
    square_into32(x, &mut w);
    let s = sum32(&w);
    w[0] = w[0] * x[0];
    s + sum32(&w[..1]) + sum32(&x[1..])
}

#[test]
fn f32_buffers() {
    let x = [0.3f32, -0.6, 0.9];
    let (v, g) = buffers32_value_and_grad(&x);
    assert_eq!(v, buffers32(&x));
    let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let fd = check::central_difference(
        |p: &[f64]| buffers32(&p.iter().map(|&v| v as f32).collect::<Vec<_>>()) as f64,
        &xd,
    );
    for i in 0..3 {
        assert_close(
            "f32 buffers",
            g[i] as f64,
            fd[i],
            autodiff::check::Tolerance {
                rel: 2e-2,
                abs: 2e-3,
            },
        );
    }
    let (_, d) = buffers32_jvp(&x, &[1.0, 0.0, 0.0]);
    assert_close("f32 jvp", d as f64, g[0] as f64, F32);
}
