//! Fitting the stiffness and damping of a spring to an observed
//! trajectory: the state is a struct, integrated by classical Runge-Kutta
//! written with struct variables (stages, a copy updated by element, the
//! state carried by the loop), and the misfit's gradient with respect to
//! the spring's parameters is a `SpringTangent`.
//!
//! `cargo run --release --example spring_fit`

use autodiff::prelude::*;

/// Position and momentum of a particle in the plane.
#[derive(Differentiable, Clone, Debug, PartialEq)]
pub struct State {
    pub q: [f64; 2],
    pub p: [f64; 2],
}

/// The spring: stiffness and damping, fitted; the mass, known.
#[derive(Differentiable, Clone, Debug)]
pub struct Spring {
    pub k: f64,
    pub c: f64,
    #[no_diff]
    pub m: f64,
}

/// The time derivative of the state.
#[differentiable(wrt(s, spring))]
pub fn deriv(s: &State, spring: &Spring) -> State {
    State {
        q: [s.p[0] / spring.m, s.p[1] / spring.m],
        p: [
            -spring.k * s.q[0] - spring.c * s.p[0],
            -spring.k * s.q[1] - spring.c * s.p[1],
        ],
    }
}

/// `s + h k`.
#[differentiable(wrt(s, k))]
pub fn advance(s: &State, k: &State, h: f64) -> State {
    let mut next = s.clone();
    for i in 0..2 {
        next.q[i] += h * k.q[i];
        next.p[i] += h * k.p[i];
    }
    next
}

/// One classical Runge-Kutta step.
#[differentiable(wrt(s, spring))]
pub fn rk4_step(s: &State, spring: &Spring, h: f64) -> State {
    let k1 = deriv(s, spring);
    let k2 = deriv(&advance(s, &k1, 0.5 * h), spring);
    let k3 = deriv(&advance(s, &k2, 0.5 * h), spring);
    let k4 = deriv(&advance(s, &k3, h), spring);
    let mut next = s.clone();
    for i in 0..2 {
        next.q[i] += h / 6.0 * (k1.q[i] + 2.0 * k2.q[i] + 2.0 * k3.q[i] + k4.q[i]);
        next.p[i] += h / 6.0 * (k1.p[i] + 2.0 * k2.p[i] + 2.0 * k3.p[i] + k4.p[i]);
    }
    next
}

/// The mean squared distance between the simulated positions and the
/// observed ones (`x, y` per step).
#[differentiable(wrt(spring))]
pub fn misfit(spring: &Spring, s0: &State, observed: &[f64], h: f64) -> f64 {
    let mut s = s0.clone();
    let n = observed.len() / 2;
    let mut total = 0.0;
    for t in 0..n {
        s = rk4_step(&s, spring, h);
        let dx = s.q[0] - observed[2 * t];
        let dy = s.q[1] - observed[2 * t + 1];
        total += dx * dx + dy * dy;
    }
    total / n as f64
}

/// The start and the step of every trajectory here.
pub fn start() -> State {
    State {
        q: [1.0, 0.0],
        p: [0.0, 1.5],
    }
}

pub const H: f64 = 0.05;

/// The positions of 200 steps of the true spring (`k = 3`, `c = 0.4`).
pub fn observations() -> Vec<f64> {
    let truth = Spring {
        k: 3.0,
        c: 0.4,
        m: 1.0,
    };
    let mut s = start();
    let mut out = Vec::new();
    for _ in 0..200 {
        s = rk4_step(&s, &truth, H);
        out.extend_from_slice(&s.q);
    }
    out
}

/// Gradient descent from a wrong spring: the misfit before each step.
pub fn fit(spring: &mut Spring, observed: &[f64], steps: usize, rate: f64) -> Vec<f64> {
    let s0 = start();
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (l, g) = misfit_value_and_grad(spring, &s0, observed, H);
        losses.push(l);
        spring.step(&g, -rate);
    }
    losses
}

fn main() {
    let observed = observations();
    let mut spring = Spring {
        k: 2.0,
        c: 0.1,
        m: 1.0,
    };
    let losses = fit(&mut spring, &observed, 300, 0.5);
    let last = misfit(&spring, &start(), &observed, H);
    println!(
        "misfit {:.3e} -> {:.3e} after {} steps; k = {:.4} (3), c = {:.4} (0.4)",
        losses[0],
        last,
        losses.len(),
        spring.k,
        spring.c
    );
}
