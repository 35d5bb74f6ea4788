//! `#[custom_vjp(rule)]`: rules of several shapes (scalars, several
//! arguments, a slice, an array, index data), their siblings, and calls
//! through them from forward and reverse mode, against finite differences
//! and closed forms.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

fn logsumexp_rule(x: &[f64], y: f64, dy: f64) -> Vec<f64> {
    x.iter().map(|xi| dy * (xi - y).exp()).collect()
}

/// Any Rust in the body: iterators, closures, folds.
#[custom_vjp(logsumexp_rule)]
fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

#[differentiable]
fn loss(x: &[f64], s: f64) -> f64 {
    logsumexp(x) * s + s * s
}

fn hypot_rule(a: f64, b: f64, y: f64, dy: f64) -> (f64, f64) {
    (dy * a / y, dy * b / y)
}

/// Two scalars, a tuple of cotangents.
#[custom_vjp(hypot_rule)]
fn hypot(a: f64, b: f64) -> f64 {
    a.hypot(b)
}

fn weighted_rule(w: [f64; 3], x: &[f64], idx: &[usize], _y: f64, dy: f64) -> ([f64; 3], Vec<f64>) {
    let mut gx = vec![0.0; x.len()];
    let mut gw = [0.0; 3];
    for k in 0..3 {
        gw[k] = dy * x[idx[k]];
        gx[idx[k]] += dy * w[k];
    }
    (gw, gx)
}

/// An array, a slice and index data.
#[custom_vjp(weighted_rule)]
fn weighted(w: [f64; 3], x: &[f64], idx: &[usize]) -> f64 {
    (0..3).map(|k| w[k] * x[idx[k]]).sum()
}

#[differentiable]
fn model(w: [f64; 3], x: &[f64], a: f64) -> f64 {
    let idx = [2usize, 0, 1];
    let r = hypot(a, weighted(w, x, &idx));
    r * logsumexp(x)
}

#[test]
fn the_rule_gives_every_sibling() {
    let mut rng = Rng::new(1);
    for _ in 0..10 {
        let x: Vec<f64> = (0..4).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let g = logsumexp_grad(&x);
        check::gradient(|x: &[f64]| logsumexp(x), &g, &x, FD).unwrap();
        let v: Vec<f64> = (0..4).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y, t) = logsumexp_jvp(&x, &v);
        assert_eq!(y, logsumexp(&x));
        let dot: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close("logsumexp JVP", t, dot, EXACT);
        let (y2, g2) = logsumexp_vjp(&x, 2.0);
        assert_eq!(y2, y);
        for (a, b) in g2.iter().zip(&g) {
            assert_close("logsumexp VJP", *a, 2.0 * b, EXACT);
        }
        let (_, pb) = logsumexp_pullback(&x);
        assert_eq!(pb(1.0), g);
        let (a, b) = (rng.uniform(0.5, 2.0), rng.uniform(-2.0, 2.0));
        let (ga, gb) = hypot_grad(a, b);
        let r = a.hypot(b);
        assert_close("hypot a", ga, a / r, EXACT);
        assert_close("hypot b", gb, b / r, EXACT);
    }
}

#[test]
fn callers_differentiate_through_rules() {
    let mut rng = Rng::new(2);
    for _ in 0..10 {
        let x: Vec<f64> = (0..4).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let s = rng.uniform(-2.0, 2.0);
        let (y, (gx, gs)) = loss_value_and_grad(&x, s);
        assert_eq!(y, loss(&x, s));
        check::gradient(|x: &[f64]| loss(x, s), &gx, &x, FD).unwrap();
        check::gradient(|s: &[f64]| loss(&x, s[0]), &[gs], &[s], FD).unwrap();
        let (_, t) = loss_jvp(&x, s, &[0.0; 4], 1.0);
        assert_close("loss JVP", t, gs, EXACT);

        let w = [
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
        ];
        let a = rng.uniform(0.5, 2.0);
        let (_, (gw, gx, ga)) = model_value_and_grad(w, &x, a);
        check::gradient(|w: &[f64]| model([w[0], w[1], w[2]], &x, a), &gw, &w, FD).unwrap();
        check::gradient(|x: &[f64]| model(w, x, a), &gx, &x, FD).unwrap();
        check::gradient(|a: &[f64]| model(w, &x, a[0]), &[ga], &[a], FD).unwrap();
        let dw = [0.3, -0.2, 0.5];
        let dx: Vec<f64> = (0..4).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (_, t) = model_jvp(w, &x, a, dw, &dx, 0.7);
        let expected = gw.iter().zip(&dw).map(|(g, d)| g * d).sum::<f64>()
            + gx.iter().zip(&dx).map(|(g, d)| g * d).sum::<f64>()
            + ga * 0.7;
        assert_close("model JVP", t, expected, EXACT);
    }
}

