//! Struct values inside differentiable functions: literals bound to
//! variables, the results of calls of functions returning a struct, a
//! struct variable updated in a loop, and a struct returned from a
//! variable or a call. The program is a damped spring integrated by RK4,
//! written the way one writes it with a `State` struct, against the same
//! program written over flat arrays (the same operations in the same order,
//! so the derivatives agree exactly) and against central differences.

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::prelude::*;
use common::{EXACT, assert_close};

#[allow(dead_code)]
#[path = "../examples/spring_fit.rs"]
mod spring_fit;

/// Position and momentum of a particle in the plane.
#[derive(Differentiable, Clone, Debug, PartialEq)]
pub struct State {
    pub x: f64,
    pub y: f64,
    pub px: f64,
    pub py: f64,
}

/// The spring's stiffness, the mass and the damping.
#[derive(Differentiable, Clone, Debug)]
pub struct Spring {
    pub k: f64,
    pub m: f64,
    pub c: f64,
}

/// The time derivative of the state.
#[differentiable(wrt(s, spring))]
fn deriv(s: &State, spring: &Spring) -> State {
    State {
        x: s.px / spring.m,
        y: s.py / spring.m,
        px: -spring.k * s.x - spring.c * s.px,
        py: -spring.k * s.y - spring.c * s.py,
    }
}

/// `s + h k`.
#[differentiable(wrt(s, k))]
fn advance(s: &State, k: &State, h: f64) -> State {
    State {
        x: s.x + h * k.x,
        y: s.y + h * k.y,
        px: s.px + h * k.px,
        py: s.py + h * k.py,
    }
}

/// One classical Runge-Kutta step, with the stages as variables.
#[differentiable(wrt(s, spring))]
fn rk4_step(s: &State, spring: &Spring, h: f64) -> State {
    let k1 = deriv(s, spring);
    let s2 = advance(s, &k1, 0.5 * h);
    let k2 = deriv(&s2, spring);
    let s3 = advance(s, &k2, 0.5 * h);
    let k3 = deriv(&s3, spring);
    let end: State = advance(s, &k3, h);
    let k4 = deriv(&end, spring);
    let w = h / 6.0;
    let mut next = s.clone();
    next.x += w * (k1.x + 2.0 * k2.x + 2.0 * k3.x + k4.x);
    next.y += w * (k1.y + 2.0 * k2.y + 2.0 * k3.y + k4.y);
    next.px += w * (k1.px + 2.0 * k2.px + 2.0 * k3.px + k4.px);
    next.py += w * (k1.py + 2.0 * k2.py + 2.0 * k3.py + k4.py);
    next
}

/// The energy of a state.
#[differentiable(wrt(s, spring))]
fn energy(s: &State, spring: &Spring) -> f64 {
    0.5 * (s.px * s.px + s.py * s.py) / spring.m + 0.5 * spring.k * (s.x * s.x + s.y * s.y)
}

/// The energy left after `n` steps from `s0`: the state updated in a loop.
#[differentiable(wrt(s0, spring))]
fn energy_after(s0: &State, spring: &Spring, h: f64, n: usize) -> f64 {
    let mut s = s0.clone();
    for _ in 0..n {
        s = rk4_step(&s, spring, h);
    }
    energy(&s, spring)
}

/// The state after `n` steps: a struct variable returned.
#[differentiable(wrt(s0, spring))]
fn simulate(s0: &State, spring: &Spring, h: f64, n: usize) -> State {
    let mut s = s0.clone();
    for _ in 0..n {
        s = rk4_step(&s, spring, h);
    }
    s
}

/// A state from floats: a function without struct parameters.
#[differentiable]
fn at_rest(x: f64, y: f64) -> State {
    State {
        x,
        y,
        px: 0.0,
        py: 0.0,
    }
}

/// A call returned, and a struct variable made from floats and passed on.
#[differentiable]
fn released(x: f64, y: f64, k: f64) -> f64 {
    let spring = Spring { k, m: 2.0, c: 0.1 };
    let s: State = at_rest(x, y);
    let later: State = simulate(&s, &spring, 0.05, 3);
    energy(&later, &spring)
}

