//! Array values carried by loops: `s = step(s)` in a `for` or a `while`,
//! the way explicit integrators are written, and array values written by
//! element (`let mut q = s; q[i] += e`). Gradients against central
//! differences, and reverse mode against forward mode (the dot-product
//! test), at many points.
mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

/// A rotation by `a`, shrunk by `r`.
#[differentiable]
fn turn(s: [f64; 2], a: f64, r: f64) -> [f64; 2] {
    [
        r * (s[0] * a.cos() - s[1] * a.sin()),
        r * (s[0] * a.sin() + s[1] * a.cos()),
    ]
}

/// The state after `n` turns: a call's result carried.
#[differentiable(wrt(s0, a))]
fn spin(s0: [f64; 2], a: f64, n: usize) -> f64 {
    let mut s = s0;
    for _ in 0..n {
        s = turn(s, a, 0.9);
    }
    s[0] * s[0] + 3.0 * s[1]
}

/// An array literal carried, with a branch choosing which update.
#[differentiable(wrt(s0, h))]
fn euler(s0: [f64; 2], h: f64, n: usize) -> f64 {
    let mut s = s0;
    for i in 0..n {
        if i % 3 == 0 {
            s = [s[0] + h * s[1], s[1] - h * s[0].sin()];
        } else {
            s = turn(s, h, 1.0);
        }
    }
    s[0] * s[1]
}

/// An array changed in some iterations only, next to a float that reads
/// it.
#[differentiable(wrt(s0, a))]
fn sometimes(s0: [f64; 2], a: f64, n: usize) -> f64 {
    let mut s = s0;
    let mut acc = 0.0;
    for i in 0..n {
        if i % 2 == 0 {
            s = turn(s, a, 1.1);
        }
        acc += s[0] * s[1];
    }
    acc + s[1]
}

/// Both arms of a branch give an array variable what a call returns (found
/// by the fuzzer: the variable was taken for a float after the branch).
#[differentiable(wrt(s0, a))]
fn either(s0: [f64; 2], a: f64, n: usize) -> f64 {
    let mut s = s0;
    for i in 0..n {
        if s[0] > s[1] * (i as f64) {
            s = turn(s, a, 0.8);
        } else {
            s = turn(s, -a, 1.2);
        }
    }
    s[0] - s[1] * s[1]
}

/// A copy of a parameter written by element, in a loop and outside,
/// with every operator, and read back.
#[differentiable(wrt(s, h))]
fn updated(s: [f64; 3], h: f64) -> [f64; 3] {
    let mut q = s;
    for i in 0..3 {
        q[i] += h * s[(i + 1) % 3];
    }
    q[0] *= q[1];
    q[2] -= h;
    q[1] = q[0] / (1.0 + q[2] * q[2]);
    q
}

/// What a call returned, written by element inside loops that carry it.
#[differentiable(wrt(s0, a))]
fn kicked(s0: [f64; 2], a: f64, n: usize) -> f64 {
    let mut s = turn(s0, a, 1.0);
    for k in 0..n {
        s[k % 2] += a * s[(k + 1) % 2];
        if s[0] > 0.0 {
            s[1] *= 0.5;
        }
    }
    s[0] * s[1]
}

/// An array variable given what a call returns before a loop, and in the
/// loop before a branch that may give it a literal (both found by the
/// fuzzer: the call's result was taken for a float, a compile error).
#[derive(Differentiable)]
pub struct Scale {
    pub c: f64,
}

#[differentiable(wrt(x, a))]
#[allow(clippy::needless_else)]
fn reassigned(x: [f64; 2], a: f64, n: usize) -> f64 {
    let mut q = [a, a];
    q = turn(q, a, 0.5);
    let mut acc = 0.0;
    for i in 0..n {
        let sc = Scale {
            c: a * (i as f64 + 1.0),
        };
        q = turn(q, 0.3, sc.c);
        if a > x[0] {
            q = [a * x[1], q[0]];
        } else {
        }
        acc += q[1];
    }
    acc + q[0]
}

/// An array that starts constant and becomes active in the loop (found by
/// the fuzzer: the loop's array was taken for inactive, and the gradient
/// was silently zero).
#[differentiable(wrt(x))]
fn starts_constant(x: &[f64], n: usize) -> f64 {
    let mut q = [0.25, 0.25];
    let mut k = 0;
    while k < n {
        k += 1;
        for i in 0..x.len() {
            q = turn(q, x[i], 1.0 + x[0]);
        }
    }
    q[1]
}

/// A `while` carrying an array, and an array carried by nested loops.
#[differentiable(wrt(s0, k))]
fn nested(s0: [f64; 3], k: f64, n: usize) -> f64 {
    let mut s = s0;
    let mut t = 0;
    while t < n {
        for j in 0..3 {
            let v = [s[1], s[2], s[0]];
            s = [s[0] + k * v[0] * (j as f64 + 1.0), v[1], s[2] - k * v[2]];
        }
        t += 1;
    }
    s[0] + s[1] * s[2]
}

