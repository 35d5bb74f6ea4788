//! The documented conventions at points where a primitive is not
//! differentiable (docs/conventions.md): the same value in forward mode,
//! reverse mode and `Dual`.

use autodiff::prelude::*;

/// Asserts that forward mode, reverse mode and `Dual` all give `expected`
/// (bit for bit, so that `inf` and the sign of zero count).
fn same(what: &str, jvp: f64, grad: f64, dual: f64, expected: f64) {
    for (mode, got) in [("JVP", jvp), ("VJP", grad), ("Dual", dual)] {
        let ok = got == expected || (got.is_nan() && expected.is_nan());
        assert!(
            ok,
            "{what}: {mode} gives {got}, the convention is {expected}"
        );
    }
}

#[differentiable]
fn abs(x: f64) -> f64 {
    x.abs()
}

#[differentiable]
fn sqrt(x: f64) -> f64 {
    x.sqrt()
}

#[differentiable]
fn max(x: f64, y: f64) -> f64 {
    x.max(y)
}

#[differentiable]
fn min(x: f64, y: f64) -> f64 {
    x.min(y)
}

#[differentiable]
fn max_self(x: f64) -> f64 {
    x.max(x)
}

#[differentiable]
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.clamp(lo, hi)
}

#[differentiable]
fn hypot(x: f64, y: f64) -> f64 {
    x.hypot(y)
}

#[differentiable]
fn atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

#[differentiable]
fn powf(x: f64, p: f64) -> f64 {
    x.powf(p)
}

#[differentiable]
fn powi(x: f64, n: i32) -> f64 {
    x.powi(n)
}

#[differentiable]
fn steps(x: f64) -> f64 {
    x.floor() + x.ceil() + x.round() + x.trunc() + x.signum()
}

fn d(x: f64) -> Dual<f64> {
    Dual::variable(x)
}

fn c(x: f64) -> Dual<f64> {
    Dual::constant(x)
}

#[test]
fn abs_at_zero_is_zero() {
    for x in [0.0, -0.0] {
        assert_eq!(abs(x), 0.0);
        same(
            "abs'(±0)",
            abs_jvp(x, 1.0).1,
            abs_grad(x),
            d(x).abs().eps,
            0.0,
        );
    }
    same(
        "abs'(-2)",
        abs_jvp(-2.0, 1.0).1,
        abs_grad(-2.0),
        d(-2.0).abs().eps,
        -1.0,
    );
}

#[test]
fn sqrt_at_zero_is_infinite() {
    assert_eq!(sqrt(0.0), 0.0);
    same(
        "sqrt'(0)",
        sqrt_jvp(0.0, 1.0).1,
        sqrt_grad(0.0),
        d(0.0).sqrt().eps,
        f64::INFINITY,
    );
}

#[test]
fn max_and_min_split_ties_equally() {
    let (gx, gy) = max_grad(1.5, 1.5);
    same(
        "∂max/∂x at a tie",
        max_jvp(1.5, 1.5, 1.0, 0.0).1,
        gx,
        d(1.5).max(c(1.5)).eps,
        0.5,
    );
    same(
        "∂max/∂y at a tie",
        max_jvp(1.5, 1.5, 0.0, 1.0).1,
        gy,
        c(1.5).max(d(1.5)).eps,
        0.5,
    );
    let (gx, gy) = min_grad(1.5, 1.5);
    same(
        "∂min/∂x at a tie",
        min_jvp(1.5, 1.5, 1.0, 0.0).1,
        gx,
        d(1.5).min(c(1.5)).eps,
        0.5,
    );
    same(
        "∂min/∂y at a tie",
        min_jvp(1.5, 1.5, 0.0, 1.0).1,
        gy,
        c(1.5).min(d(1.5)).eps,
        0.5,
    );
    // Which makes max(x, x) = x have derivative 1, as it should.
    same(
        "max(x, x)'",
        max_self_jvp(0.3, 1.0).1,
        max_self_grad(0.3),
        d(0.3).max(d(0.3)).eps,
        1.0,
    );
    assert_eq!(max_self(0.3), 0.3);
    assert_eq!((max(1.0, 2.0), min(1.0, 2.0)), (2.0, 1.0));
}

