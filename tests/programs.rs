//! Whole functions using every straight-line construct the macro accepts,
//! checked in forward and reverse mode against closed forms and central
//! finite differences at many points, and forward against reverse.
// The functions are written the ways users write them, including the ways
// clippy would restyle: the macro must accept them all.
#![allow(
    clippy::double_parens,
    clippy::assign_op_pattern,
    clippy::needless_return
)]

mod common;

use autodiff::check::{self, Tolerance};
use autodiff::prelude::*;
use common::*;

/// Checks `grad` and the JVPs along each axis of an `n`-argument scalar
/// function against central differences at `points` random points.
fn check_scalar(
    name: &str,
    n: usize,
    lo: f64,
    hi: f64,
    f: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    grad: impl Fn(&[f64]) -> Vec<f64>,
) {
    let mut rng = Rng::new(name.len() as u64 * 7919);
    for _ in 0..200 {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(lo, hi)).collect();
        let g = grad(&x);
        if let Err(e) = check::gradient(&f, &g, &x, FD) {
            panic!("{name} at {x:?}: {e}");
        }
        for i in 0..n {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            let (y, d) = jvp(&x, &e);
            assert_eq!(y.to_bits(), f(&x).to_bits(), "{name} at {x:?}: JVP value");
            assert_close(&format!("{name} at {x:?}: JVP ∂{i} vs VJP"), d, g[i], EXACT);
        }
    }
}

// The example of the README.
#[differentiable]
fn quickstart(x: f64, y: f64) -> f64 {
    let a = x * y + (x / y).sin();
    let b = a.exp() - 3.0 * y.powi(2);
    a.mul_add(b, x.sqrt())
}

#[test]
fn quickstart_against_closed_form() {
    let mut rng = Rng::new(1);
    for _ in 0..200 {
        let (x, y) = (rng.uniform(0.1, 2.0), rng.uniform(0.5, 2.0));
        let a = x * y + (x / y).sin();
        let b = a.exp() - 3.0 * y * y;
        let (da_dx, da_dy) = (y + (x / y).cos() / y, x - (x / y).cos() * x / (y * y));
        let (db_dx, db_dy) = (a.exp() * da_dx, a.exp() * da_dy - 6.0 * y);
        let gx = da_dx * b + a * db_dx + 0.5 / x.sqrt();
        let gy = da_dy * b + a * db_dy;

        let (v, dv) = quickstart_jvp(x, y, 1.0, 0.0);
        let (gx1, gy1) = quickstart_grad(x, y);
        let (v2, (gx2, gy2)) = quickstart_value_and_grad(x, y);
        let (v3, (gx3, gy3)) = quickstart_vjp(x, y, 2.0);
        assert_eq!(v.to_bits(), quickstart(x, y).to_bits());
        assert_eq!((v2.to_bits(), v3.to_bits()), (v.to_bits(), v.to_bits()));
        let tol = Tolerance {
            rel: 1e-12,
            abs: 1e-12,
        };
        for (got, want) in [
            (dv, gx),
            (gx1, gx),
            (gy1, gy),
            (gx2, gx),
            (gy2, gy),
            (gx3, 2.0 * gx),
            (gy3, 2.0 * gy),
        ] {
            assert_close(&format!("quickstart at ({x}, {y})"), got, want, tol);
        }
    }
}

// Reassignment, compound assignment, shadowing and block expressions.
#[differentiable]
fn updates(x: f64, y: f64) -> f64 {
    let mut s = x;
    s += y * 2.0;
    s *= x;
    s -= y.sin();
    s /= 1.5 + y * y;
    let s = s * s;
    let t = {
        let u = s + x;
        u * y
    };
    let mut w = t;
    w = w - s;
    -w + s
}

#[test]
fn reassignment_shadowing_and_blocks() {
    check_scalar(
        "updates",
        2,
        -2.0,
        2.0,
        |p| updates(p[0], p[1]),
        |p, v| updates_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (a, b) = updates_grad(p[0], p[1]);
            vec![a, b]
        },
    );
}

// Inactive integer and boolean parameters, used in arithmetic and casts.
#[differentiable]
fn scaled(x: f64, n: usize, k: i32, flag: bool) -> f64 {
    let m = (n + 1) as f64;
    let sign = (flag as i32 * 2 - 1) as f64;
    x.powi(k) * m + sign * x * (k as f64)
}