// The same program over flat values: `(x, y, px, py)` and `[k, m, c]`.

#[differentiable(wrt(x, y, px, py, sp))]
fn flat_deriv(x: f64, y: f64, px: f64, py: f64, sp: [f64; 3]) -> (f64, f64, f64, f64) {
    (
        px / sp[1],
        py / sp[1],
        -sp[0] * x - sp[2] * px,
        -sp[0] * y - sp[2] * py,
    )
}

#[differentiable(wrt(x, y, px, py, sp))]
fn flat_rk4_step(x: f64, y: f64, px: f64, py: f64, sp: [f64; 3], h: f64) -> (f64, f64, f64, f64) {
    let (a1, b1, c1, d1) = flat_deriv(x, y, px, py, sp);
    let (a2, b2, c2, d2) = flat_deriv(
        x + 0.5 * h * a1,
        y + 0.5 * h * b1,
        px + 0.5 * h * c1,
        py + 0.5 * h * d1,
        sp,
    );
    let (a3, b3, c3, d3) = flat_deriv(
        x + 0.5 * h * a2,
        y + 0.5 * h * b2,
        px + 0.5 * h * c2,
        py + 0.5 * h * d2,
        sp,
    );
    let (a4, b4, c4, d4) = flat_deriv(x + h * a3, y + h * b3, px + h * c3, py + h * d3, sp);
    let w = h / 6.0;
    (
        x + w * (a1 + 2.0 * a2 + 2.0 * a3 + a4),
        y + w * (b1 + 2.0 * b2 + 2.0 * b3 + b4),
        px + w * (c1 + 2.0 * c2 + 2.0 * c3 + c4),
        py + w * (d1 + 2.0 * d2 + 2.0 * d3 + d4),
    )
}

#[differentiable(wrt(s0, sp))]
fn flat_energy_after(s0: [f64; 4], sp: [f64; 3], h: f64, n: usize) -> f64 {
    let (mut x, mut y, mut px, mut py) = (s0[0], s0[1], s0[2], s0[3]);
    for _ in 0..n {
        let (a, b, c, d) = flat_rk4_step(x, y, px, py, sp, h);
        x = a;
        y = b;
        px = c;
        py = d;
    }
    0.5 * (px * px + py * py) / sp[1] + 0.5 * sp[0] * (x * x + y * y)
}

fn flat(s: &State) -> [f64; 4] {
    [s.x, s.y, s.px, s.py]
}

fn flat_spring(sp: &Spring) -> [f64; 3] {
    [sp.k, sp.m, sp.c]
}

/// The same RK4 with the state as arrays (`q`, `p`), written the way the
/// first version of this test was: stages advanced by element in loops,
/// the state copied and updated by element, carried by the loop.
#[derive(Differentiable, Clone, Debug, PartialEq)]
pub struct Body {
    pub q: [f64; 2],
    pub p: [f64; 2],
}

#[differentiable(wrt(s, spring))]
fn body_deriv(s: &Body, spring: &Spring) -> Body {
    Body {
        q: [s.p[0] / spring.m, s.p[1] / spring.m],
        p: [
            -spring.k * s.q[0] - spring.c * s.p[0],
            -spring.k * s.q[1] - spring.c * s.p[1],
        ],
    }
}

#[differentiable(wrt(s, k))]
fn body_advance(s: &Body, k: &Body, h: f64) -> Body {
    let mut q = s.q;
    let mut p = s.p;
    for i in 0..2 {
        q[i] += h * k.q[i];
        p[i] += h * k.p[i];
    }
    Body { q, p }
}

#[differentiable(wrt(s, spring))]
fn body_rk4(s: &Body, spring: &Spring, h: f64) -> Body {
    let k1 = body_deriv(s, spring);
    let k2 = body_deriv(&body_advance(s, &k1, 0.5 * h), spring);
    let k3 = body_deriv(&body_advance(s, &k2, 0.5 * h), spring);
    let k4 = body_deriv(&body_advance(s, &k3, h), spring);
    let w = h / 6.0;
    let mut next = s.clone();
    for i in 0..2 {
        next.q[i] += w * (k1.q[i] + 2.0 * k2.q[i] + 2.0 * k3.q[i] + k4.q[i]);
        next.p[i] += w * (k1.p[i] + 2.0 * k2.p[i] + 2.0 * k3.p[i] + k4.p[i]);
    }
    next
}