/// The rule is stable where differentiating the naive body overflows.
#[test]
fn the_rule_is_stable_at_large_inputs() {
    let x = [1000.0, 999.0, 998.0];
    let g = logsumexp_grad(&x);
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    assert_close("sum of softmax", g.iter().sum(), 1.0, EXACT);
}

#[test]
fn the_rule_checker_passes_right_rules_and_catches_wrong_ones() {
    let x = [0.3, -1.2, 2.0, 0.7];
    check::vjp_rule(logsumexp, logsumexp_rule, &x, FD).unwrap();
    // Several arguments, packed into one slice.
    check::vjp_rule(
        |p| hypot(p[0], p[1]),
        |p, y, dy| {
            let (a, b) = hypot_rule(p[0], p[1], y, dy);
            vec![a, b]
        },
        &[1.5, -0.5],
        FD,
    )
    .unwrap();
    // A rule that forgets the cotangent: right at dy = 1 only.
    let forgets = |x: &[f64], y: f64, _dy: f64| logsumexp_rule(x, y, 1.0);
    let e = check::vjp_rule(logsumexp, forgets, &x, FD).unwrap_err();
    assert!(e.to_string().contains("dy * rule"), "{e}");
    // A rule off by a factor.
    let doubled = |x: &[f64], y: f64, dy: f64| logsumexp_rule(x, y, 2.0 * dy);
    let e = check::vjp_rule(logsumexp, doubled, &x, FD).unwrap_err();
    assert!(e.to_string().contains("central differences"), "{e}");
    // A rule with two components swapped.
    let swapped = |x: &[f64], y: f64, dy: f64| {
        let mut g = logsumexp_rule(x, y, dy);
        g.swap(0, 2);
        g
    };
    assert!(check::vjp_rule(logsumexp, swapped, &x, FD).is_err());
}

fn cube_jvp_rule(x: f64, dx: f64) -> (f64, f64) {
    (x * x * x, 3.0 * x * x * dx)
}

/// A forward rule: reverse mode from it, one call per input.
#[custom_jvp(cube_jvp_rule)]
fn cube(x: f64) -> f64 {
    x.powi(3)
}

fn dot_jvp_rule(w: [f64; 2], x: &[f64], dw: [f64; 2], dx: &[f64]) -> (f64, f64) {
    let y = w[0] * x[0] + w[1] * x[1];
    (y, dw[0] * x[0] + dw[1] * x[1] + w[0] * dx[0] + w[1] * dx[1])
}

/// An array and a slice.
#[custom_jvp(dot_jvp_rule)]
fn dot2(w: [f64; 2], x: &[f64]) -> f64 {
    w.iter().zip(x).map(|(a, b)| a * b).sum()
}

#[differentiable]
fn through_forward_rules(w: [f64; 2], x: &[f64], a: f64) -> f64 {
    cube(a) * dot2(w, x) + cube(x[1])
}

#[test]
fn forward_rules_give_reverse_mode_too() {
    let mut rng = Rng::new(5);
    for _ in 0..10 {
        let a = rng.uniform(-2.0, 2.0);
        assert_close("cube grad", cube_grad(a), 3.0 * a * a, EXACT);
        let w = [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)];
        let x: Vec<f64> = (0..2).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (gw, gx) = dot2_grad(w, &x);
        assert_eq!((gw, gx), ([x[0], x[1]], vec![w[0], w[1]]));
        let (y, (gw, gx, ga)) = through_forward_rules_value_and_grad(w, &x, a);
        assert_eq!(y, through_forward_rules(w, &x, a));
        check::gradient(
            |w: &[f64]| through_forward_rules([w[0], w[1]], &x, a),
            &gw,
            &w,
            FD,
        )
        .unwrap();
        check::gradient(|x: &[f64]| through_forward_rules(w, x, a), &gx, &x, FD).unwrap();
        check::gradient(
            |a: &[f64]| through_forward_rules(w, &x, a[0]),
            &[ga],
            &[a],
            FD,
        )
        .unwrap();
        let (_, t) = through_forward_rules_jvp(w, &x, a, [0.0; 2], &[0.0, 0.0], 1.0);
        assert_close("JVP through forward rules", t, ga, EXACT);
    }
}

