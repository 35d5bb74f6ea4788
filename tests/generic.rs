//! Functions generic over the scalar (`fn f<T: Float>`): the generated
//! siblings are generic too, so the same function is differentiated at
//! `f32`, `f64` and `Dual<f64>` (a dual number flowing through a generated
//! VJP: forward over reverse, the Hessian-vector product).

// Index loops, as numerical code is written.
#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

use autodiff::prelude::*;

mod objectives;

use objectives::generic::{rosenbrock, rosenbrock_grad, rosenbrock_value_and_grad};

#[differentiable]
fn scalar<T: Float>(x: T, y: T) -> T {
    let two = T::from(2).unwrap();
    (x * y).sin() + x.powi(3) / two - y.exp() * T::from(0.5).unwrap()
}

/// A local buffer and a call between generic functions.
#[differentiable]
fn logsumexp<T: Float>(x: &[T]) -> T {
    let mut m = x[0];
    for i in 1..x.len() {
        m = m.max(x[i]);
    }
    let mut s = T::zero();
    for i in 0..x.len() {
        s = s + (x[i] - m).exp();
    }
    m + s.ln()
}

#[differentiable]
fn rows<T: Float>(x: &[T], n: usize) -> T {
    let mut buf = vec![T::zero(); n];
    let mut total = T::zero();
    for r in 0..x.len() / n {
        for j in 0..n {
            buf[j] = x[r * n + j] * T::from(r + 1).unwrap();
        }
        total = total + logsumexp(&buf);
    }
    total
}

#[test]
fn generic_calls_and_buffers() {
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin()).collect();
    let g = rows_grad(&x[..], 4);
    let f = |x: &[f64]| rows(x, 4);
    let fd = autodiff::check::central_difference(f, &x);
    for (g, w) in g.iter().zip(&fd) {
        assert!((g - w).abs() < 1e-7, "{g} {w}");
    }
    // The same function at f32.
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let g32 = rows_grad(&x32[..], 4);
    for (g, w) in g32.iter().zip(&fd) {
        assert!((f64::from(*g) - w).abs() < 1e-4, "{g} {w}");
    }
}

#[test]
fn generic_gradients_at_f64_and_f32() {
    let x = [1.5, -0.5, 0.25, 2.0];
    let g = rosenbrock_grad(&x[..]);
    // The closed form.
    let mut want = vec![0.0; 4];
    for i in 0..3 {
        let b = x[i + 1] - x[i] * x[i];
        want[i] += -2.0 * (1.0 - x[i]) - 400.0 * x[i] * b;
        want[i + 1] += 200.0 * b;
    }
    for (g, w) in g.iter().zip(&want) {
        assert!((g - w).abs() < 1e-12 * (1.0 + w.abs()), "{g} {w}");
    }
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let g32 = rosenbrock_grad(&x32[..]);
    for (g, w) in g32.iter().zip(&want) {
        assert!(
            (f64::from(*g) - w).abs() < 1e-4 * (1.0 + w.abs()),
            "{g} {w}"
        );
    }
    assert_eq!(rosenbrock(&x[..]), rosenbrock_value_and_grad(&x[..]).0);
    assert_eq!(scalar(0.7, -0.3), scalar_value_and_grad(0.7f64, -0.3).0);
    let (gx, gy) = scalar_grad(0.7, -0.3);
    let (x, y) = (0.7f64, -0.3f64);
    assert!((gx - (y * (x * y).cos() + 1.5 * x * x)).abs() < 1e-14);
    assert!((gy - (x * (x * y).cos() - 0.5 * y.exp())).abs() < 1e-14);
}

/// The Hessian-vector product by forward over reverse: the generated
/// gradient run at `Dual<f64>`, seeded with the direction, gives `H v` in
/// the tangents, against the closed form of Rosenbrock's Hessian and
/// against finite differences of the gradient.
#[test]
fn hessian_vector_product_through_the_generated_gradient() {
    let x = [1.5, -0.5, 0.25, 2.0];
    let v = [0.3, -1.0, 0.7, 0.2];
    let xd: Vec<Dual<f64>> = x.iter().zip(&v).map(|(&x, &v)| Dual::new(x, v)).collect();
    let g = rosenbrock_grad(&xd[..]);
    let hv: Vec<f64> = g.iter().map(|d| d.eps).collect();
    // Closed form: H = d²/dx² of sum (1 - x_i)² + 100 (x_{i+1} - x_i²)².
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        let b = x[i + 1] - x[i] * x[i];
        h[i][i] += 2.0 - 400.0 * b + 800.0 * x[i] * x[i];
        h[i][i + 1] += -400.0 * x[i];
        h[i + 1][i] += -400.0 * x[i];
        h[i + 1][i + 1] += 200.0;
    }
    for i in 0..n {
        let want: f64 = (0..n).map(|j| h[i][j] * v[j]).sum();
        assert!(
            (hv[i] - want).abs() < 1e-10 * (1.0 + want.abs()),
            "{i}: {} {want}",
            hv[i]
        );
        // The values are the gradient itself.
        assert!((g[i].re - rosenbrock_grad(&x[..])[i]).abs() < 1e-12);
    }
    // Central differences of the gradient along v.
    let eps = 1e-6;
    let shifted = |s: f64| -> Vec<f64> {
        let y: Vec<f64> = x.iter().zip(&v).map(|(&x, &v)| x + s * v).collect();
        rosenbrock_grad(&y[..])
    };
    let (gp, gm) = (shifted(eps), shifted(-eps));
    for i in 0..n {
        let fd = (gp[i] - gm[i]) / (2.0 * eps);
        assert!(
            (hv[i] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
            "{i}: {} {fd}",
            hv[i]
        );
    }
}

