//! Functions returning `Result<T, E>` (docs/api.md, "Result outputs"):
//! each sibling is `Err` where the function is, and otherwise the
//! derivative of the path the function took, checked against central
//! differences and forward against reverse mode.

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::prelude::*;
use common::*;

#[derive(Debug, PartialEq)]
pub enum FitError {
    Empty,
    NonPositive(usize),
}

/// The log-likelihood of positive data under a log-normal model.
#[differentiable(wrt(mu, sigma))]
pub fn log_likelihood(data: &[f64], mu: f64, sigma: f64) -> Result<f64, FitError> {
    if data.is_empty() {
        return Err(FitError::Empty);
    }
    if let Some(i) = data.iter().position(|&v| v <= 0.0) {
        return Err(FitError::NonPositive(i));
    }
    let n = data.len() as f64;
    let s: f64 = data.iter().map(|v| (v.ln() - mu).powi(2)).sum();
    debug_assert!(sigma > 0.0);
    Ok(-n * sigma.ln() - s / (2.0 * sigma * sigma))
}

#[differentiable]
pub fn checked_sqrt(x: f64) -> Result<f64, String> {
    if x < 0.0 {
        Err(format!("negative: {x}"))
    } else {
        Ok(x.sqrt())
    }
}

/// `?` on another function returning `Result`.
#[differentiable]
pub fn hypotenuse(a: f64, b: f64) -> Result<f64, String> {
    let r = checked_sqrt(a * a + b * b)?;
    Ok(r * 2.0)
}

#[differentiable]
pub fn pair(x: &[f64]) -> Result<(f64, f64), String> {
    let s = checked_sqrt(x[0])?;
    Ok((s * x[1], x.iter().sum()))
}

#[test]
fn errors_pass_through_every_sibling() {
    assert_eq!(log_likelihood_grad(&[], 0.0, 1.0), Err(FitError::Empty));
    assert_eq!(
        log_likelihood_value_and_grad(&[1.0, -2.0], 0.0, 1.0).map(|(v, _)| v),
        Err(FitError::NonPositive(1))
    );
    assert!(checked_sqrt_jvp(-1.0, 1.0).is_err());
    assert_eq!(
        checked_sqrt_value_and_grad(-4.0),
        Err("negative: -4".to_string())
    );
    assert_eq!(checked_sqrt_grad(4.0), Ok(0.25));
}

#[test]
fn success_paths_are_differentiated() {
    let data = [0.5, 1.5, 2.5, 0.9];
    let mut rng = Rng::new(8);
    for _ in 0..5 {
        let p = [rng.uniform(-1.0, 1.0), rng.uniform(0.5, 2.0)];
        let f = |q: &[f64]| log_likelihood(&data, q[0], q[1]).unwrap();
        let (gm, gs) = log_likelihood_grad(&data, p[0], p[1]).unwrap();
        assert_close("d/dmu", gm, partial(f, &p, 0), FD);
        assert_close("d/dsigma", gs, partial(f, &p, 1), FD);
        let (_, d) = log_likelihood_jvp(&data, p[0], p[1], 0.3, -0.6).unwrap();
        assert_close("jvp", d, 0.3 * gm - 0.6 * gs, EXACT);

        let (a, b) = (p[1], rng.uniform(0.5, 2.0));
        let (ga, gb) = hypotenuse_grad(a, b).unwrap();
        let h = (a * a + b * b).sqrt();
        assert_close("dh/da", ga, 2.0 * a / h, EXACT);
        assert_close("dh/db", gb, 2.0 * b / h, EXACT);
    }
    let x = [2.0, 3.0];
    let ((s, t), (ds, dt)) = pair_jvp(&x, &[1.0, 0.0]).unwrap();
    assert_close("pair", s, 2.0f64.sqrt() * 3.0, EXACT);
    assert_close("pair sum", t, 5.0, EXACT);
    assert_close("pair ds", ds, 3.0 / (2.0 * 2.0f64.sqrt()), EXACT);
    assert_close("pair dt", dt, 1.0, EXACT);
    assert!(pair_vjp(&[-1.0, 1.0], (1.0, 1.0)).is_err());
}
