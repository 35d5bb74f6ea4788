//! The Black–Scholes price of a European call (Black and Scholes 1973;
//! Hull, *Options, Futures and Other Derivatives*, §15.8):
//!
//! `C = S N(d1) − K e^{−rT} N(d2)`, `d1 = (ln(S/K) + (r + σ²/2) T) / (σ√T)`,
//! `d2 = d1 − σ√T`,
//!
//! with `N` the standard normal CDF through Abramowitz and Stegun's
//! 7.1.26 approximation of erf (`|ε| ≤ 1.5e-7`). The Greeks (Hull §19):
//! delta `∂C/∂S = N(d1)`, vega `∂C/∂σ = S φ(d1) √T`, rho `∂C/∂r = K T
//! e^{−rT} N(d2)`, `∂C/∂T = S φ(d1) σ / (2√T) + r K e^{−rT} N(d2)`,
//! `∂C/∂K = −e^{−rT} N(d2)`.

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::check::Tolerance;
use autodiff::prelude::*;

/// A&S 7.1.26: `erf(z) ≈ 1 − t (a1 + a2 t + … + a5 t⁴) e^{−z²}`,
/// `t = 1 / (1 + p z)`, `z ≥ 0`.
const P: f64 = 0.327_591_1;
const A: [f64; 5] = [
    0.254_829_592,
    -0.284_496_736,
    1.421_413_741,
    -1.453_152_027,
    1.061_405_429,
];

#[differentiable]
pub fn norm_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + P * z);
    let poly = A.iter().rev().fold(0.0, |acc, &a| acc * t + a) * t;
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + x.signum() * erf)
}

#[differentiable]
pub fn bs_call(s: f64, k: f64, r: f64, sigma: f64, t: f64) -> f64 {
    assert!(s > 0.0 && k > 0.0 && sigma > 0.0 && t > 0.0);
    let sqrt_t = t.sqrt();
    let d1 = ((s / k).ln() + (r + 0.5 * sigma * sigma) * t) / (sigma * sqrt_t);
    let d2 = d1 - sigma * sqrt_t;
    s * norm_cdf(d1) - k * (-r * t).exp() * norm_cdf(d2)
}

fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

struct Market {
    s: f64,
    k: f64,
    r: f64,
    sigma: f64,
    t: f64,
}

impl Market {
    fn random(rng: &mut Rng) -> Self {
        Market {
            s: rng.uniform(60.0, 140.0),
            k: rng.uniform(80.0, 120.0),
            r: rng.uniform(0.0, 0.08),
            sigma: rng.uniform(0.1, 0.6),
            t: rng.uniform(0.1, 3.0),
        }
    }

    fn as_array(&self) -> [f64; 5] {
        [self.s, self.k, self.r, self.sigma, self.t]
    }

    fn d1_d2(&self) -> (f64, f64) {
        let d1 = ((self.s / self.k).ln() + (self.r + 0.5 * self.sigma.powi(2)) * self.t)
            / (self.sigma * self.t.sqrt());
        (d1, d1 - self.sigma * self.t.sqrt())
    }
}

#[test]
fn norm_cdf_derivative_is_the_approximations() {
    let mut rng = Rng::new(0xb51);
    for _ in 0..50 {
        let x = rng.uniform(-4.0, 4.0);
        let g = norm_cdf_grad(x);
        assert_close(
            &format!("N'({x})"),
            g,
            partial(|p: &[f64]| norm_cdf(p[0]), &[x], 0),
            FD,
        );
        // The derivative of the approximation is close to, not equal to, φ.
        assert!((g - phi(x)).abs() < 5e-6, "N'({x}) = {g}, φ = {}", phi(x));
        let (value, dv) = norm_cdf_jvp(x, 0.75);
        assert_eq!(value, norm_cdf(x));
        assert_directional("norm_cdf", dv, &[g], &[0.75]);
    }
}

#[test]
fn greeks_against_central_differences() {
    let mut rng = Rng::new(0xb52);
    for _ in 0..30 {
        let m = Market::random(&mut rng);
        let at = m.as_array();
        let g = bs_call_grad(m.s, m.k, m.r, m.sigma, m.t);
        let got = [g.0, g.1, g.2, g.3, g.4];
        let f = |p: &[f64]| bs_call(p[0], p[1], p[2], p[3], p[4]);
        for (i, name) in ["S", "K", "r", "σ", "T"].iter().enumerate() {
            assert_close(&format!("∂C/∂{name}"), got[i], partial(f, &at, i), FD);
        }
    }
}

#[test]
fn greeks_against_closed_forms() {
    // The closed forms assume the exact N, whose derivative is φ; the
    // A&S approximation's derivative differs from φ by up to a few 1e-6
    // (checked above), so the derivative terms that cancel exactly in the
    // closed forms leave about (1 + K/S) 1e-6 / (σ√T) in delta and
    // S √T 1e-6 in vega: 1e-4 absolute on delta, 1e-4 relative (of
    // vegas of size 1 to 80) plus 1e-3 absolute on vega, rho and theta.
    let mut rng = Rng::new(0xb53);
    let (delta_tol, other_tol) = (
        Tolerance {
            rel: 0.0,
            abs: 1e-4,
        },
        Tolerance {
            rel: 1e-4,
            abs: 1e-3,
        },
    );
    let mut worst_delta = 0.0f64;
    for _ in 0..30 {
        let m = Market::random(&mut rng);
        let (d1, d2) = m.d1_d2();
        let disc = (-m.r * m.t).exp();
        let (price, (delta, dk, rho, vega, theta)) =
            bs_call_value_and_grad(m.s, m.k, m.r, m.sigma, m.t);
        let exact_price = m.s * norm_cdf(d1) - m.k * disc * norm_cdf(d2);
        assert_close("price", price, exact_price, EXACT);
        worst_delta = worst_delta.max((delta - norm_cdf(d1)).abs());
        assert_close("delta", delta, norm_cdf(d1), delta_tol);
        assert_close("∂C/∂K", dk, -disc * norm_cdf(d2), delta_tol);
        assert_close("vega", vega, m.s * phi(d1) * m.t.sqrt(), other_tol);
        assert_close("rho", rho, m.k * m.t * disc * norm_cdf(d2), other_tol);
        let dc_dt = m.s * phi(d1) * m.sigma / (2.0 * m.t.sqrt()) + m.r * m.k * disc * norm_cdf(d2);
        assert_close("∂C/∂T", theta, dc_dt, other_tol);
    }
    eprintln!("black_scholes: worst |delta − N(d1)| = {worst_delta:e}");
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0xb54);
    for _ in 0..30 {
        let m = Market::random(&mut rng);
        let v = uniform_vec(&mut rng, 5, -1.0, 1.0);
        let (value, dv) = bs_call_jvp(m.s, m.k, m.r, m.sigma, m.t, v[0], v[1], v[2], v[3], v[4]);
        assert_eq!(value, bs_call(m.s, m.k, m.r, m.sigma, m.t));
        let g = bs_call_grad(m.s, m.k, m.r, m.sigma, m.t);
        assert_directional("bs_call", dv, &[g.0, g.1, g.2, g.3, g.4], &v);
    }
}
