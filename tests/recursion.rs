//! Recursion: the determinant by expansion in minors (the ADBench "det"
//! objective) and a recursive tree sum, each call lending a local buffer
//! to the next. A recursive function's pullback is boxed; no call
//! allocates a gradient vector (the callee adds into the caller's buffer).
#![allow(clippy::needless_range_loop, clippy::needless_return)]

mod common;
mod objectives;

use autodiff::check;
use autodiff::prelude::*;
use common::*;
use objectives::*;

/// The determinant of the `n`×`n` row-major matrix `a`, by expansion in
/// minors along the first row.
#[differentiable]
fn det(a: &[f64], n: usize) -> f64 {
    if n == 1 {
        return a[0];
    }
    let m = n - 1;
    let mut minor = vec![0.0; m * m];
    let mut total = 0.0;
    let mut sign = 1.0;
    for j in 0..n {
        for r in 1..n {
            let mut cc = 0;
            for c in 0..n {
                if c != j {
                    minor[(r - 1) * m + cc] = a[r * n + c];
                    cc += 1;
                }
            }
        }
        total += sign * a[j] * det(&minor, m);
        sign = -sign;
    }
    total
}

/// The sum of a binary tree stored in an array (children of `i` at `2i+1`,
/// `2i+2`), each node weighted by the sine of its value.
#[differentiable]
fn tree_sum(x: &[f64], i: usize) -> f64 {
    if i >= x.len() {
        return 0.0;
    }
    x[i].sin() * x[i] + tree_sum(x, 2 * i + 1) + 0.5 * tree_sum(x, 2 * i + 2)
}

fn cofactor_gradient(a: &[f64], n: usize) -> Vec<f64> {
    // ∂det/∂a[i][j] = the (i, j) cofactor, by finite differences of the
    // exact determinant (a polynomial: central differences are exact up to
    // rounding).
    check::central_difference(|p: &[f64]| det(p, n), a)
}

#[test]
fn determinant_by_minors() {
    let mut rng = Rng::new(13);
    // Known values.
    assert_eq!(det(&[1.0, 2.0, 3.0, 4.0], 2), -2.0);
    let (v, g) = det_value_and_grad(&[1.0, 2.0, 3.0, 4.0], 2);
    assert_eq!((v, g), (-2.0, vec![4.0, -3.0, -2.0, 1.0]));
    for n in [1, 2, 3, 4, 5] {
        let a: Vec<f64> = (0..n * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (v, g) = det_value_and_grad(&a, n);
        assert_eq!(v, det(&a, n));
        check::compare("det gradient", &g, &cofactor_gradient(&a, n), FD).unwrap();
        let dir: Vec<f64> = (0..n * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (v2, d) = det_jvp(&a, n, &dir);
        assert_eq!(v2, v);
        let expected: f64 = g.iter().zip(&dir).map(|(x, y)| x * y).sum();
        assert_close("det jvp", d, expected, EXACT);
    }
}

#[test]
fn recursive_tree_sum() {
    let mut rng = Rng::new(17);
    for len in [1, 2, 7, 12] {
        let x: Vec<f64> = (0..len).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (v, g) = tree_sum_value_and_grad(&x, 0);
        assert_eq!(v, tree_sum(&x, 0));
        check::gradient(|p: &[f64]| tree_sum(p, 0), &g, &x, FD).unwrap();
        let dir: Vec<f64> = (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (_, d) = tree_sum_jvp(&x, 0, &dir);
        let expected: f64 = g.iter().zip(&dir).map(|(x, y)| x * y).sum();
        assert_close("tree jvp", d, expected, EXACT);
    }
}

#[test]
fn determinant_with_linked_lists() {
    let mut rng = Rng::new(19);
    for n in [1, 2, 3, 4, 5] {
        let a: Vec<f64> = (0..n * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (v, g) = det_by_minors_value_and_grad(&a, n);
        assert_eq!(v, det_by_minors(&a, n));
        assert_close("same determinant", v, det(&a, n), EXACT);
        let (_, g_copies) = det_value_and_grad(&a, n);
        check::compare("det gradient, lists against copies", &g, &g_copies, EXACT).unwrap();
        let dir: Vec<f64> = (0..n * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (_, d) = det_by_minors_jvp(&a, n, &dir);
        let expected: f64 = g.iter().zip(&dir).map(|(x, y)| x * y).sum();
        assert_close("det jvp", d, expected, EXACT);
    }
}

/// Writes data and leaves it changed: the VJP leaves it as the function
/// does.
#[differentiable]
fn bump(x: &[f64], r: &mut [usize]) -> f64 {
    let i = r[0];
    r[0] = (i + 1) % x.len();
    x[i] * x[r[0]]
}

#[test]
fn data_left_as_the_function_leaves_it() {
    let x = [1.0, 2.0, 3.0];
    let (mut r1, mut r2) = ([1usize], [1usize]);
    let y = bump(&x, &mut r1);
    let (y2, g) = bump_value_and_grad(&x, &mut r2);
    assert_eq!((y2, r2), (y, r1));
    assert_eq!(g, vec![0.0, 3.0, 2.0]);
}
