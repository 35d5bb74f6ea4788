//! Functions that build and return arrays: `vec![0.0; n]`, `[0.0; N]`,
//! `Vec::with_capacity` + `push`, written with `=`, `+=` and `-=`. Their
//! Jacobians, column by column (JVP) and row by row (VJP), against central
//! finite differences.
#![allow(
    clippy::needless_range_loop,
    clippy::manual_memcpy,
    clippy::assign_op_pattern
)]

mod common;

use autodiff::check::{self, Tolerance};
use autodiff::prelude::*;
use common::*;

/// Checks a function `R^n -> R^m` given as closures over vectors.
fn check_jacobian(
    name: &str,
    x: &[f64],
    f: impl Fn(&[f64]) -> Vec<f64>,
    jvp: impl Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
    vjp: impl Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
) {
    let y = f(x);
    let (n, m) = (x.len(), y.len());
    let mut jac = vec![vec![0.0; n]; m];
    for j in 0..n {
        let e: Vec<f64> = (0..n).map(|k| if k == j { 1.0 } else { 0.0 }).collect();
        let (value, column) = jvp(x, &e);
        assert_eq!(value, y, "{name}: JVP value");
        for i in 0..m {
            jac[i][j] = column[i];
            let fd = check::central_difference(|p: &[f64]| f(p)[i], x)[j];
            assert_close(
                &format!("{name}: ∂{i}/∂{j} vs finite differences"),
                column[i],
                fd,
                FD,
            );
        }
    }
    for (i, row) in jac.iter().enumerate() {
        let w: Vec<f64> = (0..m).map(|k| if k == i { 1.0 } else { 0.0 }).collect();
        let (value, grad) = vjp(x, &w);
        assert_eq!(value, y, "{name}: VJP value");
        check::compare("VJP row against JVP column", &grad, row, EXACT)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[differentiable]
fn residual(x: &[f64], c: f64) -> Vec<f64> {
    let n = x.len();
    let mut r = vec![0.0; n];
    for i in 0..n {
        r[i] = x[i] * x[i] - c;
        if i > 0 {
            r[i] += x[i - 1].sin();
        } else {
            r[i] -= c * x[n - 1];
        }
    }
    // An overwrite: the first value written to r[0] no longer counts.
    r[0] = x[0] * 3.0;
    r
}

#[test]
fn vector_output_with_writes_and_overwrites() {
    let mut rng = Rng::new(8);
    for n in [1, 2, 5] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let c = 0.7;
        check_jacobian(
            "residual",
            &x,
            |p| residual(p, c),
            |p, v| residual_jvp(p, c, v, 0.0),
            |p, w| {
                let (y, (gx, _)) = residual_vjp(p, c, w.to_vec());
                (y, gx)
            },
        );
        // With respect to `c`: ∂r_i/∂c = -1, and -x[n-1] more for i = 0 before the overwrite.
        let (_, dc) = residual_jvp(&x, c, &vec![0.0; n], 1.0);
        let expected: Vec<f64> = (0..n).map(|i| if i == 0 { 0.0 } else { -1.0 }).collect();
        check::compare("∂r/∂c", &dc, &expected, EXACT).unwrap();
    }
}

#[differentiable]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    let mut c = [0.0; 3];
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
    c
}

#[test]
fn array_output() {
    let (a, b) = ([0.3, -1.2, 0.5], [1.1, 0.4, -0.7]);
    // ∂(a × b)/∂a · v = v × b; (a × b) along w pulls back to b × w for a.
    let v = [1.0, 2.0, -1.0];
    let (c, dc) = cross_jvp(a, b, v, [0.0; 3]);
    assert_eq!(c, cross(a, b));
    assert_eq!(dc, cross(v, b));
    let w = [0.5, -0.25, 2.0];
    let (_, (ga, gb)) = cross_vjp(a, b, w);
    assert_eq!(ga, cross(b, w));
    assert_eq!(gb, cross(w, a));
}

#[differentiable]
fn pushed(x: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len() + 1);
    for &v in x.iter() {
        if v > 0.0 {
            out.push(v.sin());
        } else {
            out.push(v * v);
        }
    }
    out.push(x[0] * x[x.len() - 1]);
    out
}

/// `vec![a, b, c]`: a list of values.
#[differentiable]
fn listed(x: &[f64]) -> Vec<f64> {
    let r = x[0].hypot(x[1]);
    let mut v = vec![r, x[1] * x[2], x[0].sin()];
    v[1] = v[1] * r;
    v
}

#[test]
fn vector_from_a_list() {
    let mut rng = Rng::new(10);
    for _ in 0..5 {
        let x: Vec<f64> = (0..3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        check_jacobian("listed", &x, listed, listed_jvp, |p, w| {
            listed_vjp(p, w.to_vec())
        });
    }
}

#[test]
fn vector_built_by_push() {
    let mut rng = Rng::new(9);
    for n in [1, 4] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        check_jacobian("pushed", &x, pushed, pushed_jvp, |p, w| {
            pushed_vjp(p, w.to_vec())
        });
    }
}

