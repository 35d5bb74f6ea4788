//! Hessians, Hessian-vector products and Jacobians of generic functions
//! (`autodiff::{hvp, hessian, hessian_diagonal, jacfwd, jacrev}`): against
//! closed forms exactly, against finite differences of gradients, and
//! forward against reverse.

#![allow(clippy::needless_range_loop)]

use autodiff::prelude::*;

mod objectives;

use objectives::generic::{self, kmeans, kmeans_grad, kmeans_value_and_grad};
use objectives::generic::{rosenbrock, rosenbrock_grad, rosenbrock_value_and_grad};

/// `½ xᵀ A x + bᵀ x` for a row-major `n x n` matrix `A`.
#[differentiable(wrt(x))]
fn quadratic<T: Float>(x: &[T], a: &[T], b: &[T]) -> T {
    let n = x.len();
    let mut s = T::zero();
    for i in 0..n {
        let mut ax = T::zero();
        for j in 0..n {
            ax = ax + a[i * n + j] * x[j];
        }
        s = s + x[i] * ax * T::from(0.5).unwrap() + b[i] * x[i];
    }
    s
}

/// A map from R^3 to R^2.
#[differentiable]
fn polar<T: Float>(x: &[T]) -> Vec<T> {
    let r = (x[0] * x[0] + x[1] * x[1]).sqrt();
    vec![r * x[2].exp(), x[1].atan2(x[0]) * x[2]]
}

fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

#[test]
fn hessian_of_a_quadratic_form_is_the_symmetric_part_exactly() {
    let mut u = lcg(1);
    let n = 6;
    // Small integers and halves: every product and sum is exact.
    let a: Vec<f64> = (0..n * n).map(|_| (u() * 8.0).round() / 2.0).collect();
    let b: Vec<f64> = (0..n).map(|_| (u() * 8.0).round()).collect();
    let x: Vec<f64> = (0..n).map(|_| (u() * 8.0).round() / 4.0).collect();
    let ad: Vec<Dual<f64>> = a.iter().map(|&v| Dual::constant(v)).collect();
    let bd: Vec<Dual<f64>> = b.iter().map(|&v| Dual::constant(v)).collect();
    let h = hessian(|x| quadratic_grad(x, &ad, &bd), &x);
    for i in 0..n {
        for j in 0..n {
            assert_eq!(h[i][j], (a[i * n + j] + a[j * n + i]) / 2.0, "H[{i}][{j}]");
        }
    }
    assert_eq!(
        quadratic(&x, &a, &b),
        quadratic_value_and_grad(&x, &a, &b).0
    );
    // And the gradient itself: ½ (A + Aᵀ) x + b.
    let g = quadratic_grad(&x, &a, &b);
    for i in 0..n {
        let want: f64 = (0..n).map(|j| h[i][j] * x[j]).sum::<f64>() + b[i];
        assert_eq!(g[i], want);
    }
}

fn rosenbrock_hessian(x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        let b = x[i + 1] - x[i] * x[i];
        h[i][i] += 2.0 - 400.0 * b + 800.0 * x[i] * x[i];
        h[i][i + 1] -= 400.0 * x[i];
        h[i + 1][i] -= 400.0 * x[i];
        h[i + 1][i + 1] += 200.0;
    }
    h
}

#[test]
fn hessian_of_rosenbrock_against_its_closed_form() {
    let mut u = lcg(2);
    for _ in 0..20 {
        let x: Vec<f64> = (0..7).map(|_| 2.0 * u()).collect();
        let h = hessian(rosenbrock_grad, &x);
        assert_eq!(rosenbrock(&x), rosenbrock_value_and_grad(&x).0);
        let want = rosenbrock_hessian(&x);
        for i in 0..x.len() {
            for j in 0..x.len() {
                let err = (h[i][j] - want[i][j]).abs();
                assert!(
                    err <= 1e-13 * (1.0 + want[i][j].abs()),
                    "H[{i}][{j}] {} {}",
                    h[i][j],
                    want[i][j]
                );
            }
        }
        // K directions per gradient pass: the same Hessian, exactly.
        assert_eq!(hessian_lanes::<3>(rosenbrock_grad, &x), h);
        let d = hessian_diagonal(rosenbrock_grad, &x);
        for i in 0..x.len() {
            assert_eq!(d[i], h[i][i]);
        }
    }
}