#[differentiable(wrt(s0, spring))]
fn body_energy_after(s0: &Body, spring: &Spring, h: f64, n: usize) -> f64 {
    let mut s = s0.clone();
    for _ in 0..n {
        s = body_rk4(&s, spring, h);
    }
    let mut e = 0.0;
    for i in 0..2 {
        e += 0.5 * s.p[i] * s.p[i] / spring.m + 0.5 * spring.k * s.q[i] * s.q[i];
    }
    e
}

/// A pose with array fields: struct variables of arrays, without loops
/// that carry them.
#[derive(Differentiable, Clone, Debug, PartialEq)]
pub struct Pose {
    pub t: [f64; 3],
    pub s: f64,
}

#[differentiable(wrt(a, b))]
fn compose(a: &Pose, b: &Pose) -> Pose {
    Pose {
        t: [
            a.t[0] + a.s * b.t[0],
            a.t[1] + a.s * b.t[1],
            a.t[2] + a.s * b.t[2],
        ],
        s: a.s * b.s,
    }
}

#[differentiable(wrt(p))]
fn reach(p: &Pose, x: [f64; 3]) -> f64 {
    let twice = compose(p, p);
    let moved = Pose {
        t: [twice.t[0] + x[0], twice.t[1] + x[1], twice.t[2] + x[2]],
        s: twice.s,
    };
    let thrice = compose(&moved, p);
    thrice.t[0] * thrice.t[1] + thrice.t[2].sin() * thrice.s
}

/// Deterministic points: a small linear congruential generator.
fn points(count: usize) -> Vec<(State, Spring)> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    (0..count)
        .map(|_| {
            let s = State {
                x: next(),
                y: next(),
                px: next(),
                py: next(),
            };
            let spring = Spring {
                k: 1.5 + next(),
                m: 1.5 + 0.5 * next(),
                c: 0.2 + 0.1 * next(),
            };
            (s, spring)
        })
        .collect()
}

#[test]
fn rk4_over_a_struct_equals_the_flat_program() {
    for (s0, spring) in points(20) {
        let (v, (gs, gk)) = energy_after_value_and_grad(&s0, &spring, 0.1, 7);
        let (fv, (fgs, fgk)) =
            flat_energy_after_value_and_grad(flat(&s0), flat_spring(&spring), 0.1, 7);
        assert_eq!(v, fv);
        assert_eq!(
            energy_after(&s0, &spring, 0.1, 7),
            flat_energy_after(flat(&s0), flat_spring(&spring), 0.1, 7)
        );
        assert_eq!([gs.x, gs.y, gs.px, gs.py], fgs);
        assert_eq!([gk.k, gk.m, gk.c], fgk);
        // Forward mode along a tangent equals the gradient dotted with it.
        let ds = StateTangent {
            x: 0.3,
            y: -0.7,
            px: 1.1,
            py: 0.4,
        };
        let dk = SpringTangent {
            k: -0.2,
            m: 0.5,
            c: 0.9,
        };
        let (v2, dv) = energy_after_jvp(&s0, &spring, 0.1, 7, &ds, &dk);
        assert_eq!(v2, v);
        assert_close("jvp", dv, gs.dot(&ds) + gk.dot(&dk), EXACT);
    }
}

