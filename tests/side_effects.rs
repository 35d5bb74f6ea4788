//! Calls for their effects (a check, a log line, a counter) run in every
//! sibling exactly as often as in the primal: once per execution of the
//! statement, in straight-line code, loops and branches, and never again
//! in a reverse sweep that recomputes a loop body. Before, such a call was
//! dead code to the derivatives: `f_grad(0.5)` returned NaN where `f(0.5)`
//! panicked in its check.
#![allow(clippy::needless_range_loop)]

use std::cell::Cell;

use autodiff::__private::Lanes;
use autodiff::prelude::*;

thread_local! {
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

/// The check the error for `assert!` in a differentiable body advises
/// moving into a function outside.
fn ensure_positive(d: f64) {
    CALLS.with(|c| c.set(c.get() + 1));
    assert!(d > 0.0, "not positive: {d}");
}

fn log_value(_v: f64, _i: usize) {
    CALLS.with(|c| c.set(c.get() + 1));
}

#[differentiable]
fn checked_sqrt(x: f64) -> f64 {
    let d = x * x - 1.0;
    ensure_positive(d);
    d.sqrt()
}

/// In a loop whose body the reverse sweep recomputes, and in a branch.
#[differentiable]
fn logged_sum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let d = x[i] * x[i] + 1.0;
        ensure_positive(d);
        if x[i] > 0.0 {
            log_value(d, i);
        }
        s += d.sqrt() * s.sin() + x[i];
    }
    s
}

/// The count of effects `run` makes.
fn calls(run: impl FnOnce()) -> usize {
    CALLS.with(|c| c.set(0));
    run();
    CALLS.with(|c| c.get())
}

#[test]
fn each_sibling_runs_the_checks_once() {
    let x = 1.5;
    assert_eq!(calls(|| _ = checked_sqrt(x)), 1);
    assert_eq!(calls(|| _ = checked_sqrt_grad(x)), 1);
    assert_eq!(calls(|| _ = checked_sqrt_value_and_grad(x)), 1);
    assert_eq!(calls(|| _ = checked_sqrt_vjp(x, 1.0)), 1);
    assert_eq!(calls(|| _ = checked_sqrt_jvp(x, 1.0)), 1);
    assert_eq!(
        calls(|| _ = checked_sqrt_jvp_lanes::<2>(x, Lanes::zero())),
        1
    );
    let (_, pullback) = checked_sqrt_pullback(x);
    assert_eq!(calls(|| _ = pullback(1.0)), 0);
    // The derivative is right too: x / sqrt(x² - 1).
    let g = checked_sqrt_grad(x);
    assert!((g - x / (x * x - 1.0).sqrt()).abs() < 1e-14);
}

#[test]
fn in_loops_and_branches_as_often_as_the_primal() {
    let x = [0.5, -1.0, 2.0, 0.25, -0.75];
    let expected = calls(|| _ = logged_sum(&x));
    // One check per element, one log per positive element.
    assert_eq!(expected, 5 + 3);
    assert_eq!(calls(|| _ = logged_sum_grad(&x)), expected);
    assert_eq!(calls(|| _ = logged_sum_value_and_grad(&x)), expected);
    assert_eq!(calls(|| _ = logged_sum_vjp(&x, 1.0)), expected);
    assert_eq!(calls(|| _ = logged_sum_jvp(&x, &[1.0; 5])), expected);
    let dx = [Lanes::<f64, 3>::zero(); 5];
    assert_eq!(calls(|| _ = logged_sum_jvp_lanes(&x, &dx)), expected);
    // And the gradient against central differences.
    let g = logged_sum_grad(&x);
    autodiff::check::gradient(
        logged_sum,
        &g,
        &x,
        autodiff::check::Tolerance {
            rel: 1e-6,
            abs: 1e-8,
        },
    )
    .unwrap();
}

#[test]
#[should_panic(expected = "not positive")]
fn the_gradient_panics_where_the_primal_does() {
    let _ = checked_sqrt_grad(0.5);
}

#[test]
#[should_panic(expected = "not positive")]
fn the_jvp_panics_where_the_primal_does() {
    let _ = checked_sqrt_jvp(0.5, 1.0);
}

fn tick() {
    CALLS.with(|c| c.set(c.get() + 1));
}

/// A differentiable callee with an effect inside.
#[differentiable]
fn ticking_square(t: f64) -> f64 {
    tick();
    t * t
}

#[differentiable]
fn ticking_sum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += ticking_square(x[i]) * x[i];
    }
    s
}

/// A call whose value the function reads is a computation, not an
/// effect: a sibling that does not need the value does not make it
/// again. The gradient's reverse sweep calls the callee's pullback once
/// per element (its forward loop, which only summed the value, is gone);
/// the value and gradient also run that loop.
#[test]
fn calls_for_values_are_computations() {
    let x = [0.5, -1.0, 2.0];
    assert_eq!(calls(|| _ = ticking_sum(&x)), 3);
    assert_eq!(calls(|| _ = ticking_sum_grad(&x)), 3);
    assert_eq!(calls(|| _ = ticking_sum_value_and_grad(&x)), 6);
    let g = ticking_sum_grad(&x);
    for i in 0..3 {
        assert!((g[i] - 3.0 * x[i] * x[i]).abs() < 1e-14);
    }
}