#[differentiable]
fn stats(x: &[f64]) -> (f64, Vec<f64>) {
    let mut mean = 0.0;
    for &v in x.iter() {
        mean += v;
    }
    mean /= x.len() as f64;
    let mut centred = vec![0.0; x.len()];
    for i in 0..x.len() {
        centred[i] = x[i] - mean;
    }
    (mean, centred)
}

#[test]
fn tuple_of_scalar_and_vector() {
    let x = [0.5, -1.0, 2.0, 0.25];
    let ((mean, centred), (dmean, dcentred)) = stats_jvp(&x, &[1.0, 0.0, 0.0, 0.0]);
    assert_eq!((mean, centred.clone()), stats(&x));
    assert_close("∂mean/∂x0", dmean, 0.25, EXACT);
    let expected = [0.75, -0.25, -0.25, -0.25];
    check::compare("∂centred/∂x0", &dcentred, &expected, EXACT).unwrap();
    // The pullback of (1, [1, 0, 0, 0]): ∂mean/∂x + ∂centred_0/∂x.
    let (_, g) = stats_vjp(&x, (1.0, vec![1.0, 0.0, 0.0, 0.0]));
    check::compare(
        "stats vjp",
        &g,
        &[1.0, 0.0, 0.0, 0.0],
        Tolerance {
            rel: 1e-12,
            abs: 1e-15,
        },
    )
    .unwrap();
}

/// A residual function writing into an output parameter.
#[differentiable]
fn residual_into(x: &[f64], k: f64, out: &mut [f64]) {
    let n = out.len();
    for i in 0..n {
        out[i] = x[i] * x[i] - k;
        if i + 1 < n {
            out[i] -= x[i + 1];
        }
    }
}

/// An output parameter next to a returned value.
#[differentiable]
fn norm_and_scaled(x: &[f64], out: &mut [f64]) -> f64 {
    let mut s = 0.0;
    for &v in x.iter() {
        s += v * v;
    }
    for i in 0..x.len() {
        out[i] = 2.0 * x[i];
    }
    s.sqrt()
}

#[test]
fn output_parameters() {
    let mut rng = Rng::new(10);
    for n in [1, 3, 6] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let k = 0.3;
        let f = |p: &[f64]| {
            let mut out = vec![0.0; n];
            residual_into(p, k, &mut out);
            out
        };
        check_jacobian(
            "residual_into",
            &x,
            f,
            |p, v| {
                let (mut out, mut dout) = (vec![0.0; n], vec![0.0; n]);
                residual_into_jvp(p, k, &mut out, v, 0.0, &mut dout);
                (out, dout)
            },
            |p, w| {
                let mut out = vec![0.0; n];
                let (gx, _) = residual_into_vjp(p, k, &mut out, w);
                (out, gx)
            },
        );
        // ∂out/∂k = -1 everywhere.
        let (mut out, mut dout) = (vec![0.0; n], vec![0.0; n]);
        residual_into_jvp(&x, k, &mut out, &vec![0.0; n], 1.0, &mut dout);
        assert_eq!(dout, vec![-1.0; n]);
        let (_, gk) = residual_into_vjp(&x, k, &mut out, &vec![1.0; n]);
        assert_eq!(gk, -(n as f64));

        let mut out = vec![0.0; n];
        let mut dout = vec![0.0; n];
        let (value, dvalue) = norm_and_scaled_jvp(&x, &mut out, &x, &mut dout);
        let norm: f64 = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert_close("norm", value, norm, EXACT);
        assert_eq!(value, norm_and_scaled(&x, &mut vec![0.0; n]));
        assert_close("d norm along x", dvalue, norm, EXACT);
        let twice: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
        assert_eq!((out.clone(), dout), (twice.clone(), twice));
        let w: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (value2, g) = norm_and_scaled_vjp(&x, &mut out, 0.5, &w);
        assert_eq!(value2, value);
        for i in 0..n {
            assert_close(
                "norm_and_scaled vjp",
                g[i],
                0.5 * x[i] / norm + 2.0 * w[i],
                EXACT,
            );
        }
    }
}

fn c(v: f64) -> f64 {
    v
}

/// In-place updates that overwrite values needed later, repeated: the
/// reverse sweep puts each old value back before it needs it.
#[differentiable]
fn squares(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = x[i];
    }
    for _ in 0..3 {
        for i in 0..n {
            y[i] = y[i] * y[i] * c(0.5) + c(0.1);
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += y[i] * (i as f64 + 1.0);
    }
    s
}

fn squares_g<T: Float>(x: &[T]) -> T {
    let c = |v: f64| T::from(v).unwrap_or_else(T::nan);
    let n = x.len();
    let mut y = vec![c(0.0); n];
    y[..n].copy_from_slice(&x[..n]);
    for _ in 0..3 {
        for v in y.iter_mut() {
            *v = *v * *v * c(0.5) + c(0.1);
        }
    }
    let mut s = c(0.0);
    for (i, &v) in y.iter().enumerate() {
        s = s + v * c(i as f64 + 1.0);
    }
    s
}