#[differentiable]
fn add<T: Float>(x: T, y: T) -> T {
    x + y
}

/// The classic test of perturbation confusion (Siskind and Pearlmutter):
/// d/dx [x · d/dy (x + y)] = 1 at any x, y. The inner derivative is the
/// generated gradient of `add`, the outer a dual number through it.
#[test]
fn no_perturbation_confusion() {
    assert_eq!(add(1.0, 2.0), 3.0);
    for (x, y) in [(0.0, 0.0), (1.0, 2.0), (-3.5, 0.25)] {
        let outer = |x: Dual<f64>| x * add_grad(x, Dual::constant(y)).1;
        let d = outer(Dual::variable(x)).eps;
        assert_eq!(d, 1.0, "at ({x}, {y})");
        // And the other way round: a dual for the inner, reverse mode for
        // the outer.
        let (_, dy) = add_jvp(
            Dual::constant(x),
            Dual::constant(y),
            Dual::constant(0.0),
            Dual::constant(1.0),
        );
        assert_eq!(dy.re, 1.0);
    }
}

/// Second derivatives by forward over forward: the generated JVP at
/// `Dual<f64>`.
#[test]
fn second_derivative_forward_over_forward() {
    for &(x, y) in &[(0.7, -0.3), (1.2, 0.4)] {
        // d²/dx² scalar(x, y) = -y² sin(xy) + 3x.
        let (_, d) = scalar_jvp(
            Dual::new(x, 1.0),
            Dual::constant(y),
            Dual::constant(1.0),
            Dual::constant(0.0),
        );
        let want = -y * y * (x * y).sin() + 3.0 * x;
        assert!((d.eps - want).abs() < 1e-12, "{} {want}", d.eps);
    }
}

/// The bound in a `where` clause, and `num_traits::Float` by its path.
#[differentiable]
fn softplus<S>(x: S) -> S
where
    S: num_traits::Float,
{
    if x > S::from(20.0).unwrap() {
        x
    } else {
        x.exp().ln_1p()
    }
}

#[test]
fn where_clauses_and_other_names() {
    for x in [-3.0f64, 0.5, 25.0] {
        let g = softplus_grad(x);
        let want = if x > 20.0 {
            1.0
        } else {
            1.0 / (1.0 + (-x).exp())
        };
        assert!((g - want).abs() < 1e-12, "{x}: {g} {want}");
        assert_eq!(softplus(x), softplus_value_and_grad(x).0);
    }
    // exp2, log2, log10 need only `Float` (their rules too).
    let (_, d) = logs_jvp(Dual::new(1.5, 1.0), Dual::constant(1.0));
    let x = 1.5f64;
    assert_eq!(logs(x), logs_jvp(x, 0.0).0);
    let want = 2f64.powf(x) * 2f64.ln() + 1.0 / (x * 2f64.ln()) + 1.0 / (x * 10f64.ln());
    assert!((d.re - want).abs() < 1e-12, "{} {want}", d.re);
}

#[differentiable]
fn logs<T: Float>(x: T) -> T {
    x.exp2() + x.log2() + x.log10()
}

/// An array overwritten in place, whose reverse sweep needs the old values:
/// in a generic function they are kept as elements of the scalar type (a
/// dual number too), so forward over reverse works through it.
#[differentiable]
fn smooth<T: Float>(x: &[T]) -> T {
    let mut y = vec![T::zero(); x.len()];
    for i in 0..x.len() {
        y[i] = x[i];
    }
    for i in 1..x.len() {
        y[i] = (y[i] * y[i - 1]).sin() + y[i];
    }
    y[x.len() - 1] * y[0]
}

#[test]
fn arrays_overwritten_in_place() {
    let x = [0.3, -0.7, 1.1, 0.4, -0.2];
    let g = smooth_grad(&x[..]);
    let fd = autodiff::check::central_difference(|x: &[f64]| smooth(x), &x);
    for (g, w) in g.iter().zip(&fd) {
        assert!((g - w).abs() < 1e-7, "{g} {w}");
    }
    // The Hessian-vector product through the in-place writes, against
    // central differences of the gradient.
    let v = [1.0, 0.5, -0.25, 0.0, 2.0];
    let hv = hvp(smooth_grad, &x, &v);
    let eps = 1e-6;
    let at = |s: f64| {
        let y: Vec<f64> = x.iter().zip(&v).map(|(x, v)| x + s * v).collect();
        smooth_grad(&y[..])
    };
    let (gp, gm) = (at(eps), at(-eps));
    for i in 0..x.len() {
        let fd = (gp[i] - gm[i]) / (2.0 * eps);
        assert!(
            (hv[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "{i}: {} {fd}",
            hv[i]
        );
    }
}
