//! Gaussian-process regression: the negative log marginal likelihood of a
//! zero-mean GP with a squared-exponential kernel (Rasmussen and Williams,
//! *Gaussian Processes for Machine Learning*, 2006, eq. 2.30 and
//! Algorithm 2.1):
//!
//! `k(x, x') = σ_f² exp(−(x − x')² / (2ℓ²))`, `K_y = K + σ_n² I`,
//! `−log p(y | X) = ½ yᵀ K_y⁻¹ y + Σ_i ln L_ii + (n/2) ln 2π`, `L Lᵀ = K_y`,
//!
//! whose gradient is `∂/∂θ = ½ tr((K_y⁻¹ − α αᵀ) ∂K_y/∂θ)`, `α = K_y⁻¹ y`
//! (eq. 5.9, negated).

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::check::Tolerance;
use autodiff::prelude::*;

/// Cholesky–Banachiewicz: the lower-triangular `L` with `L Lᵀ = A`, both
/// `n × n`, row-major.
#[differentiable]
pub fn cholesky(a: &[f64], n: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * n);
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                assert!(d > 0.0, "matrix is not positive definite");
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    l
}

/// Solves `L z = b` by forward substitution.
#[differentiable]
pub fn forward_subst(l: &[f64], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut z = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * z[k]).sum();
        z[i] = (b[i] - s) / l[i * n + i];
    }
    z
}

/// Solves `Lᵀ x = z` by back substitution.
#[differentiable]
pub fn back_subst_t(l: &[f64], z: &[f64]) -> Vec<f64> {
    let n = z.len();
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (z[i] - s) / l[i * n + i];
    }
    x
}

/// `ell` the length-scale ℓ, `sf2` the signal variance σ_f², `noise` σ_n².
#[differentiable(wrt(ell, sf2))]
pub fn gp_nlml(ell: f64, sf2: f64, noise: f64, x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    assert_eq!(y.len(), n);
    let sq = |v: f64| v * v;
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            k[i * n + j] = sf2 * (-0.5 * sq(x[i] - x[j]) / sq(ell)).exp();
        }
        k[i * n + i] += noise;
    }
    let l = cholesky(&k, n);
    let alpha = back_subst_t(&l, &forward_subst(&l, y));
    let fit = 0.5 * y.iter().zip(&alpha).map(|(yi, ai)| yi * ai).sum::<f64>();
    let half_log_det: f64 = (0..n).map(|i| l[i * n + i].ln()).sum();
    fit + half_log_det + 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln()
}

/// The inverse and log-determinant of a symmetric positive-definite
/// matrix by Gauss–Jordan elimination with partial pivoting: independent of
/// the Cholesky code under test.
fn inverse_and_log_det(a: &[f64], n: usize) -> (Vec<f64>, f64) {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    let mut log_det = 0.0;
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| m[i * n + c].abs().total_cmp(&m[j * n + c].abs()))
            .unwrap();
        if p != c {
            for j in 0..n {
                m.swap(p * n + j, c * n + j);
                inv.swap(p * n + j, c * n + j);
            }
        }
        let pivot = m[c * n + c];
        log_det += pivot.abs().ln();
        for j in 0..n {
            m[c * n + j] /= pivot;
            inv[c * n + j] /= pivot;
        }
        for r in (0..n).filter(|&r| r != c) {
            let f = m[r * n + c];
            for j in 0..n {
                m[r * n + j] -= f * m[c * n + j];
                inv[r * n + j] -= f * inv[c * n + j];
            }
        }
    }
    (inv, log_det)
}

struct Data {
    x: Vec<f64>,
    y: Vec<f64>,
}

fn data(rng: &mut Rng, n: usize) -> Data {
    let mut x = uniform_vec(rng, n, -3.0, 3.0);
    x.sort_by(f64::total_cmp);
    let y = x
        .iter()
        .map(|&xi| xi.sin() + 0.3 * rng.uniform(-1.0, 1.0))
        .collect();
    Data { x, y }
}

#[test]
fn gradient_against_central_differences() {
    let mut rng = Rng::new(0x6b1);
    for n in [1, 2, 4, 6] {
        for _ in 0..8 {
            let Data { x, y } = data(&mut rng, n);
            let (ell, sf2, noise) = (rng.uniform(0.4, 2.0), rng.uniform(0.3, 2.5), 0.1);
            let (g_ell, g_sf2) = gp_nlml_grad(ell, sf2, noise, &x, &y);
            let f = |p: &[f64]| gp_nlml(p[0], p[1], noise, &x, &y);
            let at = [ell, sf2];
            assert_close(&format!("n={n}: dL/dℓ"), g_ell, partial(f, &at, 0), FD);
            assert_close(&format!("n={n}: dL/dσf²"), g_sf2, partial(f, &at, 1), FD);
        }
    }
}

