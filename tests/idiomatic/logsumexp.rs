//! Log-sum-exp with the max-shift trick, `lse(x) = m + ln Σ e^{x_i − m}`,
//! `m = max x_i` (exact for any `m`; the maximum keeps every exponential
//! at most 1), the softmax `σ(x)_i = e^{x_i − lse(x)}`, which is the
//! gradient of `lse`, and the softmax cross-entropy `−ln σ(z)_y =
//! lse(z) − z_y`, whose gradient is `σ(z) − e_y` (Goodfellow, Bengio and
//! Courville, *Deep Learning*, §4.1 and §6.2.2.3).

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::check::Tolerance;
use autodiff::prelude::*;

#[differentiable]
pub fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|&xi| (xi - m).exp()).sum::<f64>().ln()
}

#[differentiable]
pub fn softmax(x: &[f64]) -> Vec<f64> {
    let lse = logsumexp(x);
    x.iter().map(|&xi| (xi - lse).exp()).collect()
}

#[differentiable(wrt(logits))]
pub fn softmax_cross_entropy(logits: &[f64], label: usize) -> f64 {
    debug_assert!(label < logits.len());
    logsumexp(logits) - logits[label]
}

/// Mean cross-entropy of a batch: `logits` is `labels.len() × k`, row-major.
#[differentiable(wrt(logits))]
pub fn batch_cross_entropy(logits: &[f64], labels: &[usize]) -> f64 {
    let k = logits.len() / labels.len();
    debug_assert_eq!(logits.len(), k * labels.len());
    let total: f64 = logits
        .chunks_exact(k)
        .zip(labels)
        .map(|(row, &y)| logsumexp(row) - row[y])
        .sum();
    total / labels.len() as f64
}

/// The same log-sum-exp, generic over the scalar.
#[differentiable]
pub fn logsumexp_generic<T: Float>(x: &[T]) -> T {
    let m = x.iter().copied().fold(T::neg_infinity(), T::max);
    m + x
        .iter()
        .map(|&xi| (xi - m).exp())
        .fold(T::zero(), |acc, e| acc + e)
        .ln()
}