/// A stencil updated in place, neighbours read after they were written,
/// with writes in branches.
#[differentiable]
fn smooth(x: &[f64], k: f64) -> f64 {
    let n = x.len();
    let mut u = vec![0.0; n];
    for i in 0..n {
        u[i] = x[i];
    }
    for _ in 0..2 {
        for i in 1..n - 1 {
            let lap = u[i - 1] - 2.0 * u[i] + u[i + 1];
            if lap > 0.0 {
                u[i] += k * lap;
            } else {
                u[i] = u[i] * (1.0 - k);
            }
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += u[i] * u[i];
    }
    s
}

fn smooth_g<T: Float>(x: &[T], k: T) -> T {
    let two = T::one() + T::one();
    let n = x.len();
    let mut u = x.to_vec();
    for _ in 0..2 {
        for i in 1..n - 1 {
            let lap = u[i - 1] - two * u[i] + u[i + 1];
            if lap > T::zero() {
                u[i] = u[i] + k * lap;
            } else {
                u[i] = u[i] * (T::one() - k);
            }
        }
    }
    u.iter().fold(T::zero(), |s, &v| s + v * v)
}

/// A returned array that is read back too.
#[differentiable]
fn cumulative(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut y = vec![0.0; n];
    y[0] = x[0];
    for i in 1..n {
        y[i] = y[i - 1] * 0.5 + x[i].sin();
    }
    y
}

#[test]
fn arrays_read_back_after_writes() {
    let mut rng = Rng::new(11);
    for n in [1, 3, 6] {
        for _ in 0..20 {
            let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let g = squares_grad(&x);
            for j in 0..n {
                let dual = squares_g(&seeded(&x, j)).eps;
                assert_close("squares VJP vs Dual", g[j], dual, EXACT);
                let e: Vec<f64> = (0..n).map(|i| if i == j { 1.0 } else { 0.0 }).collect();
                assert_close("squares JVP vs Dual", squares_jvp(&x, &e).1, dual, EXACT);
            }
            assert_eq!(squares(&x), squares_g(&x));
            if n >= 3 {
                let k = rng.uniform(0.05, 0.3);
                let (gx, gk) = smooth_grad(&x, k);
                for j in 0..=n {
                    // Axis n is `k`: seeding past the end of `x` seeds nothing there.
                    let kd = Dual::new(k, if j == n { 1.0 } else { 0.0 });
                    let dual = smooth_g(&seeded(&x, j), kd).eps;
                    let got = if j == n { gk } else { gx[j] };
                    assert_close("smooth VJP vs Dual", got, dual, EXACT);
                }
            }
            check_jacobian("cumulative", &x, cumulative, cumulative_jvp, |p, w| {
                cumulative_vjp(p, w.to_vec())
            });
        }
    }
}

/// An element written at the top, read by a loop, overwritten, read again:
/// reversing the second write must put the first value back before the
/// first loop is recomputed.
#[differentiable]
fn reread(x: &[f64]) -> f64 {
    let mut y = [0.0; 2];
    y[0] = x[0];
    let mut s = 0.0;
    for i in 0..x.len() {
        s += y[0] * x[i];
    }
    y[0] = x[1] * 3.0;
    for i in 0..x.len() {
        s += y[0].sin() * x[i];
    }
    s
}

#[test]
fn overwritten_element_is_put_back_in_time() {
    let x = [0.7, -0.4, 1.3];
    let total: f64 = x.iter().sum();
    // s = x0 Σx + sin(3 x1) Σx
    let g = reread_grad(&x);
    let expected = [
        total + x[0] + (3.0 * x[1]).sin(),
        x[0] + (3.0 * x[1]).sin() + 3.0 * (3.0 * x[1]).cos() * total,
        x[0] + (3.0 * x[1]).sin(),
    ];
    check::compare("reread", &g, &expected, EXACT).unwrap();
    assert_eq!(reread(&x), reread_jvp(&x, &[0.0; 3]).0);
    assert_close("smooth value", smooth(&x, 0.1), smooth_g(&x, 0.1), EXACT);
}

/// Single precision: old values go through the `f64` tape and back.
#[differentiable]
fn squares32(x: &[f32]) -> f32 {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = x[i];
    }
    for _ in 0..2 {
        for i in 0..x.len() {
            y[i] = y[i] * y[i] + 0.25;
        }
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += y[i];
    }
    s
}

#[test]
fn single_precision_arrays() {
    let x = [0.5f32, -0.75, 1.25];
    let g = squares32_grad(&x);
    for i in 0..3 {
        // y1 = x² + 1/4, y2 = y1² + 1/4: dy2/dx = 2 y1 · 2x.
        let x64 = x[i] as f64;
        let y1 = x64 * x64 + 0.25;
        assert_close("squares32", g[i] as f64, 4.0 * y1 * x64, F32);
    }
    assert_eq!(squares32(&x), squares32_jvp(&x, &[0.0; 3]).0);
}