#[test]
fn max_and_min_follow_the_number_past_nan() {
    let nan = f64::NAN;
    // max(NaN, y) returns y: the derivative flows to y.
    let (gx, gy) = max_grad(nan, 2.0);
    same(
        "∂max(NaN, y)/∂y",
        max_jvp(nan, 2.0, 0.0, 1.0).1,
        gy,
        c(nan).max(d(2.0)).eps,
        1.0,
    );
    same(
        "∂max(NaN, y)/∂x",
        max_jvp(nan, 2.0, 1.0, 0.0).1,
        gx,
        d(nan).max(c(2.0)).eps,
        0.0,
    );
    let (gx, gy) = min_grad(2.0, nan);
    same(
        "∂min(x, NaN)/∂x",
        min_jvp(2.0, nan, 1.0, 0.0).1,
        gx,
        d(2.0).min(c(nan)).eps,
        1.0,
    );
    same(
        "∂min(x, NaN)/∂y",
        min_jvp(2.0, nan, 0.0, 1.0).1,
        gy,
        c(2.0).min(d(nan)).eps,
        0.0,
    );
}

#[test]
fn clamp_includes_its_bounds() {
    for x in [-1.0, 1.0] {
        assert_eq!(clamp(x, -1.0, 1.0), x);
        let (gx, glo, ghi) = clamp_grad(x, -1.0, 1.0);
        let dual = d(x).clamp(c(-1.0), c(1.0)).eps;
        same(
            "∂clamp/∂x at a bound",
            clamp_jvp(x, -1.0, 1.0, 1.0, 0.0, 0.0).1,
            gx,
            dual,
            1.0,
        );
        assert_eq!((glo, ghi), (0.0, 0.0));
    }
    let (gx, glo, ghi) = clamp_grad(-3.0, -1.0, 1.0);
    assert_eq!((gx, glo, ghi), (0.0, 1.0, 0.0));
}

#[test]
fn hypot_and_atan2_at_the_origin_are_zero() {
    assert_eq!(hypot(0.0, 0.0), 0.0);
    let (gx, gy) = hypot_grad(0.0, 0.0);
    same(
        "∂hypot/∂x at 0",
        hypot_jvp(0.0, 0.0, 1.0, 0.0).1,
        gx,
        d(0.0).hypot(c(0.0)).eps,
        0.0,
    );
    same(
        "∂hypot/∂y at 0",
        hypot_jvp(0.0, 0.0, 0.0, 1.0).1,
        gy,
        c(0.0).hypot(d(0.0)).eps,
        0.0,
    );
    assert_eq!(atan2(0.0, 0.0), 0.0);
    let (gy, gx) = atan2_grad(0.0, 0.0);
    same(
        "∂atan2/∂y at 0",
        atan2_jvp(0.0, 0.0, 1.0, 0.0).1,
        gy,
        d(0.0).atan2(c(0.0)).eps,
        0.0,
    );
    same(
        "∂atan2/∂x at 0",
        atan2_jvp(0.0, 0.0, 0.0, 1.0).1,
        gx,
        c(0.0).atan2(d(0.0)).eps,
        0.0,
    );
}

#[test]
fn powers_at_zero() {
    // ∂(x^p)/∂p at x = 0 is 0 (x^p is constant in p there), not 0 · ln 0.
    assert_eq!(powf(0.0, 2.5), 0.0);
    let (gx, gp) = powf_grad(0.0, 2.5);
    same(
        "∂powf/∂p at x = 0",
        powf_jvp(0.0, 2.5, 0.0, 1.0).1,
        gp,
        c(0.0).powf(d(2.5)).eps,
        0.0,
    );
    same(
        "∂powf/∂x at x = 0, p = 2.5",
        powf_jvp(0.0, 2.5, 1.0, 0.0).1,
        gx,
        d(0.0).powf(c(2.5)).eps,
        0.0,
    );
    // x^0 = 1 everywhere: derivative 0 also at x = 0, not 0 · 0^-1.
    let (gx, _) = powf_grad(0.0, 0.0);
    same(
        "∂powf/∂x at p = 0",
        powf_jvp(0.0, 0.0, 1.0, 0.0).1,
        gx,
        d(0.0).powf(c(0.0)).eps,
        0.0,
    );
    assert_eq!(powi(0.0, 0), 1.0);
    same(
        "powi(x, 0)' at 0",
        powi_jvp(0.0, 0, 1.0).1,
        powi_grad(0.0, 0),
        d(0.0).powi(0).eps,
        0.0,
    );
    same(
        "powi(x, 1)' at 0",
        powi_jvp(0.0, 1, 1.0).1,
        powi_grad(0.0, 1),
        d(0.0).powi(1).eps,
        1.0,
    );
}

#[test]
fn piecewise_constant_functions_have_zero_derivative_even_at_jumps() {
    for x in [-1.0, -0.5, 0.0, 0.5, 2.0, 2.7] {
        let dual = {
            let x = d(x);
            (x.floor() + x.ceil() + x.round() + x.trunc() + x.signum()).eps
        };
        assert!(steps(x).is_finite());
        same("steps'", steps_jvp(x, 1.0).1, steps_grad(x), dual, 0.0);
    }
}