#[test]
fn inactive_integer_and_bool_parameters() {
    for (n, k, flag) in [(0, 0, true), (3, 2, false), (7, -2, true), (1, 5, false)] {
        check_scalar(
            "scaled",
            1,
            0.2,
            3.0,
            |p| scaled(p[0], n, k, flag),
            |p, v| scaled_jvp(p[0], n, k, flag, v[0]),
            |p| vec![scaled_grad(p[0], n, k, flag)],
        );
        let x = 1.7f64;
        let sign = if flag { 1.0 } else { -1.0 };
        let exact = if k == 0 {
            0.0
        } else {
            k as f64 * x.powi(k - 1)
        } * (n + 1) as f64
            + sign * k as f64;
        assert_close(
            "scaled closed form",
            scaled_grad(x, n, k, flag),
            exact,
            EXACT,
        );
    }
}

const SCALE: f64 = 2.5;

mod consts {
    pub const OFFSET: f64 = 0.25;
}

// Constants: local, by path, associated, literals with suffixes, and a
// primitive called by path on a literal.
#[differentiable]
fn with_constants(x: f64) -> f64 {
    let a = SCALE * x + consts::OFFSET;
    let b = std::f64::consts::PI * a.sin() + f64::EPSILON;
    let c = f64::sqrt(2.0) * b + 1e-3_f64 * x + 3f64;
    f64::atan2(f64::sin(x), c)
}

#[test]
fn constants_and_path_calls() {
    check_scalar(
        "with_constants",
        1,
        -3.0,
        3.0,
        |p| with_constants(p[0]),
        |p, v| with_constants_jvp(p[0], v[0]),
        |p| vec![with_constants_grad(p[0])],
    );
}

// `return` as the last statement, nested parentheses and unary minus.
#[differentiable]
fn with_return(x: f64, y: f64) -> f64 {
    let a = -(x * (y - -x));
    return a.tanh() * (y);
}

#[test]
fn trailing_return() {
    check_scalar(
        "with_return",
        2,
        -1.5,
        1.5,
        |p| with_return(p[0], p[1]),
        |p, v| with_return_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (a, b) = with_return_grad(p[0], p[1]);
            vec![a, b]
        },
    );
}

// Casts between float types: the derivative passes through both ways.
#[differentiable]
fn mixed_precision(x: f64) -> f64 {
    let low = (x * 3.0) as f32;
    let back = low.exp() as f64;
    back + x
}

#[test]
fn float_casts() {
    let mut rng = Rng::new(3);
    for _ in 0..100 {
        let x = rng.uniform(-1.0, 1.0);
        let low = (x * 3.0) as f32;
        // Between the casts the derivative is computed in f32, as the value is.
        let exact = 3.0 * low.exp() as f64 + 1.0;
        let (v, d) = mixed_precision_jvp(x, 1.0);
        assert_eq!(v, mixed_precision(x));
        assert_close("mixed_precision grad", mixed_precision_grad(x), exact, F32);
        assert_close("mixed_precision jvp", d, exact, F32);
        assert_close(
            "mixed_precision jvp vs vjp",
            d,
            mixed_precision_grad(x),
            F32,
        );
    }
}

