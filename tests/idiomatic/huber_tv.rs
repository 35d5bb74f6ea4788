//! Robust 1-D signal denoising: a Huber data term (Huber 1964, eq. 2.4;
//! Hastie, Tibshirani and Friedman, *Elements of Statistical Learning*,
//! eq. 10.23) plus an anisotropic total-variation penalty (Rudin, Osher and
//! Fatemi 1992, discretised):
//!
//! `L(u) = Σ_i ρ_δ(u_i − y_i) + λ Σ_i |u_{i+1} − u_i|`,
//! `ρ_δ(r) = r²/2` for `|r| ≤ δ`, `δ (|r| − δ/2)` otherwise,
//!
//! whose gradient is `ψ_δ(u_i − y_i) + λ (sgn(u_i − u_{i−1}) − sgn(u_{i+1}
//! − u_i))`, `ψ_δ(r) = clamp(r, −δ, δ)`; and the smooth-L1 loss (Girshick,
//! *Fast R-CNN*, 2015, eq. 3, with PyTorch's `β`), `0.5 r²/β` for `|r| <
//! β`, `|r| − β/2` otherwise, averaged, whose derivative is `clamp(r/β,
//! −1, 1) / n`.

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::prelude::*;

#[differentiable(wrt(u))]
pub fn huber_tv(u: &[f64], y: &[f64], delta: f64, lambda: f64) -> f64 {
    debug_assert_eq!(u.len(), y.len());
    let huber = |r: f64| {
        let a = r.abs();
        if a <= delta {
            0.5 * r * r
        } else {
            delta * (a - 0.5 * delta)
        }
    };
    let fit: f64 = u.iter().zip(y).map(|(&ui, &yi)| huber(ui - yi)).sum();
    let tv: f64 = u.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
    fit + lambda * tv
}

#[differentiable(wrt(pred))]
pub fn smooth_l1<T: Float>(pred: &[T], target: &[T], beta: T) -> T {
    let half = T::from(0.5).unwrap();
    let loss = |r: T| {
        if r.abs() < beta {
            half * r * r / beta
        } else {
            r.abs() - half * beta
        }
    };
    let total = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| loss(p - t))
        .fold(T::zero(), |acc, l| acc + l);
    total / T::from(pred.len()).unwrap()
}

fn huber_tv_closed_form(u: &[f64], y: &[f64], delta: f64, lambda: f64) -> Vec<f64> {
    let n = u.len();
    (0..n)
        .map(|i| {
            let mut g = (u[i] - y[i]).clamp(-delta, delta);
            if i > 0 {
                g += lambda * (u[i] - u[i - 1]).signum();
            }
            if i + 1 < n {
                g -= lambda * (u[i + 1] - u[i]).signum();
            }
            g
        })
        .collect()
}

/// A noisy step signal and an estimate of it, with residuals on both
/// sides of `δ`, away from the kinks of `|·|` (neighbours differ by more
/// than 1e-3; the Huber function itself is C¹).
fn problem(rng: &mut Rng, n: usize) -> (Vec<f64>, Vec<f64>) {
    loop {
        let y: Vec<f64> = (0..n)
            .map(|i| if 2 * i < n { 0.0 } else { 1.0 } + rng.uniform(-0.2, 0.2) + if rng.uniform(0.0, 1.0) < 0.2 { 3.0 } else { 0.0 })
            .collect();
        let u: Vec<f64> = y.iter().map(|v| v + rng.uniform(-1.5, 1.5)).collect();
        if u.windows(2).all(|w| (w[1] - w[0]).abs() > 1e-3) {
            return (u, y);
        }
    }
}

#[test]
fn gradient_against_central_differences() {
    let mut rng = Rng::new(0x4b1);
    for n in [1, 2, 5, 12] {
        for _ in 0..8 {
            let (u, y) = problem(&mut rng, n);
            let (delta, lambda) = (rng.uniform(0.2, 1.0), rng.uniform(0.0, 0.5));
            let g = huber_tv_grad(&u, &y, delta, lambda);
            for i in 0..n {
                let fd = partial(|v: &[f64]| huber_tv(v, &y, delta, lambda), &u, i);
                assert_close(&format!("n={n}: dL/du[{i}]"), g[i], fd, FD);
            }
        }
    }
}

#[test]
fn gradient_against_closed_form() {
    let mut rng = Rng::new(0x4b2);
    for n in [1, 3, 12] {
        for _ in 0..10 {
            let (u, y) = problem(&mut rng, n);
            let (delta, lambda) = (rng.uniform(0.2, 1.0), rng.uniform(0.0, 0.5));
            let g = huber_tv_grad(&u, &y, delta, lambda);
            let expected = huber_tv_closed_form(&u, &y, delta, lambda);
            for i in 0..n {
                assert_close(&format!("dL/du[{i}]"), g[i], expected[i], EXACT);
            }
        }
    }
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0x4b3);
    for n in [2, 7, 12] {
        for _ in 0..10 {
            let (u, y) = problem(&mut rng, n);
            let (delta, lambda) = (rng.uniform(0.2, 1.0), rng.uniform(0.0, 0.5));
            let v = uniform_vec(&mut rng, n, -1.0, 1.0);
            let (value, dv) = huber_tv_jvp(&u, &y, delta, lambda, &v);
            assert_eq!(value, huber_tv(&u, &y, delta, lambda));
            assert_directional("huber_tv", dv, &huber_tv_grad(&u, &y, delta, lambda), &v);
        }
    }
}

#[test]
fn smooth_l1_against_differences_closed_form_and_f32() {
    let mut rng = Rng::new(0x4b4);
    for n in [1, 4, 10] {
        for _ in 0..10 {
            let (pred, target) = problem(&mut rng, n);
            let beta = rng.uniform(0.3, 1.0);
            let g: Vec<f64> = smooth_l1_grad(&pred[..], &target[..], beta);
            for i in 0..n {
                let fd = partial(|p: &[f64]| smooth_l1(p, &target[..], beta), &pred, i);
                assert_close(&format!("n={n}: d/dpred[{i}]"), g[i], fd, FD);
                let closed = ((pred[i] - target[i]) / beta).clamp(-1.0, 1.0) / n as f64;
                assert_close(&format!("n={n}: closed form [{i}]"), g[i], closed, EXACT);
            }
            let v = uniform_vec(&mut rng, n, -1.0, 1.0);
            let (value, dv) = smooth_l1_jvp(&pred[..], &target[..], beta, &v[..]);
            assert_eq!(value, smooth_l1(&pred[..], &target[..], beta));
            assert_directional("smooth_l1", dv, &g, &v);
            let p32: Vec<f32> = pred.iter().map(|&x| x as f32).collect();
            let t32: Vec<f32> = target.iter().map(|&x| x as f32).collect();
            let g32: Vec<f32> = smooth_l1_grad(&p32[..], &t32[..], beta as f32);
            for i in 0..n {
                // Residuals within f32 rounding of ±β would switch branch;
                // the problems keep |r| − β of order 0.1 almost surely.
                if ((pred[i] - target[i]).abs() - beta).abs() > 1e-4 {
                    assert_close(&format!("f32 [{i}]"), g32[i] as f64, g[i], F32);
                }
            }
        }
    }
}
