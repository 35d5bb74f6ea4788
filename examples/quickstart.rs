//! The first thing to run: `cargo run --release --example quickstart`.
//!
//! Differentiates a function in forward and reverse mode, checks the
//! gradient against finite differences, and minimises a function by
//! gradient descent with the generated gradient.

use autodiff::check;
use autodiff::prelude::*;

/// The example of the README.
#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    let a = x * y + (x / y).sin();
    let b = a.exp() - 3.0 * y.powi(2);
    a.mul_add(b, x.sqrt())
}

/// Rosenbrock's banana function, minimum 0 at (1, 1).
#[differentiable]
fn rosenbrock(x: f64, y: f64) -> f64 {
    let a = 1.0 - x;
    let b = y - x * x;
    a * a + 100.0 * b * b
}

fn main() {
    let (x, y) = (1.5, 2.0);
    println!("f(x, y) at (x, y) = ({x}, {y})");

    let (v, dv_dx) = f_jvp(x, y, 1.0, 0.0);
    println!("  forward mode:  f = {v:.12}, df/dx = {dv_dx:.12}");

    let (gx, gy) = f_grad(x, y);
    println!("  reverse mode:  grad f = ({gx:.12}, {gy:.12})");

    let (_, (gx2, gy2)) = f_vjp(x, y, 2.0);
    println!("  VJP with dr = 2: ({gx2:.12}, {gy2:.12})");

    let fd = check::central_difference(|p: &[f64]| f(p[0], p[1]), &[x, y]);
    println!("  finite differences: ({:.12}, {:.12})", fd[0], fd[1]);
    match check::gradient(
        |p: &[f64]| f(p[0], p[1]),
        &[gx, gy],
        &[x, y],
        check::Tolerance::default(),
    ) {
        Ok(()) => println!("  gradient check: ok"),
        Err(e) => println!("  gradient check FAILED: {e}"),
    }

    // Gradient descent with a backtracking line search on Rosenbrock.
    let (mut x, mut y) = (-1.2, 1.0);
    let mut step = 1e-3;
    let mut iterations = 0;
    loop {
        let (value, (gx, gy)) = rosenbrock_value_and_grad(x, y);
        if gx.hypot(gy) < 1e-8 || iterations == 100_000 {
            println!(
                "\nrosenbrock: minimum {value:.3e} at ({x:.6}, {y:.6}) after {iterations} gradient steps"
            );
            break;
        }
        // Halve the step until it decreases the function, then grow it again.
        loop {
            let (nx, ny) = (x - step * gx, y - step * gy);
            if rosenbrock(nx, ny) < value {
                (x, y) = (nx, ny);
                step *= 1.5;
                break;
            }
            step *= 0.5;
        }
        iterations += 1;
    }
}
