//! One channel of a 1-D convolutional layer (Goodfellow, Bengio and
//! Courville, *Deep Learning*, §9.1, eq. 9.6, the cross-correlation deep
//! learning libraries call convolution, "valid" padding; ReLU, §6.3.1;
//! average pooling, §9.3):
//!
//! `z_i = Σ_j x_{i+j} k_j + b`, `a_i = max(0, z_i)`,
//! `p_c = mean of a over the c-th window of `pool``,
//!
//! and the squared error `L = ½ Σ_c (p_c − y_c)²`, whose gradient is
//! `∂L/∂k_j = Σ_i g_i [z_i > 0] x_{i+j}`, `∂L/∂b = Σ_i g_i [z_i > 0]`,
//! with `g_i = (p_c − y_c) / |window c|` for the window `c` holding `i`.

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::check::Tolerance;
use autodiff::prelude::*;

#[differentiable(wrt(kernel, bias))]
pub fn conv_relu_pool(signal: &[f64], kernel: &[f64], bias: f64, pool: usize) -> Vec<f64> {
    let activations: Vec<f64> = signal
        .windows(kernel.len())
        .map(|w| w.iter().zip(kernel).map(|(x, k)| x * k).sum::<f64>() + bias)
        .map(|z| z.max(0.0))
        .collect();
    activations
        .chunks(pool)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect()
}

#[differentiable(wrt(kernel, bias))]
pub fn conv_loss(signal: &[f64], kernel: &[f64], bias: f64, pool: usize, target: &[f64]) -> f64 {
    let pooled = conv_relu_pool(signal, kernel, bias, pool);
    assert_eq!(pooled.len(), target.len());
    0.5 * pooled
        .iter()
        .zip(target)
        .map(|(p, y)| (p - y) * (p - y))
        .sum::<f64>()
}

struct Layer {
    signal: Vec<f64>,
    kernel: Vec<f64>,
    bias: f64,
    pool: usize,
    target: Vec<f64>,
}

impl Layer {
    fn random(rng: &mut Rng, n: usize, k: usize, pool: usize) -> Self {
        let outputs = (n - k + 1).div_ceil(pool);
        Layer {
            signal: uniform_vec(rng, n, -2.0, 2.0),
            kernel: uniform_vec(rng, k, -1.0, 1.0),
            bias: rng.uniform(-0.3, 0.3),
            pool,
            target: uniform_vec(rng, outputs, 0.0, 1.0),
        }
    }

    fn pre_activations(&self) -> Vec<f64> {
        self.signal
            .windows(self.kernel.len())
            .map(|w| w.iter().zip(&self.kernel).map(|(a, b)| a * b).sum::<f64>() + self.bias)
            .collect()
    }

    /// Away from ReLU's kink by more than the central difference's step.
    fn smooth_here(&self) -> bool {
        self.pre_activations().iter().all(|z| z.abs() > 1e-3)
    }

    /// The closed form of the module doc.
    fn closed_form(&self) -> (Vec<f64>, f64) {
        let z = self.pre_activations();
        let pooled = conv_relu_pool(&self.signal, &self.kernel, self.bias, self.pool);
        let mut gk = vec![0.0; self.kernel.len()];
        let mut gb = 0.0;
        for (c, window) in z.chunks(self.pool).enumerate() {
            let g = (pooled[c] - self.target[c]) / window.len() as f64;
            for (o, zi) in window.iter().enumerate() {
                if *zi > 0.0 {
                    let i = c * self.pool + o;
                    for (j, gkj) in gk.iter_mut().enumerate() {
                        *gkj += g * self.signal[i + j];
                    }
                    gb += g;
                }
            }
        }
        (gk, gb)
    }
}

const SHAPES: [(usize, usize, usize); 4] = [(5, 2, 1), (9, 3, 2), (16, 4, 3), (12, 12, 1)];

