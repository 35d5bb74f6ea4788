//! Generic functions need `T: Float` and nothing more (docs/api.md):
//! recursion, `loop { .. break v }`, an early `return`, and the value of
//! a generic call read twice. Before, these asked for `T: Default` (the
//! hidden value of an exit was `Default::default()`), `T: 'static` (the
//! boxed pullback of a recursive function) and `T: AddCotangent` (the
//! cotangents of a call's result, which might have been an array). Each
//! is checked at `f64` against central differences, at `f32` against
//! `f64`, and at `Dual<f64>` (second order) against differences of the
//! gradient.

// The programs are written as users write them.
#![allow(clippy::let_and_return)]

mod common;

use autodiff::Dual;
use autodiff::prelude::*;
use common::*;
use num_traits::Float;

/// Recursion with an early exit: x · sin(x · sin(.. x)).
#[differentiable]
fn nested_sin<T: Float>(x: T, n: usize) -> T {
    if n == 0 {
        return x;
    }
    x * nested_sin(x, n - 1).sin()
}

/// A `loop` with a value.
#[differentiable]
fn grow<T: Float>(x: T) -> T {
    let mut v = x;
    let r = loop {
        v = v * x + T::from(0.5).unwrap();
        if v > T::from(10.0).unwrap() {
            break v.ln() * x;
        }
    };
    r
}

/// An early return of a float.
#[differentiable]
fn folded<T: Float>(x: T) -> T {
    if x < T::zero() {
        return -x.sin();
    }
    x * x
}

#[differentiable]
fn wave<T: Float>(c: T) -> T {
    c.sin() * c
}

/// A call's value read twice.
#[differentiable]
fn twice<T: Float>(c: T) -> T {
    let t = wave(c);
    t + t * c
}

/// Each function as `(name, f64 value, f64 gradient, f32 gradient, Dual
/// gradient, range)`.
type Case = (
    &'static str,
    fn(f64) -> f64,
    fn(f64) -> f64,
    fn(f32) -> f32,
    fn(Dual<f64>) -> Dual<f64>,
    (f64, f64),
);

fn cases() -> Vec<Case> {
    vec![
        (
            "nested_sin",
            |x| nested_sin(x, 3),
            |x| nested_sin_grad(x, 3),
            |x| nested_sin_grad(x, 3),
            |x| nested_sin_grad(x, 3),
            (-2.0, 2.0),
        ),
        ("grow", grow, grow_grad, grow_grad, grow_grad, (1.1, 3.0)),
        (
            "folded",
            folded,
            folded_grad,
            folded_grad,
            folded_grad,
            (-2.0, 2.0),
        ),
        (
            "twice",
            twice,
            twice_grad,
            twice_grad,
            twice_grad,
            (-2.0, 2.0),
        ),
    ]
}

#[test]
fn first_and_second_order_with_float_only() {
    let mut rng = Rng::new(23);
    for (name, f, grad, grad32, grad_dual, (lo, hi)) in cases() {
        for _ in 0..30 {
            let x = rng.uniform(lo, hi);
            let h = 1e-6;
            let g = grad(x);
            assert_close(name, g, (f(x + h) - f(x - h)) / (2.0 * h), FD);
            assert_close(&format!("{name} f32"), grad32(x as f32) as f64, g, F32);
            // Forward over reverse: the second derivative.
            let second = grad_dual(Dual::new(x, 1.0));
            assert_eq!(second.re, g, "{name}: the gradient at a dual");
            let fd = (grad(x + h) - grad(x - h)) / (2.0 * h);
            assert_close(&format!("{name} second"), second.eps, fd, FD);
        }
    }
}

#[test]
fn forward_mode_agrees() {
    let mut rng = Rng::new(29);
    for _ in 0..30 {
        let x = rng.uniform(-2.0, 2.0);
        assert_close(
            "nested_sin",
            nested_sin_jvp(x, 3, 1.0).1,
            nested_sin_grad(x, 3),
            EXACT,
        );
        assert_close("folded", folded_jvp(x, 1.0).1, folded_grad(x), EXACT);
        assert_close("twice", twice_jvp(x, 1.0).1, twice_grad(x), EXACT);
        let y = rng.uniform(1.1, 3.0);
        assert_close("grow", grow_jvp(y, 1.0).1, grow_grad(y), EXACT);
    }
}