#[test]
fn hvp_against_finite_differences_of_gradients() {
    let mut u = lcg(3);
    let n = 50;
    for _ in 0..10 {
        let x: Vec<f64> = (0..n).map(|_| 1.5 * u()).collect();
        let v: Vec<f64> = (0..n).map(|_| u()).collect();
        let hv = hvp(rosenbrock_grad, &x, &v);
        let eps = 1e-6;
        let at = |s: f64| {
            let y: Vec<f64> = x.iter().zip(&v).map(|(x, v)| x + s * v).collect();
            rosenbrock_grad(&y[..])
        };
        let (gp, gm) = (at(eps), at(-eps));
        for i in 0..n {
            let fd = (gp[i] - gm[i]) / (2.0 * eps);
            assert!(
                (hv[i] - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "{i}: {} {fd}",
                hv[i]
            );
        }
        // H v equals the product with the full Hessian.
        let h = rosenbrock_hessian(&x);
        for i in 0..n {
            let want: f64 = (0..n).map(|j| h[i][j] * v[j]).sum();
            assert!((hv[i] - want).abs() <= 1e-12 * (1.0 + want.abs()));
        }
    }
}

#[test]
fn jacobians_forward_reverse_and_finite_differences() {
    let mut u = lcg(4);
    for _ in 0..20 {
        let x: Vec<f64> = vec![u() + 1.5, u(), 0.5 * u()];
        let jf = jacfwd(polar, &x);
        let jr = jacrev(|x, dy| polar_vjp(x, dy.to_vec()).1, &x, 2);
        assert_eq!((jf.len(), jf[0].len()), (2, 3));
        for i in 0..2 {
            for j in 0..3 {
                assert!((jf[i][j] - jr[i][j]).abs() <= 1e-14 * (1.0 + jf[i][j].abs()));
                let h = 1e-6;
                let mut xp = x.clone();
                let mut xm = x.clone();
                xp[j] += h;
                xm[j] -= h;
                let fd = (polar(&xp)[i] - polar(&xm)[i]) / (2.0 * h);
                assert!(
                    (jf[i][j] - fd).abs() <= 1e-7 * (1.0 + fd.abs()),
                    "J[{i}][{j}] {} {fd}",
                    jf[i][j]
                );
            }
        }
    }
}

/// Parents, base relatives, weights, base positions, points, pose.
type Hand = (Vec<i64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// A small hand: 5 bones in a chain with a branch, 40 vertices.
fn hand_data() -> Hand {
    let mut u = lcg(5);
    let n_bones = 5;
    let n_verts = 40;
    let parents = vec![-1, 0, 1, 1, 3];
    let mut v = |n: usize| -> Vec<f64> { (0..n).map(|_| u()).collect() };
    (
        parents,
        v(12 * n_bones),
        v(n_verts * n_bones),
        v(3 * n_verts),
        v(3 * n_verts),
        v(3 * n_bones),
    )
}

/// Vector forward mode: `K` lanes in one evaluation equal `K` evaluations
/// with one direction each, exactly; the Jacobian by lanes equals the one
/// direction at a time and the generated JVP of the same objective written
/// for `f64` (`objectives::hand_residuals`).
#[test]
fn vector_mode_against_one_direction_at_a_time() {
    let (parents, rel, weights, base, points, theta) = hand_data();
    let f = |th: &[DualVec<f64, 8>]| {
        let c = |x: &[f64]| {
            x.iter()
                .map(|&v| Dual::new(v, [0.0; 8]))
                .collect::<Vec<_>>()
        };
        generic::hand_residuals_generic(
            th,
            &parents,
            &c(&rel),
            &c(&weights),
            &c(&base),
            &c(&points),
        )
    };
    let mut u = lcg(6);
    let directions: Vec<Vec<f64>> = (0..8)
        .map(|_| (0..theta.len()).map(|_| u()).collect())
        .collect();
    let lanes: Vec<DualVec<f64, 8>> = (0..theta.len())
        .map(|j| Dual::new(theta[j], std::array::from_fn(|k| directions[k][j])))
        .collect();
    let y = f(&lanes);
    for (k, d) in directions.iter().enumerate() {
        let one: Vec<Dual<f64>> = theta
            .iter()
            .zip(d)
            .map(|(&t, &d)| Dual::new(t, d))
            .collect();
        let c = |x: &[f64]| x.iter().map(|&v| Dual::constant(v)).collect::<Vec<_>>();
        let y1 = generic::hand_residuals_generic(
            &one,
            &parents,
            &c(&rel),
            &c(&weights),
            &c(&base),
            &c(&points),
        );
        for (a, b) in y.iter().zip(&y1) {
            assert_eq!(a.eps[k], b.eps, "lane {k}");
            assert_eq!(a.re, b.re);
        }
    }
    let c1 = |x: &[f64]| x.iter().map(|&v| Dual::constant(v)).collect::<Vec<_>>();
    let jl = jacfwd_lanes::<8>(f, &theta);
    let j1 = jacfwd(
        |th| {
            generic::hand_residuals_generic(
                th,
                &parents,
                &c1(&rel),
                &c1(&weights),
                &c1(&base),
                &c1(&points),
            )
        },
        &theta,
    );
    assert_eq!(jl, j1);
    // Reverse mode: one VJP of the same generic function per residual row
    // (it overwrites `absolutes` where its reverse sweep reads the old
    // values, which a generic function keeps in `Saves`).
    let m = points.len();
    let jr = jacrev(
        |th, dy| {
            generic::hand_residuals_generic_vjp(
                th,
                &parents,
                &rel,
                &weights,
                &base,
                &points,
                dy.to_vec(),
            )
            .1
        },
        &theta,
        m,
    );
    for i in 0..m {
        for j in 0..theta.len() {
            assert!(
                (jr[i][j] - jl[i][j]).abs() <= 1e-12 * (1.0 + jl[i][j].abs()),
                "J[{i}][{j}]"
            );
        }
    }
    // Against the generated JVP of the f64 objective, column by column.
    let mut err = vec![0.0; points.len()];
    for j in 0..theta.len() {
        let mut e = vec![0.0; theta.len()];
        e[j] = 1.0;
        let mut derr = vec![0.0; points.len()];
        objectives::hand_residuals_jvp(
            &theta, &parents, &rel, &weights, &base, &points, &mut err, &e, &mut derr,
        );
        for i in 0..points.len() {
            assert!(
                (jl[i][j] + 0.0 - derr[i]).abs() <= 1e-12 * (1.0 + derr[i].abs()),
                "J[{i}][{j}] {} {}",
                jl[i][j],
                derr[i]
            );
        }
    }
}

/// The Newton step of GradBench's k-means, `J / diag(H)`: its Hessian is
/// diagonal (each centre's block is `2 n_k I`), so one Hessian-vector
/// product with the ones vector is the diagonal, for about a gradient's
/// cost; `hessian_diagonal` (n passes) agrees.
#[test]
fn kmeans_hessian_diagonal_in_one_pass() {
    let mut u = lcg(7);
    let (n, k, d) = (200, 5, 3);
    let x: Vec<f64> = (0..n * d).map(|_| 3.0 * u()).collect();
    let c: Vec<f64> = (0..k * d).map(|_| 3.0 * u()).collect();
    let xd: Vec<Dual<f64>> = x.iter().map(|&v| Dual::constant(v)).collect();
    let ones = vec![1.0; k * d];
    let diag = hvp(|c| kmeans_grad(&xd, c, d), &c, &ones);
    // The closed form: 2 times the number of points nearest each centre.
    let mut count = vec![0.0; k];
    for i in 0..n {
        let dist = |j: usize| {
            (0..d)
                .map(|l| (x[i * d + l] - c[j * d + l]).powi(2))
                .sum::<f64>()
        };
        let nearest = (0..k).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
        count[nearest] += 1.0;
    }
    for j in 0..k {
        for l in 0..d {
            assert_eq!(diag[j * d + l], 2.0 * count[j], "centre {j}");
        }
    }
    assert_eq!(diag, hessian_diagonal(|c| kmeans_grad(&xd, c, d), &c));
    assert_eq!(kmeans(&x, &c, d), kmeans_value_and_grad(&x, &c, d).0);
}
