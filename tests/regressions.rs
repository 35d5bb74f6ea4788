//! Bugs found by users and by the differential fuzzer, one test each: the
//! program as it was reported, its gradient against central finite
//! differences and a closed form, and forward mode against reverse mode.
// The programs are kept as they were reported, which clippy would restyle.
#![allow(
    clippy::needless_range_loop,
    clippy::if_same_then_else,
    clippy::assign_op_pattern,
    clippy::never_loop,
    clippy::useless_vec
)]

mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

/// Checks `grad` against finite differences of `f` and `jvp` against
/// `grad · v`, at each of `points`; values must agree exactly.
fn check_fn(
    name: &str,
    points: &[Vec<f64>],
    f: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    value_and_grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
) {
    let mut rng = Rng::new(name.len() as u64);
    for x in points {
        let (y, g) = value_and_grad(x);
        assert_eq!(y, f(x), "{name} at {x:?}: value of value_and_grad");
        check::gradient(&f, &g, x, FD).unwrap_or_else(|e| panic!("{name} at {x:?}: {e}"));
        let v: Vec<f64> = x.iter().map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y2, d) = jvp(x, &v);
        assert_eq!(y2, y, "{name} at {x:?}: value of the JVP");
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close(&format!("{name} at {x:?}: JVP"), d, expected, EXACT);
    }
}

fn points(n: usize, count: usize, lo: f64, hi: f64) -> Vec<Vec<f64>> {
    let mut rng = Rng::new(n as u64 * 7 + count as u64);
    (0..count)
        .map(|_| (0..n).map(|_| rng.uniform(lo, hi)).collect())
        .collect()
}

// A loop assigning a carried variable a value defined before the loop: the
// carried variable's slot must carry a derivative even though the body
// never reads it (the loop's result is what the body assigned).
#[differentiable]
fn carried_from_outside(a: f64, b: f64) -> f64 {
    let mut s = a;
    for _ in 0..2 {
        s = a;
    }
    let t = if s < b { a } else { a };
    t + s
}

#[differentiable]
fn carried_from_outside_slice(x: &[f64]) -> f64 {
    let mut s = 1.0;
    let t = x[x.len() - 1];
    for _ in x.iter() {
        s = t;
    }
    t * 0.5 + s
}

#[differentiable]
fn carried_from_outside_while(a: f64) -> f64 {
    let mut s = 0.0;
    let mut k = 0;
    while k < 3 {
        s = a;
        k += 1;
    }
    s * a
}

#[test]
fn loop_assigns_outside_value() {
    for (a, b) in [(1.0, 2.0), (3.0, -1.0), (-0.5, 0.25)] {
        assert_eq!(carried_from_outside_grad(a, b), (2.0, 0.0));
        assert_eq!(carried_from_outside_jvp(a, b, 1.0, 0.0), (2.0 * a, 2.0));
    }
    check_fn(
        "carried_from_outside",
        &points(2, 20, -2.0, 2.0),
        |x| carried_from_outside(x[0], x[1]),
        |x, v| carried_from_outside_jvp(x[0], x[1], v[0], v[1]),
        |x| {
            let (y, (ga, gb)) = carried_from_outside_value_and_grad(x[0], x[1]);
            (y, vec![ga, gb])
        },
    );
    // The true gradient: 1.5 for the last component, zero elsewhere.
    assert_eq!(
        carried_from_outside_slice_grad(&[1.0, 2.0, 3.0]),
        vec![0.0, 0.0, 1.5]
    );
    check_fn(
        "carried_from_outside_slice",
        &points(4, 20, -2.0, 2.0),
        carried_from_outside_slice,
        carried_from_outside_slice_jvp,
        carried_from_outside_slice_value_and_grad,
    );
    check_fn(
        "carried_from_outside_while",
        &points(1, 20, -2.0, 2.0),
        |x| carried_from_outside_while(x[0]),
        |x, v| carried_from_outside_while_jvp(x[0], v[0]),
        |x| {
            let (y, g) = carried_from_outside_while_value_and_grad(x[0]);
            (y, vec![g])
        },
    );
}