#[test]
fn rk4_over_a_struct_against_central_differences() {
    let h = 1e-6;
    let f = |s: &State, sp: &Spring| energy_after(s, sp, 0.1, 7);
    for (s0, spring) in points(10) {
        let (gs, gk) = energy_after_grad(&s0, &spring, 0.1, 7);
        let got = [gs.x, gs.y, gs.px, gs.py, gk.k, gk.m, gk.c];
        for j in 0..7 {
            let bump = |d: f64| {
                let (mut s, mut sp) = (s0.clone(), spring.clone());
                match j {
                    0 => s.x += d,
                    1 => s.y += d,
                    2 => s.px += d,
                    3 => s.py += d,
                    4 => sp.k += d,
                    5 => sp.m += d,
                    _ => sp.c += d,
                }
                f(&s, &sp)
            };
            let fd = (bump(h) - bump(-h)) / (2.0 * h);
            assert!(
                (got[j] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "{j}: {} {fd}",
                got[j]
            );
        }
    }
}

#[test]
fn a_returned_struct_variable() {
    for (s0, spring) in points(10) {
        let end = simulate(&s0, &spring, 0.1, 4);
        // The value is the loop's.
        let mut s = s0.clone();
        for _ in 0..4 {
            s = rk4_step(&s, &spring, 0.1);
        }
        assert_eq!(end, s);
        // The dot-product test: <dr, J ds> = <J^T dr, ds>.
        let ds = StateTangent {
            x: 0.5,
            y: -0.25,
            px: 0.75,
            py: 1.0,
        };
        let dk = SpringTangent {
            k: 0.1,
            m: -0.3,
            c: 0.2,
        };
        let dr = StateTangent {
            x: 1.0,
            y: 2.0,
            px: -0.5,
            py: 0.25,
        };
        let (v, t) = simulate_jvp(&s0, &spring, 0.1, 4, &ds, &dk);
        assert_eq!(v, end);
        let (v2, (gs, gk)) = simulate_vjp(&s0, &spring, 0.1, 4, dr.clone());
        assert_eq!(v2, end);
        assert_close("dot product", dr.dot(&t), gs.dot(&ds) + gk.dot(&dk), EXACT);
    }
}

#[test]
fn structs_made_from_floats() {
    let (s, t) = at_rest_jvp(0.5, -2.0, 1.0, 3.0);
    assert_eq!(s, at_rest(0.5, -2.0));
    assert_eq!((t.x, t.y, t.px, t.py), (1.0, 3.0, 0.0, 0.0));
    let dr = StateTangent {
        x: 2.0,
        y: -1.0,
        px: 5.0,
        py: 7.0,
    };
    let (_, (gx, gy)) = at_rest_vjp(0.5, -2.0, dr);
    assert_eq!((gx, gy), (2.0, -1.0));
    // A struct variable made from floats and passed on, against central
    // differences.
    let h = 1e-6;
    for &(x, y, k) in &[(0.3, -0.4, 1.2), (1.0, 0.5, 2.0), (-0.7, 0.1, 0.8)] {
        let (gx, gy, gk) = released_grad(x, y, k);
        let fx = (released(x + h, y, k) - released(x - h, y, k)) / (2.0 * h);
        let fy = (released(x, y + h, k) - released(x, y - h, k)) / (2.0 * h);
        let fk = (released(x, y, k + h) - released(x, y, k - h)) / (2.0 * h);
        for (g, f) in [(gx, fx), (gy, fy), (gk, fk)] {
            assert!((g - f).abs() <= 1e-6 * (1.0 + f.abs()), "{g} {f}");
        }
    }
}

#[test]
fn struct_variables_with_array_fields() {
    let p = Pose {
        t: [0.3, -0.2, 0.9],
        s: 1.3,
    };
    let x = [0.1, 0.4, -0.6];
    let g = reach_grad(&p, x);
    // Closed form of the same composition.
    let h = 1e-6;
    let f = |p: &Pose| reach(p, x);
    let got = [g.t[0], g.t[1], g.t[2], g.s];
    for j in 0..4 {
        let bump = |d: f64| {
            let mut q = p.clone();
            match j {
                3 => q.s += d,
                _ => q.t[j] += d,
            }
            f(&q)
        };
        let fd = (bump(h) - bump(-h)) / (2.0 * h);
        assert!(
            (got[j] - fd).abs() <= 1e-7 * (1.0 + fd.abs()),
            "{j}: {} {fd}",
            got[j]
        );
    }
    // The value against the composition written out.
    let s = p.s;
    let twice_t: Vec<f64> = (0..3).map(|i| p.t[i] + s * p.t[i]).collect();
    let moved: Vec<f64> = (0..3).map(|i| twice_t[i] + x[i]).collect();
    let thrice: Vec<f64> = (0..3).map(|i| moved[i] + s * s * p.t[i]).collect();
    let expected = thrice[0] * thrice[1] + thrice[2].sin() * s * s * s;
    assert!((reach(&p, x) - expected).abs() <= 1e-12);
    let (v, dv) = reach_jvp(
        &p,
        x,
        &PoseTangent {
            t: [1.0, 0.0, -1.0],
            s: 0.5,
        },
    );
    assert_eq!(v, reach(&p, x));
    let want = g.t[0] - g.t[2] + 0.5 * g.s;
    assert!((dv - want).abs() <= 1e-12 * (1.0 + want.abs()));
}

#[test]
fn rk4_over_a_struct_of_arrays() {
    let h = 1e-6;
    for (s0, spring) in points(10) {
        let b0 = Body {
            q: [s0.x, s0.y],
            p: [s0.px, s0.py],
        };
        let (v, (gb, gk)) = body_energy_after_value_and_grad(&b0, &spring, 0.1, 7);
        // The same trajectory as the scalar-field program, up to the order
        // of the energy's sums.
        let (vs, (gs, gks)) = energy_after_value_and_grad(&s0, &spring, 0.1, 7);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        assert!(close(v, vs), "{v} {vs}");
        for (a, b) in [
            (gb.q[0], gs.x),
            (gb.q[1], gs.y),
            (gb.p[0], gs.px),
            (gb.p[1], gs.py),
            (gk.k, gks.k),
            (gk.m, gks.m),
            (gk.c, gks.c),
        ] {
            assert!(close(a, b), "{a} {b}");
        }
        // Against central differences along q[0].
        let bump = |d: f64| {
            let mut b = b0.clone();
            b.q[0] += d;
            body_energy_after(&b, &spring, 0.1, 7)
        };
        let fd = (bump(h) - bump(-h)) / (2.0 * h);
        assert!(
            (gb.q[0] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "{} {fd}",
            gb.q[0]
        );
    }
}

#[test]
fn spring_fit_example_recovers_the_spring() {
    use spring_fit::{H, Spring as S, fit, misfit, misfit_grad, observations, start};
    let observed = observations();
    // The misfit's gradient against central differences, at a few springs.
    let h = 1e-6;
    for (k, c) in [(2.0, 0.1), (3.5, 0.6), (2.9, 0.35)] {
        let sp = S { k, c, m: 1.0 };
        let g = misfit_grad(&sp, &start(), &observed, H);
        let f = |k: f64, c: f64| misfit(&S { k, c, m: 1.0 }, &start(), &observed, H);
        let fk = (f(k + h, c) - f(k - h, c)) / (2.0 * h);
        let fc = (f(k, c + h) - f(k, c - h)) / (2.0 * h);
        assert!((g.k - fk).abs() <= 1e-6 * (1.0 + fk.abs()), "{} {fk}", g.k);
        assert!((g.c - fc).abs() <= 1e-6 * (1.0 + fc.abs()), "{} {fc}", g.c);
    }
    // Gradient descent finds the spring that made the observations.
    let mut sp = S {
        k: 2.0,
        c: 0.1,
        m: 1.0,
    };
    let losses = fit(&mut sp, &observed, 150, 0.5);
    let last = misfit(&sp, &start(), &observed, H);
    assert!(losses[0] / last > 1e6, "{} -> {last}", losses[0]);
    assert!(
        (sp.k - 3.0).abs() < 1e-4 && (sp.c - 0.4).abs() < 1e-4,
        "{sp:?}"
    );
}

/// A body with its energies as methods, each calling the others on `self`.
#[derive(Differentiable, Clone, Debug)]
pub struct Body2 {
    pub q: [f64; 2],
    pub v: [f64; 2],
    pub m: f64,
}

#[differentiable]
impl Body2 {
    #[differentiable(wrt(self))]
    pub fn kinetic(&self) -> f64 {
        0.5 * self.m * (self.v[0] * self.v[0] + self.v[1] * self.v[1])
    }

    #[differentiable(wrt(self, k))]
    pub fn potential(&self, k: f64) -> f64 {
        0.5 * k * (self.q[0] * self.q[0] + self.q[1] * self.q[1])
    }

    /// Calls the two methods above on `self`.
    #[differentiable(wrt(self, k))]
    pub fn energy(&self, k: f64) -> f64 {
        self.kinetic() + self.potential(k) * self.m
    }

    /// Calls a method on another body, and on a struct variable.
    #[differentiable(wrt(self, other))]
    pub fn kinetic_sum(&self, other: &Body2) -> f64 {
        let mut slower = other.clone();
        slower.v[0] *= 0.5;
        self.kinetic() + other.kinetic() + slower.kinetic()
    }
}

#[test]
fn methods_calling_methods_on_self() {
    let b = Body2 {
        q: [0.3, -0.4],
        v: [1.5, 0.5],
        m: 2.0,
    };
    let k = 3.0;
    let (g, gk) = b.energy_grad(k);
    // Closed form: E = m |v|^2 / 2 + m k |q|^2 / 2.
    let q2 = b.q[0] * b.q[0] + b.q[1] * b.q[1];
    let v2 = b.v[0] * b.v[0] + b.v[1] * b.v[1];
    assert_eq!(b.energy(k), 0.5 * b.m * v2 + 0.5 * k * q2 * b.m);
    let close = |a: f64, e: f64| (a - e).abs() <= 1e-14 * (1.0 + e.abs());
    assert!(close(g.q[0], b.m * k * b.q[0]) && close(g.q[1], b.m * k * b.q[1]));
    assert!(close(g.v[0], b.m * b.v[0]) && close(g.v[1], b.m * b.v[1]));
    assert!(close(g.m, 0.5 * v2 + 0.5 * k * q2), "{}", g.m);
    assert!(close(gk, 0.5 * q2 * b.m));
    // Methods on another value of the type: d/d(other.v0) of
    // m v0^2 / 2 + m (v0 / 2)^2 / 2 is m v0 (1 + 1/4).
    let o = Body2 {
        q: [0.0, 0.0],
        v: [0.8, -0.2],
        m: 3.0,
    };
    let (gs, go) = b.kinetic_sum_grad(&o);
    assert!(close(gs.v[0], b.m * b.v[0]));
    assert!(close(go.v[0], o.m * o.v[0] * 1.25), "{}", go.v[0]);
    assert!(close(go.v[1], o.m * o.v[1] * 2.0), "{}", go.v[1]);
}

/// A struct with `#[no_diff]` fields as variables: copied from a
/// parameter, built by a literal, its data fields read.
#[derive(Differentiable, Clone, Debug)]
pub struct Poly {
    pub c: [f64; 3],
    #[no_diff]
    pub degree: usize,
    #[no_diff]
    pub label: u32,
}

#[differentiable(wrt(p))]
fn poly_eval(p: &Poly, x: f64) -> f64 {
    let mut q = p.clone();
    q.c[0] += 1.0;
    let r = Poly {
        c: [q.c[0] * x, q.c[1], q.c[2]],
        degree: q.degree,
        label: 7,
    };
    let mut acc = 0.0;
    for k in 0..r.degree + 1 {
        acc += r.c[k] * x.powi(k as i32) * (r.label as f64 - 6.0);
    }
    acc
}

#[test]
fn struct_variables_with_data_fields() {
    for degree in 0..3 {
        let p = Poly {
            c: [0.5, -1.0, 2.0],
            degree,
            label: 1,
        };
        let x = 1.7;
        let (v, g) = poly_eval_value_and_grad(&p, x);
        assert_eq!(v, poly_eval(&p, x));
        // r.c = [(c0 + 1) x, c1, c2], summed up to the degree.
        let r = [(p.c[0] + 1.0) * x, p.c[1], p.c[2]];
        let want: f64 = (0..=degree).map(|k| r[k] * x.powi(k as i32)).sum();
        assert!((v - want).abs() <= 1e-14 * (1.0 + want.abs()), "{v} {want}");
        let dc = [x, x, x * x];
        for k in 0..3 {
            let expected = if k <= degree { dc[k] } else { 0.0 };
            assert!(
                (g.c[k] - expected).abs() <= 1e-14,
                "{k}: {} {expected}",
                g.c[k]
            );
        }
    }
}