/// The softmax by the textbook formula, for the closed forms.
fn softmax_reference(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// The gradient of log-sum-exp and the softmax, computed differently:
/// a few roundings each.
const CLOSED: Tolerance = Tolerance {
    rel: 1e-13,
    abs: 1e-15,
};

#[test]
fn gradient_against_central_differences() {
    let mut rng = Rng::new(0x15e1);
    for n in [1, 2, 3, 7, 16] {
        for _ in 0..8 {
            let x = uniform_vec(&mut rng, n, -5.0, 5.0);
            let g = logsumexp_grad(&x);
            for i in 0..n {
                let fd = partial(logsumexp, &x, i);
                assert_close(&format!("n={n}: d lse/dx[{i}]"), g[i], fd, FD);
            }
            let label = (rng.next_u64() % n as u64) as usize;
            let g = softmax_cross_entropy_grad(&x, label);
            for i in 0..n {
                let fd = partial(|z: &[f64]| softmax_cross_entropy(z, label), &x, i);
                assert_close(&format!("n={n}: d CE/dz[{i}]"), g[i], fd, FD);
            }
        }
    }
}

#[test]
fn gradient_is_the_softmax() {
    let mut rng = Rng::new(0x15e2);
    for n in [1, 4, 10] {
        for _ in 0..10 {
            let x = uniform_vec(&mut rng, n, -8.0, 8.0);
            let label = (rng.next_u64() % n as u64) as usize;
            let p = softmax_reference(&x);
            let g = logsumexp_grad(&x);
            let s = softmax(&x);
            let ce = softmax_cross_entropy_grad(&x, label);
            for i in 0..n {
                assert_close(&format!("d lse/dx[{i}]"), g[i], p[i], CLOSED);
                assert_close(&format!("softmax[{i}]"), s[i], p[i], CLOSED);
                let onehot = if i == label { 1.0 } else { 0.0 };
                assert_close(&format!("d CE/dz[{i}]"), ce[i], p[i] - onehot, CLOSED);
            }
        }
    }
}

#[test]
fn shifted_inputs_do_not_overflow() {
    // e^1000 overflows; with the shift, the value and gradient are those of
    // x − 1000.
    let x = [1000.0, 999.0, 998.5, 990.0];
    let shifted: Vec<f64> = x.iter().map(|v| v - 1000.0).collect();
    let (value, g) = logsumexp_value_and_grad(&x);
    assert_close("lse", value, 1000.0 + logsumexp(&shifted), CLOSED);
    let p = softmax_reference(&shifted);
    for i in 0..x.len() {
        assert!(g[i].is_finite(), "{g:?}");
        assert_close(&format!("d lse/dx[{i}]"), g[i], p[i], CLOSED);
    }
    let neg: Vec<f64> = x.iter().map(|v| -v).collect();
    let g = logsumexp_grad(&neg);
    assert!(g.iter().all(|gi| gi.is_finite()), "{g:?}");
}

#[test]
fn batch_cross_entropy_is_the_mean_of_rows() {
    let mut rng = Rng::new(0x15e3);
    let (batch, k) = (5, 4);
    for _ in 0..10 {
        let logits = uniform_vec(&mut rng, batch * k, -3.0, 3.0);
        let labels: Vec<usize> = (0..batch)
            .map(|_| (rng.next_u64() % k as u64) as usize)
            .collect();
        let g = batch_cross_entropy_grad(&logits, &labels);
        for i in 0..batch * k {
            let fd = partial(|z: &[f64]| batch_cross_entropy(z, &labels), &logits, i);
            assert_close(&format!("d CE/dz[{i}]"), g[i], fd, FD);
        }
        for (r, (row, &y)) in logits.chunks_exact(k).zip(&labels).enumerate() {
            let p = softmax_reference(row);
            for c in 0..k {
                let onehot = if c == y { 1.0 } else { 0.0 };
                let expected = (p[c] - onehot) / batch as f64;
                assert_close(
                    &format!("row {r} class {c}"),
                    g[r * k + c],
                    expected,
                    CLOSED,
                );
            }
        }
        let v = uniform_vec(&mut rng, batch * k, -1.0, 1.0);
        let (value, dv) = batch_cross_entropy_jvp(&logits, &labels, &v);
        assert_eq!(value, batch_cross_entropy(&logits, &labels));
        assert_directional("batch_cross_entropy", dv, &g, &v);
    }
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0x15e4);
    for n in [1, 3, 8] {
        for _ in 0..10 {
            let x = uniform_vec(&mut rng, n, -4.0, 4.0);
            let v = uniform_vec(&mut rng, n, -1.0, 1.0);
            let (value, dv) = logsumexp_jvp(&x, &v);
            assert_eq!(value, logsumexp(&x));
            assert_directional("logsumexp", dv, &logsumexp_grad(&x), &v);
            let label = n - 1;
            let (_, dv) = softmax_cross_entropy_jvp(&x, label, &v);
            assert_directional(
                "cross-entropy",
                dv,
                &softmax_cross_entropy_grad(&x, label),
                &v,
            );
        }
    }
}

#[test]
fn softmax_dot_product_test() {
    // <w, J v> = <Jᵀ w, v> for the Jacobian of the softmax, and J v against
    // central differences of each output.
    let mut rng = Rng::new(0x15e5);
    for n in [2, 5] {
        for _ in 0..10 {
            let x = uniform_vec(&mut rng, n, -3.0, 3.0);
            let v = uniform_vec(&mut rng, n, -1.0, 1.0);
            let w = uniform_vec(&mut rng, n, -1.0, 1.0);
            let (s, jv) = softmax_jvp(&x, &v);
            assert_eq!(s, softmax(&x));
            let (s2, jtw) = softmax_vjp(&x, w.clone());
            assert_eq!(s2, s);
            let lhs: f64 = w.iter().zip(&jv).map(|(a, b)| a * b).sum();
            let rhs: f64 = jtw.iter().zip(&v).map(|(a, b)| a * b).sum();
            assert_close("<w, Jv> = <Jᵀw, v>", lhs, rhs, CLOSED);
            for i in 0..n {
                let h = 1e-6;
                let moved = |t: f64| -> f64 {
                    let y: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + t * b).collect();
                    softmax(&y)[i]
                };
                let fd = (moved(h) - moved(-h)) / (2.0 * h);
                assert_close(&format!("(J v)[{i}]"), jv[i], fd, FD);
            }
        }
    }
}

#[test]
fn generic_version_at_f64_and_f32() {
    let mut rng = Rng::new(0x15e6);
    for n in [1, 4, 9] {
        for _ in 0..10 {
            let x = uniform_vec(&mut rng, n, -4.0, 4.0);
            let g = logsumexp_grad(&x);
            let g64: Vec<f64> = logsumexp_generic_grad(&x[..]);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let g32: Vec<f32> = logsumexp_generic_grad(&x32[..]);
            for i in 0..n {
                assert_close(&format!("generic f64 [{i}]"), g64[i], g[i], CLOSED);
                assert_close(&format!("generic f32 [{i}]"), g32[i] as f64, g[i], F32);
            }
        }
    }
}