// An element written in one iteration and read in a later one, the array
// not read after the loop: dead code elimination dropped the write.
#[differentiable]
fn written_then_read_next_iteration(a: f64) -> f64 {
    let mut w = vec![0.0; 2];
    let mut s = 0.0;
    for i in 0..2 {
        s += w[0];
        w[i] = a;
    }
    s
}

#[test]
fn element_written_in_one_iteration_read_in_the_next() {
    assert_eq!(written_then_read_next_iteration(0.7), 0.7);
    assert_eq!(
        written_then_read_next_iteration_value_and_grad(0.7),
        (0.7, 1.0)
    );
    assert_eq!(written_then_read_next_iteration_jvp(0.7, 2.0), (0.7, 2.0));
}

// A carried variable starting from an active argument the loop also reads:
// the reverse loop's adjoint of the argument and the carried adjoint of its
// initial value were mixed up (an internal error).
#[differentiable]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a;
    for _ in 0..30 {
        x = 0.5 * (x + a / x);
    }
    x
}

#[differentiable]
fn power_by_loop(a: f64) -> f64 {
    let mut x = a;
    for _ in 0..3 {
        x = x * a;
    }
    x
}

#[test]
fn carried_from_an_argument_the_loop_reads() {
    for a in [0.25, 1.0, 2.0, 9.0] {
        let (y, g) = newton_sqrt_value_and_grad(a);
        assert_eq!(y, newton_sqrt(a));
        assert_close("newton sqrt", y, a.sqrt(), EXACT);
        assert_close("newton d sqrt", g, 0.5 / a.sqrt(), EXACT);
        assert_close("newton jvp", newton_sqrt_jvp(a, 1.0).1, g, EXACT);
        let (y, g) = power_by_loop_value_and_grad(a);
        assert_eq!(y, power_by_loop(a));
        assert_close("a^4", y, a.powi(4), EXACT);
        assert_close("d a^4", g, 4.0 * a.powi(3), EXACT);
        assert_close("a^4 jvp", power_by_loop_jvp(a, 1.0).1, g, EXACT);
    }
}

// The value of `loop { break v }` passed to a call: its class was unknown.
#[differentiable]
fn double(a: f64) -> f64 {
    a * 2.0
}

#[differentiable]
fn loop_value_to_call(a: f64) -> f64 {
    let t = loop {
        break a * a;
    };
    double(t)
}

#[differentiable]
fn typed_loop_value_to_call(a: f64) -> f64 {
    let mut k = 0;
    let t: f64 = loop {
        k += 1;
        if k > 2 {
            break a.sin();
        }
    };
    double(t)
}

#[test]
fn loop_value_passed_to_a_call() {
    for a in [-1.5, 0.5, 3.0] {
        assert_eq!(loop_value_to_call(a), double(a * a));
        assert_eq!(loop_value_to_call_value_and_grad(a), (2.0 * a * a, 4.0 * a));
        assert_eq!(loop_value_to_call_jvp(a, 1.0), (2.0 * a * a, 4.0 * a));
        let (y, g) = typed_loop_value_to_call_value_and_grad(a);
        assert_eq!(y, typed_loop_value_to_call(a));
        assert_close("2 sin a", y, 2.0 * a.sin(), EXACT);
        assert_close("2 cos a", g, 2.0 * a.cos(), EXACT);
    }
}

// A callee with `wrt`, called from a function with the same active set: the
// caller passed a tangent for every float argument (rustc's E0308, E0061).
#[differentiable(wrt(x))]
fn scale_by(c: f64, x: f64) -> f64 {
    c * x.sin()
}

#[differentiable(wrt(x))]
fn call_scale_by(c: f64, x: f64) -> f64 {
    scale_by(c, x) * x
}

#[differentiable(wrt(w))]
fn weighted_sum(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += v * w * w;
    }
    s
}

#[differentiable(wrt(w))]
fn call_weighted_sum(x: &[f64], w: f64) -> f64 {
    weighted_sum(x, w).sqrt()
}

