//! Implicit differentiation of a solver: `x(p)` solves
//! `g(x, p) = x³ + p x - 1 = 0` by Newton's method. Differentiating the 50
//! iterations unrolled works but keeps every iterate; the implicit function
//! theorem gives the derivative from the solution alone,
//! `dx/dp = -g_p / g_x = -x / (3x² + p)`, as a custom rule.
//!
//! `cargo run --release --example implicit_newton`

use std::hint::black_box;
use std::time::Instant;

use autodiff::prelude::*;

const ITERATIONS: usize = 50;

/// Newton's method, differentiated through its iterations.
#[differentiable]
pub fn solve_unrolled(p: f64) -> f64 {
    let mut x = 1.0;
    for _ in 0..ITERATIONS {
        x = x - (x * x * x + p * x - 1.0) / (3.0 * x * x + p);
    }
    x
}

/// The implicit function theorem at the solution.
pub fn solve_rule(p: f64, x: f64, dx: f64) -> f64 {
    -dx * x / (3.0 * x * x + p)
}

/// The same solver, differentiated by its rule.
#[custom_vjp(solve_rule)]
pub fn solve(p: f64) -> f64 {
    let mut x = 1.0;
    for _ in 0..ITERATIONS {
        x -= (x * x * x + p * x - 1.0) / (3.0 * x * x + p);
    }
    x
}

/// A model using the solution: differentiable callers go through the rule.
#[differentiable]
pub fn energy(p: f64, q: f64) -> f64 {
    let x = solve(p * q);
    x * x + q
}

/// Seconds per call of `f`, the median of five samples.
fn time(mut f: impl FnMut()) -> f64 {
    let reps = 20_000;
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[2]
}

/// The derivatives against each other and finite differences (what the
/// test of the examples runs).
pub fn checks() {
    for p in [0.5, 1.0, 3.0] {
        let (implicit, unrolled) = (solve_grad(p), solve_unrolled_grad(p));
        let fd = check::central_difference(|v| solve(v[0]), &[p])[0];
        println!(
            "p = {p}: implicit {implicit:.12}, unrolled {unrolled:.12}, finite differences {fd:.12}"
        );
        assert!((implicit - unrolled).abs() < 1e-12 * implicit.abs());
        assert!((implicit - fd).abs() < 1e-7 * implicit.abs());
    }
    check::vjp_rule(
        |v| solve(v[0]),
        |v, x, dx| vec![solve_rule(v[0], x, dx)],
        &[2.0],
        Default::default(),
    )
    .unwrap();
    let (gp, gq) = energy_grad(1.5, 0.8);
    check::gradient(
        |v| energy(v[0], v[1]),
        &[gp, gq],
        &[1.5, 0.8],
        Default::default(),
    )
    .unwrap();
}

pub fn main() {
    checks();
    let t_implicit = time(|| {
        black_box(solve_grad(black_box(1.5)));
    });
    let t_unrolled = time(|| {
        black_box(solve_unrolled_grad(black_box(1.5)));
    });
    println!(
        "gradient through {ITERATIONS} iterations: implicit {:.0} ns, unrolled {:.0} ns ({:.1}x)",
        t_implicit * 1e9,
        t_unrolled * 1e9,
        t_unrolled / t_implicit
    );
}