// A tuple output: the JVP returns a tuple of tangents, the VJP takes a
// tuple of cotangents.
#[differentiable]
fn polar(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

#[test]
fn tuple_output_jacobian() {
    let mut rng = Rng::new(4);
    for _ in 0..200 {
        let (r, t) = (rng.uniform(0.1, 3.0), rng.uniform(-3.0, 3.0));
        // J = [[cos t, -r sin t], [sin t, r cos t]]
        let j = [[t.cos(), -r * t.sin()], [t.sin(), r * t.cos()]];
        let ((x, y), (dx, dy)) = polar_jvp(r, t, 0.3, -0.7);
        assert_eq!((x, y), polar(r, t));
        assert_close("polar jvp x", dx, j[0][0] * 0.3 - j[0][1] * 0.7, EXACT);
        assert_close("polar jvp y", dy, j[1][0] * 0.3 - j[1][1] * 0.7, EXACT);
        let ((x2, y2), (gr, gt)) = polar_vjp(r, t, (1.5, -2.0));
        assert_eq!((x2, y2), (x, y));
        assert_close("polar vjp r", gr, 1.5 * j[0][0] - 2.0 * j[1][0], EXACT);
        assert_close("polar vjp theta", gt, 1.5 * j[0][1] - 2.0 * j[1][1], EXACT);
        let (_, pullback) = polar_pullback(r, t);
        assert_eq!(pullback((1.5, -2.0)), (gr, gt));
        check::dot_product(
            |v| {
                let (_, (a, b)) = polar_jvp(r, t, v[0], v[1]);
                vec![a, b]
            },
            |w| {
                let (_, (a, b)) = polar_vjp(r, t, (w[0], w[1]));
                vec![a, b]
            },
            &[0.4, 1.1],
            &[-0.8, 0.25],
            EXACT,
        )
        .unwrap();
    }
}

// `wrt` restricts the active arguments: `y` gets no tangent and no
// gradient.
#[differentiable(wrt(x))]
fn only_x(x: f64, y: f64) -> f64 {
    x * x * y + y.exp()
}

#[differentiable(wrt(z, x))]
fn reordered(x: f64, y: f64, z: f64) -> f64 {
    x * y * z
}

#[test]
fn wrt_selects_arguments() {
    let (v, d) = only_x_jvp(1.5, 2.0, 1.0);
    assert_eq!(v, only_x(1.5, 2.0));
    assert_eq!(d, 2.0 * 1.5 * 2.0);
    let g: f64 = only_x_grad(1.5, 2.0);
    assert_eq!(g, 6.0);
    // Gradients come in argument order, whatever the order in `wrt`.
    let (v, (gx, gz)) = reordered_value_and_grad(2.0, 3.0, 5.0);
    assert_eq!(v, reordered(2.0, 3.0, 5.0));
    assert_eq!((gx, gz), (15.0, 6.0));
}

// Structural zeros: an output that does not depend on an argument gets an
// exact zero, not a number computed to be zero.
#[differentiable]
fn ignores_y(x: f64, y: f64) -> f64 {
    let unused = y.ln();
    let _ = unused;
    x * 2.0
}

#[differentiable]
fn constant(x: f64) -> f64 {
    let _ = x;
    3.0
}

#[differentiable]
fn truncated(x: f64) -> f64 {
    // `as i32` cuts the dependence: the derivative is that of a step.
    ((x * 10.0) as i32) as f64 + x
}

#[test]
fn structural_zeros() {
    // y = -1 would make ln NaN: a computed zero would be NaN here.
    assert_eq!(ignores_y(1.0, -1.0), 2.0);
    assert_eq!(ignores_y_grad(1.0, -1.0), (2.0, 0.0));
    assert_eq!(ignores_y_jvp(1.0, -1.0, 0.0, 1.0), (2.0, 0.0));
    assert_eq!(constant(7.0), 3.0);
    assert_eq!(constant_grad(7.0), 0.0);
    assert_eq!(constant_jvp(7.0, 1.0), (3.0, 0.0));
    assert_eq!(truncated(0.33), 3.33);
    assert_eq!(truncated_grad(0.33), 1.0);
}

// Single precision end to end.
#[differentiable]
fn single(x: f32, y: f32) -> f32 {
    let r = (x * x + y * y).sqrt();
    r.ln() + (x / r).asin() * 0.5
}

#[test]
fn single_precision() {
    let mut rng = Rng::new(5);
    for _ in 0..200 {
        let (x, y) = (rng.uniform(0.2, 2.0) as f32, rng.uniform(0.2, 2.0) as f32);
        let (gx, gy) = single_grad(x, y);
        let (x64, y64) = (x as f64, y as f64);
        let r2 = x64 * x64 + y64 * y64;
        // d/dx [ln r + asin(x/r)/2] = x/r² + (y²/r³)/(2 |y|/r)
        let ex = x64 / r2 + 0.5 * y64 / r2;
        let ey = y64 / r2 - 0.5 * x64 / r2;
        assert_close("single gx", gx as f64, ex, F32);
        assert_close("single gy", gy as f64, ey, F32);
        let (v, d) = single_jvp(x, y, 1.0, 0.0);
        assert_eq!(v, single(x, y));
        assert_close(
            "single jvp",
            d as f64,
            gx as f64,
            Tolerance {
                rel: 1e-6,
                abs: 1e-7,
            },
        );
    }
}

// Generated names never clash: a parameter called like a tangent, locals
// whose derived names would be keywords, a raw identifier, temporaries'
// names taken by the user.
#[differentiable]
#[allow(non_snake_case)]
fn names(x: f64, dx: f64, r#type: f64) -> f64 {
    let o = x * dx;
    let yn = o * r#type;
    let t1 = yn.sin();
    let d_sin = t1 * 2.0;
    let gx = d_sin + x;
    gx * o
}

#[test]
fn generated_names_do_not_clash() {
    check_scalar(
        "names",
        3,
        -1.0,
        1.0,
        |p| names(p[0], p[1], p[2]),
        |p, v| names_jvp(p[0], p[1], p[2], v[0], v[1], v[2]),
        |p| {
            let (a, b, c) = names_grad(p[0], p[1], p[2]);
            vec![a, b, c]
        },
    );
}
