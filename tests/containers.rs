//! Vectors of other crates as parameters and outputs: `&DVector<f64>` of
//! nalgebra, with gradients of the caller's type. The derivatives take
//! them as slices (`as_slice()`), without copies; checked against the
//! same functions over `&[f64]`, exactly, and central differences.
// Index loops, as users write them.
#![allow(clippy::needless_range_loop)]
mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;
use nalgebra::{DMatrix, DVector};

/// Ridge regression's objective for one feature vector per row of `x`
/// (`x` row-major, `n × d`): `Σ (x_i · w - y_i)² + λ |w|²`.
#[differentiable(wrt(w, lambda))]
fn ridge(w: &DVector<f64>, x: &[f64], y: &DVector<f64>, lambda: f64) -> f64 {
    let d = w.len();
    let mut loss = 0.0;
    for i in 0..y.len() {
        let mut pred = 0.0;
        for j in 0..d {
            pred += x[i * d + j] * w[j];
        }
        loss += (pred - y[i]) * (pred - y[i]);
    }
    let penalty: f64 = w.iter().map(|v| v * v).sum();
    loss + lambda * penalty
}

/// The same over slices.
#[differentiable(wrt(w, lambda))]
fn ridge_slices(w: &[f64], x: &[f64], y: &[f64], lambda: f64) -> f64 {
    let d = w.len();
    let mut loss = 0.0;
    for i in 0..y.len() {
        let mut pred = 0.0;
        for j in 0..d {
            pred += x[i * d + j] * w[j];
        }
        loss += (pred - y[i]) * (pred - y[i]);
    }
    let penalty: f64 = w.iter().map(|v| v * v).sum();
    loss + lambda * penalty
}

/// Softmax, returned as a `DVector`; calls a helper over a `DVector`.
#[differentiable]
fn softmax(z: &DVector<f64>) -> DVector<f64> {
    let m = max_of(z);
    let mut out = vec![0.0; z.len()];
    let mut total = 0.0;
    for i in 0..z.len() {
        out[i] = (z[i] - m).exp();
        total += out[i];
    }
    for o in out.iter_mut() {
        *o /= total;
    }
    DVector::from_vec(out)
}

#[differentiable]
fn max_of(z: &DVector<f64>) -> f64 {
    z.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// The quadratic form `xᵀ A x`, through a helper for one row.
#[differentiable]
fn quadratic(a: &DMatrix<f64>, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.nrows() {
        s += x[i] * row_dot(a, i, x);
    }
    s
}

#[differentiable]
fn row_dot(a: &DMatrix<f64>, i: usize, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        s += a[(i, j)] * x[j];
    }
    s
}

#[test]
fn nalgebra_matrices() {
    let mut rng = Rng::new(63);
    let (n, m) = (4, 4);
    let a = DMatrix::from_fn(n, m, |_, _| rng.uniform(-1.0, 1.0));
    let x: Vec<f64> = (0..m).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let (v, (ga, gx)): (f64, (DMatrix<f64>, Vec<f64>)) = quadratic_value_and_grad(&a, &x);
    assert_eq!(v, quadratic(&a, &x));
    let xv = DVector::from_column_slice(&x);
    // d/dA xᵀ A x = x xᵀ; d/dx = (A + Aᵀ) x.
    let want_a = &xv * xv.transpose();
    let want_x = (&a + a.transpose()) * &xv;
    for i in 0..n {
        for j in 0..m {
            assert_close("d/dA", ga[(i, j)], want_a[(i, j)], EXACT);
        }
        assert_close("d/dx", gx[i], want_x[i], EXACT);
    }
    let t = DMatrix::from_fn(n, m, |i, j| (i + 2 * j) as f64 * 0.1);
    let (_, dv) = quadratic_jvp(&a, &x, &t, &vec![0.0; m]);
    assert_close("jvp", dv, ga.dot(&t), EXACT);
}

#[test]
fn nalgebra_vectors_match_slices() {
    let mut rng = Rng::new(61);
    let (n, d) = (12, 4);
    let x: Vec<f64> = (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
    let w = DVector::from_fn(d, |_, _| rng.uniform(-1.0, 1.0));
    let (v, (gw, gl)): (f64, (DVector<f64>, f64)) = ridge_value_and_grad(&w, &x, &y, 0.3);
    let (v2, (gw2, gl2)) = ridge_slices_value_and_grad(w.as_slice(), &x, y.as_slice(), 0.3);
    assert_eq!(v, ridge(&w, &x, &y, 0.3));
    assert_eq!((v, gw.as_slice(), gl), (v2, &gw2[..], gl2));
    let mut p: Vec<f64> = w.iter().copied().collect();
    p.push(0.3);
    let mut g: Vec<f64> = gw.iter().copied().collect();
    g.push(gl);
    check::gradient(
        |p| ridge(&DVector::from_column_slice(&p[..d]), &x, &y, p[d]),
        &g,
        &p,
        FD,
    )
    .unwrap();
    // Forward mode along a `DVector` tangent.
    let t = DVector::from_fn(d, |i, _| 0.1 * i as f64);
    let (_, dv) = ridge_jvp(&w, &x, &y, 0.3, &t, 1.0);
    assert_close("jvp", dv, gw.dot(&t) + gl, EXACT);
}

#[test]
fn nalgebra_vector_output() {
    let mut rng = Rng::new(62);
    let z = DVector::from_fn(5, |_, _| rng.uniform(-2.0, 2.0));
    let s: DVector<f64> = softmax(&z);
    let w = DVector::from_fn(5, |_, _| rng.uniform(-1.0, 1.0));
    let (s2, gz): (DVector<f64>, DVector<f64>) = softmax_vjp(&z, w.clone());
    assert_eq!(s, s2);
    // Jᵀw of softmax: s ⊙ (w - s·w).
    let sw = s.dot(&w);
    for i in 0..5 {
        assert_close("softmax vjp", gz[i], s[i] * (w[i] - sw), EXACT);
    }
    let v = DVector::from_fn(5, |i, _| (i as f64).cos());
    let (_, ds): (DVector<f64>, DVector<f64>) = softmax_jvp(&z, &v);
    assert_close("dot-product test", ds.dot(&w), gz.dot(&v), EXACT);
}
