//! The boundaries of differentiation: `stop_gradient`, and branches whose
//! adjoints are never evaluated when they did not run.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

/// `x * c` with `c = x` held fixed: the derivative is `c`, not `2x`.
#[differentiable]
fn held(x: f64, y: f64) -> f64 {
    let c = stop_gradient(x * y);
    x * c + y.sin() * stop_gradient(y)
}

/// Through a slice and a loop, and by path.
#[differentiable]
fn normalised(x: &[f64]) -> f64 {
    let mut norm = 0.0;
    for i in 0..x.len() {
        norm += x[i] * x[i];
    }
    let scale = autodiff::stop_gradient(norm.sqrt());
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] / scale;
    }
    s
}

#[test]
fn stop_gradient_holds_the_value_and_drops_the_derivative() {
    let mut rng = Rng::new(3);
    for _ in 0..20 {
        let (x, y) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        let (v, (gx, gy)) = held_value_and_grad(x, y);
        assert_eq!(v, held(x, y));
        // Closed form with the held factors as constants.
        assert_close("held, x", gx, x * y, EXACT);
        assert_close("held, y", gy, y.cos() * y, EXACT);
        let (_, t) = held_jvp(x, y, 1.0, 0.0);
        assert_close("held, JVP", t, gx, EXACT);
        let x: Vec<f64> = (0..4).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (v, g) = normalised_value_and_grad(&x);
        assert_eq!(v, normalised(&x));
        let scale = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        for gi in &g {
            assert_close("normalised", *gi, 1.0 / scale, EXACT);
        }
    }
}

/// The square root's derivative is infinite at 0 and NaN below: neither
/// branch's adjoint runs when the branch did not.
#[differentiable]
fn guarded_sqrt(x: f64) -> f64 {
    if x > 0.0 { x.sqrt() } else { 0.0 }
}

#[test]
fn untaken_branches_leak_no_nan() {
    for x in [0.0, -1.0, -0.0, -1e300] {
        let g = guarded_sqrt_grad(x);
        let (_, t) = guarded_sqrt_jvp(x, 1.0);
        assert_eq!((g, t), (0.0, 0.0), "at {x}");
    }
    for x in [0.01, 0.25, 4.0] {
        let g = guarded_sqrt_grad(x);
        assert_close("guarded_sqrt", g, 0.5 / x.sqrt(), EXACT);
        check::gradient(|v: &[f64]| guarded_sqrt(v[0]), &[g], &[x], FD).unwrap();
    }
}

/// `strict` accepts a function whose every parameter in `wrt` reaches the
/// output (the error case is a trybuild test, `tests/ui/args`).
#[differentiable(strict, wrt(a, x))]
fn strict_ok(a: f64, b: f64, x: &[f64]) -> f64 {
    if b > 0.0 { a * x[0] } else { a + x[1] }
}

#[test]
fn strict_accepts_parameters_that_reach_the_output() {
    let (v, (ga, gx)) = strict_ok_value_and_grad(2.0, 1.0, &[3.0, 4.0]);
    assert_eq!(v, strict_ok(2.0, 1.0, &[3.0, 4.0]));
    assert_eq!((ga, gx), (3.0, vec![2.0, 0.0]));
}