/// The flat RK4 step of a damped spring: `[x, v]` by `[k, c]`.
#[differentiable]
fn spring_deriv(s: [f64; 2], p: [f64; 2]) -> [f64; 2] {
    [s[1], -p[0] * s[0] - p[1] * s[1]]
}

#[differentiable]
fn axpy2(s: [f64; 2], h: f64, d: [f64; 2]) -> [f64; 2] {
    [s[0] + h * d[0], s[1] + h * d[1]]
}

#[differentiable]
fn rk4(s: [f64; 2], p: [f64; 2], h: f64) -> [f64; 2] {
    let k1 = spring_deriv(s, p);
    let k2 = spring_deriv(axpy2(s, 0.5 * h, k1), p);
    let k3 = spring_deriv(axpy2(s, 0.5 * h, k2), p);
    let k4 = spring_deriv(axpy2(s, h, k3), p);
    [
        s[0] + h / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]),
        s[1] + h / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]),
    ]
}

#[differentiable(wrt(s0, p))]
fn rk4_energy(s0: [f64; 2], p: [f64; 2], h: f64, n: usize) -> f64 {
    let mut s = s0;
    for _ in 0..n {
        s = rk4(s, p, h);
    }
    0.5 * s[1] * s[1] + 0.5 * p[0] * s[0] * s[0]
}

/// The shape of most functions here: a state, a float, a trip count.
type Pair = fn([f64; 2], f64, usize) -> f64;
type PairGrad = fn([f64; 2], f64, usize) -> ([f64; 2], f64);
type PairJvp = fn([f64; 2], f64, usize, [f64; 2], f64) -> (f64, f64);

/// At 20 random points for each trip count in `ns` (the float drawn from
/// `a_range`): the gradient against central differences, and the JVP along
/// `(0.5, -1), 0.25` against the gradient (the dot-product test).
fn check_pair(
    seed: u64,
    ns: &[usize],
    a_range: (f64, f64),
    (f, grad, jvp): (Pair, PairGrad, PairJvp),
) {
    let mut rng = Rng::new(seed);
    for &n in ns {
        for _ in 0..20 {
            let x = [
                rng.uniform(-1.0, 1.0),
                rng.uniform(-1.0, 1.0),
                rng.uniform(a_range.0, a_range.1),
            ];
            let (gs, ga) = grad([x[0], x[1]], x[2], n);
            check::gradient(
                |p: &[f64]| f([p[0], p[1]], p[2], n),
                &[gs[0], gs[1], ga],
                &x,
                FD,
            )
            .unwrap();
            let (v, t) = jvp([x[0], x[1]], x[2], n, [0.5, -1.0], 0.25);
            assert_eq!(v, f([x[0], x[1]], x[2], n));
            assert_close("dot product", t, 0.5 * gs[0] - gs[1] + 0.25 * ga, EXACT);
        }
    }
}

#[test]
fn a_call_result_carried() {
    check_pair(11, &[0, 1, 2, 7], (-2.0, 2.0), (spin, spin_grad, spin_jvp));
}

#[test]
fn literals_and_branches_carried() {
    check_pair(
        12,
        &[1, 3, 4, 10],
        (0.01, 0.3),
        (euler, euler_grad, euler_jvp),
    );
}

#[test]
fn while_and_nested_loops_carried() {
    let mut rng = Rng::new(13);
    for n in [0, 1, 2, 5] {
        for _ in 0..20 {
            let x: Vec<f64> = (0..4).map(|_| rng.uniform(-0.5, 0.5)).collect();
            let (gs, gk) = nested_grad([x[0], x[1], x[2]], x[3], n);
            let f = |p: &[f64]| nested([p[0], p[1], p[2]], p[3], n);
            check::gradient(f, &[gs[0], gs[1], gs[2], gk], &x, FD).unwrap();
            let (_, t) = nested_jvp([x[0], x[1], x[2]], x[3], n, [1.0, 2.0, -1.0], 0.5);
            let dot = gs[0] + 2.0 * gs[1] - gs[2] + 0.5 * gk;
            assert_close("dot product", t, dot, EXACT);
        }
    }
}

#[test]
fn rk4_over_arrays() {
    let mut rng = Rng::new(14);
    for _ in 0..20 {
        let x = [
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(0.5, 2.0),
            rng.uniform(0.0, 0.5),
        ];
        let (gs, gp) = rk4_energy_grad([x[0], x[1]], [x[2], x[3]], 0.1, 20);
        let f = |p: &[f64]| rk4_energy([p[0], p[1]], [p[2], p[3]], 0.1, 20);
        check::gradient(f, &[gs[0], gs[1], gp[0], gp[1]], &x, FD).unwrap();
        let (_, t) = rk4_energy_jvp([x[0], x[1]], [x[2], x[3]], 0.1, 20, [1.0, 0.0], [0.0, 1.0]);
        assert_close("dot product", t, gs[0] + gp[1], EXACT);
    }
}