fn polar_rule(r: f64, t: f64, _y: (f64, f64), dy: (f64, f64)) -> (f64, f64) {
    let (c, s) = (t.cos(), t.sin());
    (dy.0 * c + dy.1 * s, -dy.0 * r * s + dy.1 * r * c)
}

/// A tuple of outputs, by a reverse rule.
#[custom_vjp(polar_rule)]
fn polar(r: f64, t: f64) -> (f64, f64) {
    (r * t.cos(), r * t.sin())
}

fn polar_jvp_rule(r: f64, t: f64, dr: f64, dt: f64) -> ((f64, f64), (f64, f64)) {
    let (c, s) = (t.cos(), t.sin());
    ((r * c, r * s), (dr * c - r * s * dt, dr * s + r * c * dt))
}

/// The same by a forward rule.
#[custom_jvp(polar_jvp_rule)]
fn polar_fwd(r: f64, t: f64) -> (f64, f64) {
    (r * t.cos(), r * t.sin())
}

#[differentiable]
fn through_tuples(r: f64, t: f64) -> f64 {
    let (x, y) = polar(r, t);
    let (u, v) = polar_fwd(t, r);
    x * v + y * y - u
}

#[test]
fn rules_of_tuple_outputs() {
    let mut rng = Rng::new(9);
    for _ in 0..10 {
        let (r, t) = (rng.uniform(0.5, 2.0), rng.uniform(-2.0, 2.0));
        // Forward mode of the reverse rule, reverse mode of the forward
        // rule: both against the closed form.
        let (_, (dx, dy)) = polar_jvp(r, t, 0.3, -0.7);
        let (c, s) = (t.cos(), t.sin());
        assert_close("polar JVP x", dx, 0.3 * c + 0.7 * r * s, EXACT);
        assert_close("polar JVP y", dy, 0.3 * s - 0.7 * r * c, EXACT);
        let (_, (gr, gt)) = polar_fwd_vjp(r, t, (1.0, 2.0));
        assert_close("polar_fwd VJP r", gr, c + 2.0 * s, EXACT);
        assert_close("polar_fwd VJP t", gt, -r * s + 2.0 * r * c, EXACT);
        let (_, pb) = polar_pullback(r, t);
        let (pr, pt) = pb((1.0, 2.0));
        assert_close("polar pullback r", pr, gr, EXACT);
        assert_close("polar pullback t", pt, gt, EXACT);
        // Through a caller.
        let (v, (g_r, g_t)) = through_tuples_value_and_grad(r, t);
        assert_eq!(v, through_tuples(r, t));
        let f = |p: &[f64]| through_tuples(p[0], p[1]);
        check::gradient(f, &[g_r, g_t], &[r, t], FD).unwrap();
        let (_, tan) = through_tuples_jvp(r, t, 1.0, 0.0);
        assert_close("through_tuples JVP", tan, g_r, EXACT);
    }
}

#[test]
fn the_forward_rule_checker_catches_a_wrong_rule() {
    let x = [0.4, -1.1];
    let rule = |x: &[f64], dx: &[f64]| {
        dot_jvp_rule([x[0], 2.0], &[1.5, x[1]], [dx[0], 0.0], &[0.0, dx[1]])
    };
    let f = |x: &[f64]| dot2([x[0], 2.0], &[1.5, x[1]]);
    check::jvp_rule(f, rule, &x, FD).unwrap();
    // Forgets the second tangent.
    let wrong =
        |x: &[f64], dx: &[f64]| dot_jvp_rule([x[0], 2.0], &[1.5, x[1]], [dx[0], 0.0], &[0.0, 0.0]);
    let e = check::jvp_rule(f, wrong, &x, FD).unwrap_err();
    assert!(e.to_string().contains("central differences"), "{e}");
    // Not linear in the tangent.
    let squared = |x: &[f64], dx: &[f64]| {
        let (y, t) = rule(x, dx);
        (y, t * t.abs().max(1.0))
    };
    assert!(check::jvp_rule(f, squared, &x, FD).is_err());
}