#[test]
fn callee_with_wrt() {
    for (c, x) in [(2.0, 0.5), (-1.0, 3.0), (0.5, -2.0)] {
        let (y, g) = call_scale_by_value_and_grad(c, x);
        assert_eq!(y, call_scale_by(c, x));
        let exact = c * (x.cos() * x + x.sin());
        assert_close("d/dx c sin(x) x", g, exact, EXACT);
        assert_close("jvp", call_scale_by_jvp(c, x, 1.0).1, exact, EXACT);
    }
    let x = [1.0, 2.0, 0.5];
    let w = 1.5;
    let s: f64 = x.iter().sum();
    let (y, g) = call_weighted_sum_value_and_grad(&x, w);
    assert_eq!(y, call_weighted_sum(&x, w));
    // d/dw sqrt(s w²) = sqrt(s)
    assert_close("d/dw", g, s.sqrt(), EXACT);
    assert_close("jvp", call_weighted_sum_jvp(&x, w, 1.0).1, s.sqrt(), EXACT);
}

// Found by the fuzzer: a call whose result is inactive (its arguments are
// constants) passed to an active call; its zero tangent is shaped like the
// result, which may be an array (an internal error: "is not a slice").
#[differentiable]
fn plus_half(t: f64) -> f64 {
    t.sin() * t + 0.5
}

#[differentiable]
fn scaled_sum(s: &[f64], c: f64) -> f64 {
    let mut acc = 0.0;
    for i in 0..s.len() {
        acc += (s[i] * c).tanh() * s[i];
    }
    acc
}

#[differentiable]
fn constant_call_into_active_call(x: &[f64], a: f64) -> f64 {
    scaled_sum(&x[1..], plus_half(1.75)) + a
}

#[test]
fn inactive_call_result_into_an_active_call() {
    check_fn(
        "constant_call_into_active_call",
        &points(4, 10, -1.5, 1.5),
        |p| constant_call_into_active_call(&p[..3], p[3]),
        |p, v| constant_call_into_active_call_jvp(&p[..3], p[3], &v[..3], v[3]),
        |p| {
            let (y, (gx, ga)) = constant_call_into_active_call_value_and_grad(&p[..3], p[3]);
            (y, gx.into_iter().chain([ga]).collect())
        },
    );
}

// Found by the LSTM objective: a call writing a part of a local buffer
// lent mutably (`&mut v[a..b]`), as a statement: dead code elimination did
// not see the write through the part, removed the call, and every sibling
// read the buffer's initial contents.
#[differentiable]
fn halve_into(src: &[f64], out: &mut [f64]) {
    for i in 0..out.len() {
        out[i] = 0.5 * src[i] * src[i];
    }
}

#[differentiable]
fn write_through_part(x: &[f64]) -> f64 {
    let mut v = vec![0.0; 2 * x.len()];
    let n = x.len();
    halve_into(x, &mut v[n..2 * n]);
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i];
    }
    s
}

#[test]
fn call_writing_a_part_of_a_buffer() {
    let x = [1.0, -2.0, 3.0];
    assert_eq!(write_through_part(&x), 7.0);
    assert_eq!(
        write_through_part_value_and_grad(&x),
        (7.0, vec![1.0, -2.0, 3.0])
    );
    assert_eq!(write_through_part_jvp(&x, &[1.0, 1.0, 1.0]), (7.0, 2.0));
}

/// Parameters named like the locals of the generated siblings (found in
/// review: the wrappers' `pb` shadowed a parameter `pb`).
#[differentiable]
fn named_like_locals(value: f64, pb: &[f64], dr: f64, g_pb: f64, __pb: f64) -> f64 {
    value * pb[0] * dr + g_pb * pb[1] - __pb
}

#[test]
fn parameters_named_like_generated_locals() {
    let f = |x: &[f64]| named_like_locals(x[0], &x[1..3], x[3], x[4], x[5]);
    let points = points(6, 5, -2.0, 2.0);
    for x in &points {
        let (v, (g0, g1, g2, g3, g4)) =
            named_like_locals_value_and_grad(x[0], &x[1..3], x[3], x[4], x[5]);
        assert_eq!(v, f(x));
        let g: Vec<f64> = [g0].into_iter().chain(g1).chain([g2, g3, g4]).collect();
        check::gradient(f, &g, x, FD).unwrap();
        let (_, gv) = named_like_locals_vjp(x[0], &x[1..3], x[3], x[4], x[5], 2.0);
        assert_eq!(gv.0, 2.0 * g0);
        let (_, pb) = named_like_locals_pullback(x[0], &x[1..3], x[3], x[4], x[5]);
        assert_eq!(pb(1.0).2, g2);
    }
}
