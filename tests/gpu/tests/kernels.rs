//! The hand-written kernels and their reverse against the CPU: each CPU
//! reference is a `#[differentiable]` function over f64 slices, and its
//! reverse comes from the generated gradient (the VJP of a kernel at the
//! cotangent `w` is the gradient of `sum(w * kernel(x))`).

use autodiff::gpu::Gpu;
use autodiff::prelude::*;
use autodiff_gpu_tests::{Lcg, assert_close, gpu, product_dot, product_dot_grad};

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

#[differentiable]
fn total(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for &v in x {
        s += v;
    }
    s
}

#[test]
fn sum_and_mean() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(7);
    for n in [1, 255, 2048, 2049, 1_000_003] {
        let x = rng.vec(n, -1.0, 1.0);
        let xb = gpu.upload(&x).unwrap();
        let want = total(&f64s(&x));
        let tol = 1e-6 * (n as f64).sqrt();
        assert_close(
            "sum",
            &gpu.read(&gpu.sum(&xb).unwrap()).unwrap(),
            &[want],
            tol,
        );
        assert_close(
            "mean",
            &gpu.read(&gpu.mean(&xb).unwrap()).unwrap(),
            &[want / n as f64],
            tol,
        );
        // The reverse: the gradient of the sum is all ones, times dy.
        let dy = gpu.upload(&[0.75]).unwrap();
        let g = total_grad(&f64s(&x));
        let scaled: Vec<f64> = g.iter().map(|v| 0.75 * v).collect();
        assert_close(
            "sum_vjp",
            &gpu.read(&gpu.sum_vjp(&dy, n).unwrap()).unwrap(),
            &scaled,
            0.0,
        );
        let mean: Vec<f64> = scaled.iter().map(|v| v / n as f64).collect();
        assert_close(
            "mean_vjp",
            &gpu.read(&gpu.mean_vjp(&dy, n).unwrap()).unwrap(),
            &mean,
            1e-7,
        );
    }
}

fn product(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
        }
    }
    c
}

#[test]
fn matmul_and_its_reverse() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(8);
    for (m, k, n) in [(1, 1, 1), (67, 45, 131), (130, 200, 70), (64, 64, 64)] {
        let a = rng.vec(m * k, -1.0, 1.0);
        let b = rng.vec(k * n, -1.0, 1.0);
        let w = rng.vec(m * n, -1.0, 1.0);
        let (ab, bb, wb) = (
            gpu.upload(&a).unwrap(),
            gpu.upload(&b).unwrap(),
            gpu.upload(&w).unwrap(),
        );
        let tol = 1e-6 * k.max(m).max(n) as f64;
        let c = gpu.read(&gpu.matmul(&ab, &bb, m, k, n).unwrap()).unwrap();
        assert_close("matmul", &c, &product(&f64s(&a), &f64s(&b), m, k, n), tol);
        let dot: f64 = c
            .iter()
            .zip(&w)
            .map(|(&c, &w)| f64::from(c) * f64::from(w))
            .sum();
        let want = product_dot(&f64s(&a), &f64s(&b), &f64s(&w), m, k, n);
        assert_close("sum(w * AB)", &[dot as f32], &[want], tol * (m * n) as f64);
        let (da, db) = gpu.matmul_vjp(&ab, &bb, &wb, m, k, n).unwrap();
        let (ga, gb) = product_dot_grad(&f64s(&a), &f64s(&b), &f64s(&w), m, k, n);
        assert_close("matmul dA", &gpu.read(&da).unwrap(), &ga, tol);
        assert_close("matmul dB", &gpu.read(&db).unwrap(), &gb, tol);
    }
    let one = gpu.upload(&[1.0]).unwrap();
    assert!(
        gpu.matmul(&one, &one, 2, 1, 1).is_err(),
        "A of the wrong length"
    );
}

/// `log(sum(exp(row)))`, shifted by the row's maximum: the reference of
/// the row kernels.
#[differentiable]
fn row_logsumexp(row: &[f64]) -> f64 {
    let mut m = row[0];
    for &v in row {
        m = m.max(v);
    }
    let mut z = 0.0;
    for &v in row {
        z += (v - m).exp();
    }
    m + z.ln()
}

