//! Small fixed arrays as values: literals, parameters, returns, indexing
//! what a callee returned, destructuring, passing by value.
mod common;

use autodiff::check::{self, Tolerance};
use autodiff::prelude::*;
use common::*;

#[differentiable]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[differentiable]
fn dot3(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[differentiable]
fn triple(x: f64, y: f64, z: f64) -> f64 {
    let a = [x, y, z];
    let b = [y.sin(), z, x * x];
    let w = cross(a, b);
    let [p, q, r] = cross(w, a);
    dot3(w, [1.0, 2.0, 3.0]) + p * q - r
}

#[test]
fn helpers_returning_arrays() {
    let mut rng = Rng::new(5);
    for _ in 0..50 {
        let x: Vec<f64> = (0..3).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (y, g) = triple_value_and_grad(x[0], x[1], x[2]);
        assert_eq!(y, triple(x[0], x[1], x[2]));
        let g = [g.0, g.1, g.2];
        check::gradient(|p: &[f64]| triple(p[0], p[1], p[2]), &g, &x, FD).unwrap();
        let v: Vec<f64> = (0..3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y2, d) = triple_jvp(x[0], x[1], x[2], v[0], v[1], v[2]);
        assert_eq!(y2, y);
        assert_close(
            "triple jvp",
            d,
            g[0] * v[0] + g[1] * v[1] + g[2] * v[2],
            EXACT,
        );
    }
}

#[test]
fn array_output_jacobian() {
    let mut rng = Rng::new(6);
    let a = [
        rng.uniform(-1.0, 1.0),
        rng.uniform(-1.0, 1.0),
        rng.uniform(-1.0, 1.0),
    ];
    let b = [
        rng.uniform(-1.0, 1.0),
        rng.uniform(-1.0, 1.0),
        rng.uniform(-1.0, 1.0),
    ];
    let w = [0.5, -1.0, 2.0];
    let (c, (ga, gb)) = cross_vjp(a, b, w);
    assert_eq!(c, cross(a, b));
    // <w, a × b> = <b × w, a> = <w × a, b>
    let expected_ga = cross(b, w);
    let expected_gb = cross(w, a);
    for i in 0..3 {
        assert_close("ga", ga[i], expected_ga[i], EXACT);
        assert_close("gb", gb[i], expected_gb[i], EXACT);
    }
    let (c2, dc) = cross_jvp(a, b, [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]);
    assert_eq!(c2, c);
    let expected = cross([1.0, 0.0, 0.0], b);
    for i in 0..3 {
        assert_close("dc", dc[i], expected[i], EXACT);
    }
}

#[differentiable]
fn polar_and_square(r: f32, t: f32) -> (f32, [f32; 2]) {
    let p = [r * t.cos(), r * t.sin()];
    (p[0] * p[1], p)
}

#[differentiable]
fn cross32(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[differentiable]
fn f32_helpers(x: f32, y: f32) -> f32 {
    let w = cross32([x, y, 1.0], [y, x * x, 2.0]);
    let (s, p) = polar_and_square(x, y);
    w[0] * w[2] + s + p[1]
}

#[test]
fn f32_arrays_and_tuples_with_arrays() {
    let (x, y) = (0.7f32, -0.4f32);
    let (v, (gx, gy)) = f32_helpers_value_and_grad(x, y);
    assert_eq!(v, f32_helpers(x, y));
    // Against the same derivatives in f64, by central differences.
    let f = |p: &[f64]| f32_helpers(p[0] as f32, p[1] as f32) as f64;
    let h = 1e-2;
    let fd_x = (f(&[x as f64 + h, y as f64]) - f(&[x as f64 - h, y as f64])) / (2.0 * h);
    let fd_y = (f(&[x as f64, y as f64 + h]) - f(&[x as f64, y as f64 - h])) / (2.0 * h);
    assert_close(
        "f32 ∂x",
        gx as f64,
        fd_x,
        Tolerance {
            rel: 1e-2,
            abs: 1e-3,
        },
    );
    assert_close(
        "f32 ∂y",
        gy as f64,
        fd_y,
        Tolerance {
            rel: 1e-2,
            abs: 1e-3,
        },
    );
    let (_, d) = f32_helpers_jvp(x, y, 1.0, 0.0);
    assert_close("f32 jvp", d as f64, gx as f64, F32);
    // A tuple output with an array: its cotangent is a tuple with an array.
    let ((s, p), (gr, gt)) = polar_and_square_vjp(2.0, 0.5, (1.0, [0.0, 1.0]));
    assert_eq!((s, p), polar_and_square(2.0, 0.5));
    // s = r² cos t sin t, p[1] = r sin t.
    assert_close(
        "∂r",
        gr as f64,
        2.0 * 2.0 * 0.5f64.cos() * 0.5f64.sin() + 0.5f64.sin(),
        F32,
    );
    assert_close(
        "∂t",
        gt as f64,
        4.0 * 1.0f64.cos() + 2.0 * 0.5f64.cos(),
        F32,
    );
}

/// An array variable assigned in a branch.
#[differentiable]
fn choose(a: [f64; 2], t: f64) -> f64 {
    let mut v = [t, t * t];
    if t > 0.5 {
        v = [a[0] * t, a[1] + t];
    }
    v[0] * v[1]
}

#[test]
fn array_variable_assigned_in_a_branch() {
    for t in [0.25, 0.75] {
        let a = [1.5, -0.5];
        let (g_a, g_t) = choose_grad(a, t);
        let (v0, v1) = if t > 0.5 {
            (a[0] * t, a[1] + t)
        } else {
            (t, t * t)
        };
        let (d0a, d1a, d0t, d1t) = if t > 0.5 {
            ([t, 0.0], [0.0, 1.0], a[0], 1.0)
        } else {
            ([0.0; 2], [0.0; 2], 1.0, 2.0 * t)
        };
        for i in 0..2 {
            assert_close("∂/∂a", g_a[i], d0a[i] * v1 + v0 * d1a[i], EXACT);
        }
        assert_close("∂/∂t", g_t, d0t * v1 + v0 * d1t, EXACT);
        assert_eq!(choose(a, t), v0 * v1);
        let (_, d) = choose_jvp(a, t, [0.0, 0.0], 1.0);
        assert_close("forward ∂/∂t", d, g_t, EXACT);
    }
}
