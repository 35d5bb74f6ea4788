//! Branches and loops, over scalars and slices, in forward and reverse mode,
//! against central finite differences, dual numbers and closed forms.

mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

#[differentiable]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
    }
    s
}

fn rosenbrock_grad_exact(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let b = x[i + 1] - x[i] * x[i];
        g[i] += -2.0 * (1.0 - x[i]) - 400.0 * b * x[i];
        g[i + 1] += 200.0 * b;
    }
    g
}

#[test]
fn rosenbrock_against_closed_form_and_finite_differences() {
    let mut rng = Rng::new(21);
    for n in [2, 3, 10, 57] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let g: Vec<f64> = rosenbrock_grad(&x);
        check::compare("rosenbrock grad", &g, &rosenbrock_grad_exact(&x), EXACT).unwrap();
        check::gradient(rosenbrock, &g, &x, FD).unwrap();
        let v: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y, d) = rosenbrock_jvp(&x, &v);
        assert_eq!(y, rosenbrock(&x));
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close("rosenbrock jvp", d, expected, EXACT);
        let (y2, g2) = rosenbrock_vjp(&x, 2.0);
        assert_eq!(y2, y);
        let doubled: Vec<f64> = g.iter().map(|v| 2.0 * v).collect();
        check::compare("rosenbrock vjp", &g2, &doubled, EXACT).unwrap();
    }
}

#[test]
fn zero_trip_loop() {
    // One element: the loop runs zero times; the gradient is exactly zero.
    assert_eq!(rosenbrock_grad(&[3.0]), vec![0.0]);
    assert_eq!(rosenbrock_jvp(&[3.0], &[1.0]), (0.0, 0.0));
}
