//! The ODE objective of ADBench/GradBench, written as users write it: an
//! explicit fourth-order Runge-Kutta integrator whose right-hand side
//! `ode_fun(x, y, z: &mut [f64])` writes its output into a buffer, called
//! four times per step on local buffers, and a step that reads and updates
//! its state in place (`y: &mut [f64]`).
#![allow(clippy::needless_range_loop)]

mod common;
mod objectives;

use autodiff::check;
use common::*;
use objectives::*;

#[test]
fn rk4_against_finite_differences_and_forward_mode() {
    let mut rng = Rng::new(11);
    for (n, s) in [(1, 1), (3, 2), (5, 10)] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(0.5, 1.5)).collect();
        let (y, g) = ode_sum_value_and_grad(&x, s);
        assert_eq!(y, ode_sum(&x, s));
        check::gradient(|p: &[f64]| ode_sum(p, s), &g, &x, FD).unwrap();
        let v: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y2, d) = ode_sum_jvp(&x, s, &v);
        assert_eq!(y2, y);
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close("ode jvp", d, expected, EXACT);
        // The whole Jacobian: one VJP per output against one JVP per input.
        let yv = ode(&x, s);
        for j in 0..n {
            let e: Vec<f64> = (0..n).map(|k| if k == j { 1.0 } else { 0.0 }).collect();
            let (_, column) = ode_jvp(&x, s, &e);
            for i in 0..n {
                let w: Vec<f64> = (0..n).map(|k| if k == i { 1.0 } else { 0.0 }).collect();
                let (value, row) = ode_vjp(&x, s, w);
                assert_eq!(value, yv);
                assert_close("ode jacobian", row[j], column[i], EXACT);
            }
        }
    }
}

#[test]
fn in_out_step_keeps_its_effect_and_gives_the_initial_cotangent() {
    let x = [0.7, 1.1, 0.9];
    let y0 = [0.3, -0.2, 0.5];
    let mut y = y0;
    rk4_step(&x, 0.1, &mut y);
    let mut y_vjp = y0;
    let mut dy = [1.0, 0.0, 0.0];
    let gx = rk4_step_vjp(&x, 0.1, &mut y_vjp, &mut dy);
    assert_eq!(y_vjp, y, "the VJP updates the state as the step does");
    // d y1[0] / d y0: 1 (y[0] evolves by x[0] only).
    assert_close("dy0", dy[0], 1.0, EXACT);
    let (gx0, gh) = gx;
    let h = 0.1;
    assert_close("dx0", gx0[0], h, EXACT);
    let _ = gh;
}
