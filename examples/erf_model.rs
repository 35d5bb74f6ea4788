//! A special function from another crate inside a differentiable model:
//! `libm::erf`, wrapped with its rule `d erf / dx = 2/√π exp(-x²)`.
//!
//! `cargo run --example erf_model`

use autodiff::prelude::*;

pub fn erf_rule(x: f64, _y: f64, dy: f64) -> f64 {
    dy * 2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp()
}

/// The other crate's function, with a rule.
#[custom_vjp(erf_rule)]
pub fn erf(x: f64) -> f64 {
    libm::erf(x)
}

/// The squared error of a Gaussian CDF model `p(t) = ½(1 + erf((t - μ) /
/// (σ√2)))` against observed fractions.
#[differentiable(wrt(mu, sigma))]
pub fn misfit(mu: f64, sigma: f64, t: &[f64], observed: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..t.len() {
        let p = 0.5 * (1.0 + erf((t[i] - mu) / (sigma * std::f64::consts::SQRT_2)));
        let r = p - observed[i];
        s += r * r;
    }
    s
}

pub fn main() {
    check::vjp_rule(
        |x| erf(x[0]),
        |x, y, dy| vec![erf_rule(x[0], y, dy)],
        &[0.3],
        Default::default(),
    )
    .unwrap();
    let t: Vec<f64> = (0..20).map(|i| -2.0 + 0.25 * i as f64).collect();
    let (true_mu, true_sigma) = (0.4, 0.8);
    let observed: Vec<f64> = t
        .iter()
        .map(|ti| 0.5 * (1.0 + libm::erf((ti - true_mu) / (true_sigma * std::f64::consts::SQRT_2))))
        .collect();
    // Fit μ and σ by gradient descent through erf's rule.
    let (mut mu, mut sigma) = (0.0, 1.5);
    for _ in 0..3000 {
        let (gm, gs) = misfit_grad(mu, sigma, &t, &observed);
        mu -= 0.5 * gm;
        sigma -= 0.5 * gs;
    }
    println!("fitted mu {mu:.6}, sigma {sigma:.6} (true {true_mu}, {true_sigma})");
    assert!((mu - true_mu).abs() < 1e-3 && (sigma - true_sigma).abs() < 1e-3);
    let x = [mu, sigma];
    let g = misfit_grad(mu, sigma, &t, &observed);
    check::gradient(
        |p| misfit(p[0], p[1], &t, &observed),
        &[g.0, g.1],
        &x,
        Default::default(),
    )
    .unwrap();
}
