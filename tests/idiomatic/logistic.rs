//! Logistic regression: the negative log-likelihood of Bernoulli labels
//! `t_n ∈ {0, 1}` under `p_n = σ(w·x_n)`, plus an L2 penalty (Bishop,
//! *Pattern Recognition and Machine Learning*, §4.3.2, eq. 4.90, with the
//! weight decay of eq. 3.27):
//!
//! `E(w) = Σ_n [ln(1 + e^{z_n}) − t_n z_n] + λ/2 ‖w‖²`, `z_n = w·x_n`,
//!
//! whose gradient is `Σ_n (σ(z_n) − t_n) x_n + λ w` (eq. 4.91).

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::check::Tolerance;
use autodiff::prelude::*;

/// `x` is the `n × d` design matrix, row-major, `d = w.len()`.
#[differentiable(wrt(w))]
pub fn logistic_nll(w: &[f64], x: &[f64], t: &[f64], lambda: f64) -> f64 {
    let d = w.len();
    assert_eq!(
        x.len(),
        t.len() * d,
        "x must hold t.len() rows of w.len() features"
    );
    let data: f64 = x
        .chunks(d)
        .zip(t)
        .map(|(row, &tn)| {
            let z: f64 = row.iter().zip(w).map(|(xi, wi)| xi * wi).sum();
            // ln(1 + e^z) without overflow for large |z|
            let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
            softplus - tn * z
        })
        .sum();
    let penalty = 0.5 * lambda * w.iter().map(|wi| wi * wi).sum::<f64>();
    data + penalty
}

struct Problem {
    w: Vec<f64>,
    x: Vec<f64>,
    t: Vec<f64>,
    lambda: f64,
}

fn problem(rng: &mut Rng, n: usize, d: usize) -> Problem {
    Problem {
        w: uniform_vec(rng, d, -1.5, 1.5),
        x: uniform_vec(rng, n * d, -2.0, 2.0),
        t: (0..n)
            .map(|_| {
                if rng.uniform(0.0, 1.0) < 0.5 {
                    0.0
                } else {
                    1.0
                }
            })
            .collect(),
        lambda: rng.uniform(0.0, 0.5),
    }
}

/// The closed form of eq. 4.91, evaluated separately.
fn closed_form_gradient(p: &Problem) -> Vec<f64> {
    let d = p.w.len();
    let mut g: Vec<f64> = p.w.iter().map(|wi| p.lambda * wi).collect();
    for (row, tn) in p.x.chunks(d).zip(&p.t) {
        let z: f64 = row.iter().zip(&p.w).map(|(a, b)| a * b).sum();
        let sigma = 1.0 / (1.0 + (-z).exp());
        for (gi, xi) in g.iter_mut().zip(row) {
            *gi += (sigma - tn) * xi;
        }
    }
    g
}

#[test]
fn gradient_against_central_differences() {
    let mut rng = Rng::new(0x1061);
    for (n, d) in [(1, 1), (5, 2), (8, 3), (12, 5)] {
        for _ in 0..6 {
            let p = problem(&mut rng, n, d);
            let g = logistic_nll_grad(&p.w, &p.x, &p.t, p.lambda);
            assert_eq!(g.len(), d);
            for i in 0..d {
                let fd = partial(|w: &[f64]| logistic_nll(w, &p.x, &p.t, p.lambda), &p.w, i);
                assert_close(&format!("n={n} d={d}: dE/dw[{i}]"), g[i], fd, FD);
            }
        }
    }
}

#[test]
fn gradient_against_closed_form() {
    // Two exact gradients by different arithmetic (softplus' derivative
    // through max/abs/ln_1p against σ(z) = 1 / (1 + e^{-z})): a few
    // roundings per term, summed over up to 12 rows with cancellation.
    let tol = Tolerance {
        rel: 1e-12,
        abs: 1e-13,
    };
    let mut rng = Rng::new(0x1062);
    for (n, d) in [(3, 2), (12, 4)] {
        for _ in 0..10 {
            let p = problem(&mut rng, n, d);
            let (value, g) = logistic_nll_value_and_grad(&p.w, &p.x, &p.t, p.lambda);
            assert_eq!(value, logistic_nll(&p.w, &p.x, &p.t, p.lambda));
            let expected = closed_form_gradient(&p);
            for i in 0..d {
                assert_close(&format!("dE/dw[{i}]"), g[i], expected[i], tol);
            }
        }
    }
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0x1063);
    for _ in 0..20 {
        let p = problem(&mut rng, 9, 4);
        let v = uniform_vec(&mut rng, 4, -1.0, 1.0);
        let (value, dv) = logistic_nll_jvp(&p.w, &p.x, &p.t, p.lambda, &v);
        assert_eq!(value, logistic_nll(&p.w, &p.x, &p.t, p.lambda));
        let g = logistic_nll_grad(&p.w, &p.x, &p.t, p.lambda);
        assert_directional("logistic_nll", dv, &g, &v);
    }
}

#[test]
fn large_margins_stay_finite() {
    // |z| in the hundreds: e^z would overflow, the stable softplus does not.
    let w = [40.0, -30.0];
    let x = [10.0, -10.0, -10.0, 10.0, 0.5, 0.25];
    let t = [1.0, 0.0, 1.0];
    let p = Problem {
        w: w.to_vec(),
        x: x.to_vec(),
        t: t.to_vec(),
        lambda: 0.1,
    };
    let g = logistic_nll_grad(&w, &x, &t, 0.1);
    assert!(g.iter().all(|gi| gi.is_finite()), "{g:?}");
    let expected = closed_form_gradient(&p);
    for i in 0..2 {
        assert_close(&format!("dE/dw[{i}]"), g[i], expected[i], FD);
    }
}