/// `sum(w * softmax(rows))`, or of log-softmax.
#[differentiable(wrt(x))]
fn softmax_dot(x: &[f64], w: &[f64], rows: usize, cols: usize, log: bool) -> f64 {
    let mut s = 0.0;
    for r in 0..rows {
        let lse = row_logsumexp(&x[r * cols..(r + 1) * cols]);
        for j in 0..cols {
            let y = x[r * cols + j] - lse;
            let y = if log { y } else { y.exp() };
            s += w[r * cols + j] * y;
        }
    }
    s
}

#[test]
fn softmax_log_softmax_and_their_reverse() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(9);
    for (rows, cols) in [(1, 1), (3, 10), (17, 300), (5, 1000)] {
        let x = rng.vec(rows * cols, -4.0, 4.0);
        let w = rng.vec(rows * cols, -1.0, 1.0);
        let (xb, wb) = (gpu.upload(&x).unwrap(), gpu.upload(&w).unwrap());
        for log in [false, true] {
            let y = if log {
                gpu.log_softmax(&xb, rows, cols).unwrap()
            } else {
                gpu.softmax(&xb, rows, cols).unwrap()
            };
            // The values: one-hot w picks each output in turn (rows at once).
            let values: Vec<f64> = (0..rows * cols)
                .map(|i| {
                    let mut e = vec![0.0; rows * cols];
                    e[i] = 1.0;
                    softmax_dot(&f64s(&x), &e, rows, cols, log)
                })
                .take(64)
                .collect();
            let got = gpu.read(&y).unwrap();
            assert_close("softmax", &got[..values.len()], &values, 1e-5);
            let dx = if log {
                gpu.log_softmax_vjp(&y, &wb, rows, cols).unwrap()
            } else {
                gpu.softmax_vjp(&y, &wb, rows, cols).unwrap()
            };
            let g = softmax_dot_grad(&f64s(&x), &f64s(&w), rows, cols, log);
            assert_close("softmax reverse", &gpu.read(&dx).unwrap(), &g, 1e-5);
        }
    }
}

/// `sum(d * cross_entropy(rows, labels))`.
#[differentiable(wrt(x))]
fn weighted_cross_entropy(x: &[f64], labels: &[usize], d: &[f64], rows: usize, cols: usize) -> f64 {
    let mut s = 0.0;
    for r in 0..rows {
        let lse = row_logsumexp(&x[r * cols..(r + 1) * cols]);
        s += d[r] * (lse - x[r * cols + labels[r]]);
    }
    s
}

#[test]
fn cross_entropy_and_its_reverse() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(10);
    for (rows, cols) in [(1, 2), (9, 10), (40, 513)] {
        let x = rng.vec(rows * cols, -4.0, 4.0);
        let labels: Vec<u32> = (0..rows)
            .map(|_| rng.uniform(0.0, cols as f64) as u32)
            .collect();
        let usizes: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
        let d = rng.vec(rows, 0.0, 1.0);
        let xb = gpu.upload(&x).unwrap();
        let loss = gpu
            .read(&gpu.cross_entropy(&xb, &labels, rows, cols).unwrap())
            .unwrap();
        let want: Vec<f64> = (0..rows)
            .map(|r| {
                let mut e = vec![0.0; rows];
                e[r] = 1.0;
                weighted_cross_entropy(&f64s(&x), &usizes, &e, rows, cols)
            })
            .collect();
        assert_close("cross entropy", &loss, &want, 1e-5);
        let db = gpu.upload(&d).unwrap();
        let dx = gpu
            .cross_entropy_vjp(&xb, &labels, &db, rows, cols)
            .unwrap();
        let g = weighted_cross_entropy_grad(&f64s(&x), &usizes, &f64s(&d), rows, cols);
        assert_close("cross entropy reverse", &gpu.read(&dx).unwrap(), &g, 1e-5);
    }
    let xb = gpu.upload(&[0.0; 4]).unwrap();
    let e = gpu.cross_entropy(&xb, &[2, 0], 2, 2).unwrap_err();
    assert!(e.to_string().contains("label 2 out of range"), "{e}");
}

#[test]
fn errors_not_panics() {
    let Some(gpu) = gpu() else { return };
    let e = gpu.zeros(usize::MAX / 8).unwrap_err();
    assert!(matches!(e, autodiff::gpu::GpuError::TooLarge { .. }), "{e}");
    assert!(
        e.to_string().contains("more than this adapter allows"),
        "{e}"
    );
    let empty = gpu.upload(&[]).unwrap();
    assert_eq!(gpu.read(&empty).unwrap(), Vec::<f32>::new());
    let _: &Gpu = gpu;
}