#[test]
fn arrays_changed_in_some_iterations() {
    check_pair(
        15,
        &[0, 1, 2, 5],
        (-1.0, 1.0),
        (sometimes, sometimes_grad, sometimes_jvp),
    );
}

#[test]
fn vector_forward_mode_carries_array_tangents() {
    let mut rng = Rng::new(16);
    for _ in 0..10 {
        let x: Vec<f64> = (0..4).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (s0, p) = ([x[0], x[1]], [x[2] + 1.5, x[3].abs()]);
        // Four directions at once: the unit vectors of (s0, p).
        let ds0 = [Lanes([1.0, 0.0, 0.0, 0.0]), Lanes([0.0, 1.0, 0.0, 0.0])];
        let dp = [Lanes([0.0, 0.0, 1.0, 0.0]), Lanes([0.0, 0.0, 0.0, 1.0])];
        let (v, lanes) = rk4_energy_jvp_lanes(s0, p, 0.1, 15, ds0, dp);
        let (gs, gp) = rk4_energy_grad(s0, p, 0.1, 15);
        assert_eq!(v, rk4_energy(s0, p, 0.1, 15));
        let g = [gs[0], gs[1], gp[0], gp[1]];
        for (lane, gk) in lanes.0.iter().zip(g) {
            assert_close("lane", *lane, gk, EXACT);
        }
    }
}

#[test]
fn both_arms_give_call_results() {
    check_pair(
        17,
        &[1, 2, 6],
        (-1.0, 1.0),
        (either, either_grad, either_jvp),
    );
}

#[test]
fn array_values_written_by_element() {
    let mut rng = Rng::new(18);
    for _ in 0..30 {
        let x: Vec<f64> = (0..4).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (s, h) = ([x[0], x[1], x[2]], x[3]);
        // The value, against the same steps on a plain array.
        let mut q = s;
        for i in 0..3 {
            q[i] += h * s[(i + 1) % 3];
        }
        q[0] *= q[1];
        q[2] -= h;
        q[1] = q[0] / (1.0 + q[2] * q[2]);
        assert_eq!(updated(s, h), q);
        // Each output's gradient against central differences, and reverse
        // against forward.
        let ds = [0.5, -1.0, 2.0];
        let (_, t) = updated_jvp(s, h, ds, 0.25);
        for k in 0..3 {
            let mut dr = [0.0; 3];
            dr[k] = 1.0;
            let (_, (gs, gh)) = updated_vjp(s, h, dr);
            let f = |p: &[f64]| updated([p[0], p[1], p[2]], p[3])[k];
            check::gradient(f, &[gs[0], gs[1], gs[2], gh], &x, FD).unwrap();
            let dot = 0.5 * gs[0] - gs[1] + 2.0 * gs[2] + 0.25 * gh;
            assert_close("dot product", t[k], dot, EXACT);
        }
    }
}

#[test]
fn call_results_written_by_element_in_loops() {
    check_pair(
        19,
        &[0, 1, 2, 5],
        (-1.0, 1.0),
        (kicked, kicked_grad, kicked_jvp),
    );
    let mut rng = Rng::new(19);
    for n in [0, 1, 2, 5] {
        for _ in 0..20 {
            let x: Vec<f64> = (0..3).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let (_, ga) = kicked_grad([x[0], x[1]], x[2], n);
            let (_, t) = kicked_jvp([x[0], x[1]], x[2], n, [1.0, 0.5], -2.0);
            let (_, l) = kicked_jvp_lanes(
                [x[0], x[1]],
                x[2],
                n,
                [Lanes([1.0, 0.0]), Lanes([0.5, 0.0])],
                Lanes([-2.0, 1.0]),
            );
            // Lane 0 is the same direction as the JVP's: the same
            // operations, the same bits; lane 1 is along `a` alone.
            assert_eq!(l.0[0], t);
            assert_close("lane along a", l.0[1], ga, EXACT);
        }
    }
}

#[test]
fn call_results_given_to_array_variables() {
    check_pair(
        20,
        &[0, 1, 3],
        (-1.0, 1.0),
        (reassigned, reassigned_grad, reassigned_jvp),
    );
}

#[test]
fn arrays_that_start_constant() {
    let mut rng = Rng::new(21);
    for n in [1, 2, 3] {
        for _ in 0..20 {
            let x: Vec<f64> = (0..3).map(|_| rng.uniform(-0.5, 0.5)).collect();
            let g = starts_constant_grad(&x, n);
            assert!(g.iter().any(|&v| v != 0.0));
            check::gradient(|p: &[f64]| starts_constant(p, n), &g, &x, FD).unwrap();
        }
    }
}