#[test]
fn value_and_gradient_against_closed_form() {
    // Gauss–Jordan against Cholesky on matrices with condition numbers up
    // to about 1e3: agreement to about 1e-12 relative.
    let tol = Tolerance {
        rel: 1e-9,
        abs: 1e-11,
    };
    let mut rng = Rng::new(0x6b2);
    for n in [3, 5] {
        for _ in 0..10 {
            let Data { x, y } = data(&mut rng, n);
            let (ell, sf2, noise) = (rng.uniform(0.4, 2.0), rng.uniform(0.3, 2.5), 0.1);
            let (value, (g_ell, g_sf2)) = gp_nlml_value_and_grad(ell, sf2, noise, &x, &y);
            let mut k = vec![0.0; n * n];
            let mut dk_ell = vec![0.0; n * n];
            let mut dk_sf2 = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    let r2 = (x[i] - x[j]).powi(2);
                    let e = (-r2 / (2.0 * ell * ell)).exp();
                    k[i * n + j] = sf2 * e + if i == j { noise } else { 0.0 };
                    dk_sf2[i * n + j] = e;
                    dk_ell[i * n + j] = sf2 * e * r2 / ell.powi(3);
                }
            }
            let (kinv, log_det) = inverse_and_log_det(&k, n);
            let alpha: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| kinv[i * n + j] * y[j]).sum())
                .collect();
            let fit: f64 = 0.5 * y.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>();
            let expected = fit + 0.5 * log_det + 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
            assert_close("NLML", value, expected, tol);
            let trace = |dk: &[f64]| -> f64 {
                let mut s = 0.0;
                for i in 0..n {
                    for j in 0..n {
                        s += (kinv[i * n + j] - alpha[i] * alpha[j]) * dk[j * n + i];
                    }
                }
                0.5 * s
            };
            assert_close("dL/dℓ", g_ell, trace(&dk_ell), tol);
            assert_close("dL/dσf²", g_sf2, trace(&dk_sf2), tol);
        }
    }
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0x6b3);
    for _ in 0..20 {
        let Data { x, y } = data(&mut rng, 5);
        let (ell, sf2, noise) = (rng.uniform(0.4, 2.0), rng.uniform(0.3, 2.5), 0.05);
        let v = uniform_vec(&mut rng, 2, -1.0, 1.0);
        let (value, dv) = gp_nlml_jvp(ell, sf2, noise, &x, &y, v[0], v[1]);
        assert_eq!(value, gp_nlml(ell, sf2, noise, &x, &y));
        let (g_ell, g_sf2) = gp_nlml_grad(ell, sf2, noise, &x, &y);
        assert_directional("gp_nlml", dv, &[g_ell, g_sf2], &v);
    }
}

#[test]
fn cholesky_dot_product_test() {
    // The factorisation on its own: <W, J V> = <Jᵀ W, V> for random SPD
    // A = B Bᵀ + I and symmetric directions V.
    let mut rng = Rng::new(0x6b4);
    let n = 4;
    for _ in 0..10 {
        let b = uniform_vec(&mut rng, n * n, -1.0, 1.0);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum::<f64>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let r = uniform_vec(&mut rng, n * n, -1.0, 1.0);
        let mut v = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                v[i * n + j] = 0.5 * (r[i * n + j] + r[j * n + i]);
            }
        }
        let w = uniform_vec(&mut rng, n * n, -1.0, 1.0);
        let (l, jv) = cholesky_jvp(&a, n, &v);
        assert_eq!(l, cholesky(&a, n));
        let (_, jtw) = cholesky_vjp(&a, n, w.clone());
        let lhs: f64 = w.iter().zip(&jv).map(|(p, q)| p * q).sum();
        let rhs: f64 = jtw.iter().zip(&v).map(|(p, q)| p * q).sum();
        assert_close(
            "<W, J V> = <Jᵀ W, V>",
            lhs,
            rhs,
            Tolerance {
                rel: 1e-12,
                abs: 1e-13,
            },
        );
    }
}