#[test]
fn gradient_against_central_differences() {
    let mut rng = Rng::new(0xc01);
    let mut checked = 0;
    for (n, k, pool) in SHAPES {
        for _ in 0..8 {
            let l = Layer::random(&mut rng, n, k, pool);
            if !l.smooth_here() {
                continue;
            }
            checked += 1;
            let (gk, gb) = conv_loss_grad(&l.signal, &l.kernel, l.bias, l.pool, &l.target);
            assert_eq!(gk.len(), k);
            // Parameters (kernel..., bias) as one vector for the differences.
            let at: Vec<f64> = l.kernel.iter().copied().chain([l.bias]).collect();
            let f = |p: &[f64]| conv_loss(&l.signal, &p[..k], p[k], l.pool, &l.target);
            for j in 0..k {
                assert_close(
                    &format!("n={n} k={k}: dL/dk[{j}]"),
                    gk[j],
                    partial(f, &at, j),
                    FD,
                );
            }
            assert_close(&format!("n={n} k={k}: dL/db"), gb, partial(f, &at, k), FD);
        }
    }
    assert!(checked >= 20, "only {checked} points away from the kinks");
}

#[test]
fn gradient_against_closed_form() {
    let tol = Tolerance {
        rel: 1e-12,
        abs: 1e-14,
    };
    let mut rng = Rng::new(0xc02);
    for (n, k, pool) in SHAPES {
        for _ in 0..8 {
            let l = Layer::random(&mut rng, n, k, pool);
            let (gk, gb) = conv_loss_grad(&l.signal, &l.kernel, l.bias, l.pool, &l.target);
            let (ek, eb) = l.closed_form();
            for j in 0..k {
                assert_close(&format!("dL/dk[{j}]"), gk[j], ek[j], tol);
            }
            assert_close("dL/db", gb, eb, tol);
        }
    }
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0xc03);
    for (n, k, pool) in SHAPES {
        for _ in 0..8 {
            let l = Layer::random(&mut rng, n, k, pool);
            let dk = uniform_vec(&mut rng, k, -1.0, 1.0);
            let db = rng.uniform(-1.0, 1.0);
            let (value, dv) =
                conv_loss_jvp(&l.signal, &l.kernel, l.bias, l.pool, &l.target, &dk, db);
            assert_eq!(
                value,
                conv_loss(&l.signal, &l.kernel, l.bias, l.pool, &l.target)
            );
            let (gk, gb) = conv_loss_grad(&l.signal, &l.kernel, l.bias, l.pool, &l.target);
            let g: Vec<f64> = gk.iter().copied().chain([gb]).collect();
            let v: Vec<f64> = dk.iter().copied().chain([db]).collect();
            assert_directional("conv_loss", dv, &g, &v);
        }
    }
}

#[test]
fn layer_dot_product_test() {
    // The Vec-valued layer on its own: <w, J v> = <Jᵀ w, v>.
    let mut rng = Rng::new(0xc04);
    for (n, k, pool) in SHAPES {
        for _ in 0..8 {
            let l = Layer::random(&mut rng, n, k, pool);
            let dk = uniform_vec(&mut rng, k, -1.0, 1.0);
            let db = rng.uniform(-1.0, 1.0);
            let (out, jv) = conv_relu_pool_jvp(&l.signal, &l.kernel, l.bias, l.pool, &dk, db);
            assert_eq!(out, conv_relu_pool(&l.signal, &l.kernel, l.bias, l.pool));
            let w = uniform_vec(&mut rng, out.len(), -1.0, 1.0);
            let (_, (wk, wb)) = conv_relu_pool_vjp(&l.signal, &l.kernel, l.bias, l.pool, w.clone());
            let lhs: f64 = w.iter().zip(&jv).map(|(a, b)| a * b).sum();
            let rhs: f64 = wk.iter().zip(&dk).map(|(a, b)| a * b).sum::<f64>() + wb * db;
            assert_close(
                "<w, J v> = <Jᵀ w, v>",
                lhs,
                rhs,
                Tolerance {
                    rel: 1e-12,
                    abs: 1e-14,
                },
            );
        }
    }
}
