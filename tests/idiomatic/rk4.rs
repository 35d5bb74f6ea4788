//! The classical fourth-order Runge–Kutta method (Butcher tableau
//! 0; ½ ½; ½ 0 ½; 1 0 0 1; weights 1/6 1/3 1/3 1/6: Hairer, Nørsett and
//! Wanner, *Solving ODEs I*, Table II.1.2) on the damped harmonic
//! oscillator `x'' + 2ζω x' + ω² x = 0`, written as `y = (x, v)`, and the
//! mechanical energy `E = ½ (v² + ω² x²)` after `steps` steps of size `h`.
//!
//! For ζ = 0 the RK4 map is `R(hA)` with `A` skew-symmetric in the
//! coordinates `(ωx, v)`, so each step scales the energy by exactly
//! `|R(iωh)|² = (1 − θ²/2 + θ⁴/24)² + (θ − θ³/6)²`, `θ = ωh`: the
//! gradient with respect to the initial state is
//! `|R|^{2N} (ω² x0, v0)`.

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::check::Tolerance;
use autodiff::prelude::*;

#[differentiable]
pub fn oscillator(omega: f64, zeta: f64, y: &[f64], dydt: &mut [f64]) {
    dydt[0] = y[1];
    dydt[1] = -omega * omega * y[0] - 2.0 * zeta * omega * y[1];
}

#[differentiable(wrt(x0, v0, omega, zeta))]
pub fn final_energy(x0: f64, v0: f64, omega: f64, zeta: f64, h: f64, steps: usize) -> f64 {
    let mut y = vec![x0, v0];
    let mut k1 = vec![0.0; 2];
    let mut k2 = vec![0.0; 2];
    let mut k3 = vec![0.0; 2];
    let mut k4 = vec![0.0; 2];
    let mut stage = vec![0.0; 2];
    for _ in 0..steps {
        oscillator(omega, zeta, &y, &mut k1);
        for ((s, yi), k) in stage.iter_mut().zip(&y).zip(&k1) {
            *s = yi + 0.5 * h * k;
        }
        oscillator(omega, zeta, &stage, &mut k2);
        for ((s, yi), k) in stage.iter_mut().zip(&y).zip(&k2) {
            *s = yi + 0.5 * h * k;
        }
        oscillator(omega, zeta, &stage, &mut k3);
        for ((s, yi), k) in stage.iter_mut().zip(&y).zip(&k3) {
            *s = yi + h * k;
        }
        oscillator(omega, zeta, &stage, &mut k4);
        for (i, yi) in y.iter_mut().enumerate() {
            *yi += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    0.5 * (y[1] * y[1] + omega * omega * y[0] * y[0])
}

#[test]
fn gradient_against_central_differences() {
    let mut rng = Rng::new(0x4b4);
    for steps in [0, 1, 10, 60] {
        for _ in 0..6 {
            let p = [
                rng.uniform(-1.5, 1.5),
                rng.uniform(-1.5, 1.5),
                rng.uniform(0.5, 2.0),
                rng.uniform(0.0, 0.5),
            ];
            let h = 0.05;
            let g = final_energy_grad(p[0], p[1], p[2], p[3], h, steps);
            let f = |q: &[f64]| final_energy(q[0], q[1], q[2], q[3], h, steps);
            let names = ["x0", "v0", "ω", "ζ"];
            let got = [g.0, g.1, g.2, g.3];
            for i in 0..4 {
                let what = format!("steps={steps}: dE/d{}", names[i]);
                assert_close(&what, got[i], partial(f, &p, i), FD);
            }
        }
    }
}

#[test]
fn undamped_energy_gradient_closed_form() {
    let tol = Tolerance {
        rel: 1e-11,
        abs: 1e-14,
    };
    let mut rng = Rng::new(0x4b5);
    for _ in 0..10 {
        let (x0, v0, omega) = (
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
            rng.uniform(0.5, 3.0),
        );
        let (h, steps) = (0.1, 50);
        let theta: f64 = omega * h;
        let r2 = (1.0 - theta.powi(2) / 2.0 + theta.powi(4) / 24.0).powi(2)
            + (theta - theta.powi(3) / 6.0).powi(2);
        let scale = r2.powi(steps as i32);
        let (value, (gx, gv, _, _)) = final_energy_value_and_grad(x0, v0, omega, 0.0, h, steps);
        assert_close(
            "E",
            value,
            scale * 0.5 * (v0 * v0 + omega * omega * x0 * x0),
            tol,
        );
        assert_close("dE/dx0", gx, scale * omega * omega * x0, tol);
        assert_close("dE/dv0", gv, scale * v0, tol);
    }
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0x4b6);
    for _ in 0..20 {
        let (x0, v0) = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5));
        let (omega, zeta) = (rng.uniform(0.5, 2.0), rng.uniform(0.0, 0.5));
        let v = uniform_vec(&mut rng, 4, -1.0, 1.0);
        let (value, dv) = final_energy_jvp(x0, v0, omega, zeta, 0.05, 40, v[0], v[1], v[2], v[3]);
        assert_eq!(value, final_energy(x0, v0, omega, zeta, 0.05, 40));
        let g = final_energy_grad(x0, v0, omega, zeta, 0.05, 40);
        assert_directional("final_energy", dv, &[g.0, g.1, g.2, g.3], &v);
    }
}
