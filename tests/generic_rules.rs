//! Custom rules on functions generic over the scalar: the siblings are
//! generic too, so second order (`hvp`, `hessian`: the gradient at dual
//! numbers) goes through the rule, the rule itself differentiated by the
//! dual numbers. Checked against central differences of the gradient and
//! against the closed-form Hessian.
mod common;

use autodiff::check;
use autodiff::prelude::*;
use autodiff::{Dual, hessian, hvp};
use common::*;

/// softplus(x) = ln(1 + eˣ), written so that it never overflows
/// (`x + ln(1 + e⁻ˣ)` for positive `x`).
#[custom_vjp(softplus_rule)]
fn softplus<T: Float>(x: T) -> T {
    if x > T::zero() {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Its derivative is the logistic function σ(x) = 1 / (1 + e⁻ˣ).
fn softplus_rule<T: Float>(x: T, _y: T, dy: T) -> T {
    dy / (T::one() + (-x).exp())
}

/// The Huber loss (Huber 1964) with threshold `delta`, its forward rule.
#[custom_jvp(huber_rule)]
fn huber<T: Float>(r: T, delta: T) -> T {
    let half = T::from(0.5).unwrap();
    if r.abs() <= delta {
        half * r * r
    } else {
        delta * (r.abs() - half * delta)
    }
}

fn huber_rule<T: Float>(r: T, delta: T, dr: T, ddelta: T) -> (T, T) {
    let half = T::from(0.5).unwrap();
    if r.abs() <= delta {
        (half * r * r, r * dr)
    } else {
        let y = delta * (r.abs() - half * delta);
        (y, delta * r.signum() * dr + (r.abs() - delta) * ddelta)
    }
}

/// A small model calling both rules.
#[differentiable]
fn objective<T: Float>(w: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..w.len() - 1 {
        s = s + softplus(w[i] * w[i + 1]) + huber(w[i] - w[i + 1], T::from(0.5).unwrap());
    }
    s
}

fn sigma(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The Hessian of `objective` in closed form.
fn objective_hessian(w: &[f64]) -> Vec<Vec<f64>> {
    let n = w.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        let (a, b) = (w[i], w[i + 1]);
        let (s, z) = (sigma(a * b), a * b);
        let ds = s * (1.0 - s);
        // softplus(a b): gradient (s b, s a); Hessian [[ds b², ds a b + s], [.., ds a²]].
        h[i][i] += ds * b * b;
        h[i + 1][i + 1] += ds * a * a;
        h[i][i + 1] += ds * z + s;
        h[i + 1][i] += ds * z + s;
        // huber(a - b): second derivative 1 inside the threshold, 0 outside.
        let inside = if (a - b).abs() <= 0.5 { 1.0 } else { 0.0 };
        h[i][i] += inside;
        h[i + 1][i + 1] += inside;
        h[i][i + 1] -= inside;
        h[i + 1][i] -= inside;
    }
    h
}

#[test]
fn first_order_through_generic_rules() {
    let mut rng = Rng::new(41);
    for _ in 0..20 {
        let w: Vec<f64> = (0..6).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let g = objective_grad(&w);
        check::gradient(objective, &g, &w, FD).unwrap();
        let w32: Vec<f32> = w.iter().map(|&x| x as f32).collect();
        for (a, b) in g.iter().zip(objective_grad(&w32)) {
            assert_close("f32 against f64", f64::from(b), *a, F32);
        }
    }
}

#[test]
fn second_order_through_generic_rules() {
    let mut rng = Rng::new(42);
    for _ in 0..20 {
        let w: Vec<f64> = (0..5).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let h = hessian(|x: &[Dual<f64>]| objective_grad(x), &w);
        let want = objective_hessian(&w);
        for i in 0..w.len() {
            for j in 0..w.len() {
                assert_close("Hessian", h[i][j], want[i][j], EXACT);
            }
        }
        // A Hessian-vector product against central differences of the gradient.
        let v: Vec<f64> = (0..5).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let hv = hvp(|x: &[Dual<f64>]| objective_grad(x), &w, &v);
        let fd: Vec<f64> = (0..w.len())
            .map(|i| {
                check::central_difference(
                    |t| {
                        let x: Vec<f64> = w.iter().zip(&v).map(|(a, b)| a + t[0] * b).collect();
                        objective_grad(&x)[i]
                    },
                    &[0.0],
                )[0]
            })
            .collect();
        check::compare("hvp against differences of the gradient", &hv, &fd, FD).unwrap();
    }
}

#[test]
fn generic_rules_check_like_others() {
    let mut rng = Rng::new(43);
    for _ in 0..10 {
        let x = rng.uniform(-3.0, 3.0);
        check::vjp_rule(
            |p| softplus(p[0]),
            |p, y, dy| vec![softplus_rule(p[0], y, dy)],
            &[x],
            FD,
        )
        .unwrap();
        let (r, d) = (rng.uniform(-1.0, 1.0), 0.5);
        check::jvp_rule(
            |p| huber(p[0], p[1]),
            |p, t| huber_rule(p[0], p[1], t[0], t[1]),
            &[r, d],
            FD,
        )
        .unwrap();
    }
}
