//! Second order and Jacobians: the Hessian-vector product (forward over
//! reverse: the generated gradient of a generic function at `Dual<f64>`)
//! against the gradient at n = 1000, and the dense Jacobian of the hand
//! tracking residuals (22 bones: 66 pose parameters; 500 and 5000 vertices)
//! by vector forward mode (`jacfwd_lanes` over `DualVec`, and the generated
//! `f_jvp_lanes`) against the primal and against one generated JVP per
//! parameter; and ADBench's hand objective, its whole Jacobian from one
//! generated vector JVP and by hand. `cargo bench --bench second_order`.

// Index loops, as numerical code is written.
#![allow(clippy::needless_range_loop)]

use autodiff::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "../tests/objectives/mod.rs"]
mod objectives;

use objectives::generic::{hand_residuals_generic, kmeans_grad, rosenbrock_grad};

/// A smooth objective with transcendental functions: the log-sum-exp of
/// `x` plus a sum of `ln(1 + x_i²)`.
#[allow(dead_code)]
#[differentiable]
fn lse_penalty<T: Float>(x: &[T]) -> T {
    let mut m = x[0];
    for i in 1..x.len() {
        m = m.max(x[i]);
    }
    let mut s = T::zero();
    let mut p = T::zero();
    for i in 0..x.len() {
        s = s + (x[i] - m).exp();
        p = p + (T::one() + x[i] * x[i]).ln();
    }
    m + s.ln() + p
}

fn bench(c: &mut Criterion) {
    let n = 1000;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
    let mut g = c.benchmark_group("second_order");
    g.bench_function("rosenbrock gradient n1000", |b| {
        b.iter(|| rosenbrock_grad(black_box(&x[..])))
    });
    g.bench_function("rosenbrock hvp n1000", |b| {
        b.iter(|| hvp(rosenbrock_grad, black_box(&x), black_box(&v)))
    });
    g.bench_function("lse_penalty gradient n1000", |b| {
        b.iter(|| lse_penalty_grad(black_box(&x[..])))
    });
    g.bench_function("lse_penalty hvp n1000", |b| {
        b.iter(|| hvp(lse_penalty_grad, black_box(&x), black_box(&v)))
    });
    // k-means, 1000 points, 10 centres, 8 dimensions: the Hessian is
    // diagonal, so one hvp with the ones vector is its diagonal.
    let (np, k, d) = (1000, 10, 8);
    let pts: Vec<f64> = (0..np * d)
        .map(|i| (i as f64 * 0.731).sin() * 3.0)
        .collect();
    let centres: Vec<f64> = (0..k * d).map(|i| (i as f64 * 0.377).cos() * 3.0).collect();
    let pts_dual: Vec<Dual<f64>> = pts.iter().map(|&v| Dual::constant(v)).collect();
    let ones = vec![1.0; k * d];
    g.bench_function("kmeans gradient n1000 k10 d8", |b| {
        b.iter(|| kmeans_grad(black_box(&pts), black_box(&centres), d))
    });
    g.bench_function("kmeans hessian diagonal n1000 k10 d8", |b| {
        b.iter(|| hvp(|c| kmeans_grad(&pts_dual, c, d), black_box(&centres), &ones))
    });
    g.finish();
}

fn jacobian(c: &mut Criterion) {
    let mut r = objectives::Lcg(3);
    let n_bones = 22;
    let mut g = c.benchmark_group("hand_jacobian");
    g.sample_size(10);
    for n_verts in [500, 5000] {
        let parents: Vec<i64> = (0..n_bones as i64)
            .map(|b| if b == 0 { -1 } else { (b - 1) / 2 })
            .collect();
        let rel = r.vec(12 * n_bones, -1.0, 1.0);
        let weights = r.vec(n_verts * n_bones, 0.0, 1.0);
        let base = r.vec(3 * n_verts, -1.0, 1.0);
        let points = r.vec(3 * n_verts, -1.0, 1.0);
        let theta = r.vec(3 * n_bones, -1.0, 1.0);
        g.bench_function(format!("primal {n_verts}"), |b| {
            b.iter(|| {
                hand_residuals_generic(black_box(&theta), &parents, &rel, &weights, &base, &points)
            })
        });
        macro_rules! lanes {
            ($k:literal) => {{
                let lift = |x: &[f64]| -> Vec<DualVec<f64, $k>> {
                    x.iter().map(|&v| Dual::new(v, [0.0; $k])).collect()
                };
                let (rel, weights, base, points) =
                    (lift(&rel), lift(&weights), lift(&base), lift(&points));
                g.bench_function(format!("jacfwd_lanes {} {n_verts}", $k), |b| {
                    b.iter(|| {
                        jacfwd_lanes::<$k>(
                            |th| {
                                hand_residuals_generic(th, &parents, &rel, &weights, &base, &points)
                            },
                            black_box(&theta),
                        )
                    })
                });
            }};
        }
        lanes!(1);
        lanes!(8);
        lanes!(22);
        // The generated vector JVP of the f64 residuals: only tangents
        // carry lanes.
        let m = points.len();
        g.bench_function(format!("primal f64 {n_verts}"), |b| {
            let mut err = vec![0.0; m];
            b.iter(|| {
                objectives::hand_residuals(
                    black_box(&theta),
                    &parents,
                    &rel,
                    &weights,
                    &base,
                    &points,
                    &mut err,
                );
            })
        });
        macro_rules! generated_lanes {
            ($k:literal) => {
                g.bench_function(format!("jvp_lanes {} {n_verts}", $k), |b| {
                    let mut err = vec![0.0; m];
                    b.iter(|| {
                        jacobian_lanes::<$k>(
                            |dth| {
                                let mut derr = vec![Lanes::zero(); m];
                                objectives::hand_residuals_jvp_lanes(
                                    black_box(&theta),
                                    &parents,
                                    &rel,
                                    &weights,
                                    &base,
                                    &points,
                                    &mut err,
                                    dth,
                                    &mut derr,
                                );
                                derr
                            },
                            theta.len(),
                        )
                    })
                });
            };
        }
        generated_lanes!(4);
        generated_lanes!(8);
        generated_lanes!(16);
        generated_lanes!(22);
        // One generated JVP per parameter, as before vector mode.
        g.bench_function(format!("generated jvp per column {n_verts}"), |b| {
            let mut err = vec![0.0; points.len()];
            let mut derr = vec![0.0; points.len()];
            b.iter(|| {
                let mut jac = vec![vec![0.0; theta.len()]; points.len()];
                for j in 0..theta.len() {
                    let mut e = vec![0.0; theta.len()];
                    e[j] = 1.0;
                    objectives::hand_residuals_jvp(
                        black_box(&theta),
                        &parents,
                        &rel,
                        &weights,
                        &base,
                        &points,
                        &mut err,
                        &e,
                        &mut derr,
                    );
                    for i in 0..points.len() {
                        jac[i][j] = derr[i];
                    }
                }
                jac
            })
        });
    }
    g.finish();
}

/// ADBench's hand objective (26 pose parameters, 22 bones, 544 vertices;
/// `tests/objectives/hand.rs`) at some of its standard point counts: the
/// whole ADBench Jacobian from one generated vector JVP, 26 lanes for the
/// simple variant, 28 for the complicated one (the barycentric
/// coordinates of all points share two lanes, as ADBench stores them),
/// against the objective, and both Jacobians by hand (ADBench's scheme,
/// `manual::hand_jacobian` and `manual::hand_jacobian_complicated`).
fn adbench_hand(c: &mut Criterion) {
    use objectives::hand::*;
    let mut lcg = objectives::Lcg(5);
    let model = HandModel::new(&mut lcg);
    let theta = lcg.vec(26, -0.5, 0.5);
    let mut g = c.benchmark_group("adbench_hand");
    g.sample_size(20);
    for n in [100, 1600, 12800, 100000] {
        let (corr, points, us) = model.points(&mut lcg, n);
        let vertices: Vec<usize> = corr.iter().map(|&t| model.triangles[3 * t]).collect();
        let m = 3 * n;
        let mut err = vec![0.0; m];
        let mut derr26 = vec![Lanes::<f64, 26>::zero(); m];
        let mut derr28 = vec![Lanes::<f64, 28>::zero(); m];
        let seeds26: Vec<Lanes<f64, 26>> = (0..26).map(Lanes::unit).collect();
        let seeds28: Vec<Lanes<f64, 28>> = (0..26).map(Lanes::unit).collect();
        let seeds_u: Vec<Lanes<f64, 28>> = (0..2 * n).map(|i| Lanes::unit(26 + i % 2)).collect();
        g.bench_function(format!("simple objective {n}"), |b| {
            b.iter(|| model.simple(black_box(&theta), &vertices, &points, &mut err))
        });
        g.bench_function(format!("simple jacobian {n}"), |b| {
            b.iter(|| {
                model.simple_lanes(
                    black_box(&theta),
                    &vertices,
                    &points,
                    &mut err,
                    &seeds26,
                    &mut derr26,
                )
            })
        });
        let mut jac = vec![[0.0; 26]; m];
        g.bench_function(format!("simple jacobian by hand {n}"), |b| {
            b.iter(|| {
                objectives::manual::hand_jacobian(
                    &model,
                    black_box(&theta),
                    &vertices,
                    &points,
                    &mut err,
                    &mut jac,
                )
            })
        });
        g.bench_function(format!("complicated objective {n}"), |b| {
            b.iter(|| model.complicated(black_box(&theta), &us, &corr, &points, &mut err))
        });
        g.bench_function(format!("complicated jacobian {n}"), |b| {
            b.iter(|| {
                model.complicated_lanes(
                    (black_box(&theta), &us),
                    &corr,
                    &points,
                    &mut err,
                    (&seeds28, &seeds_u),
                    &mut derr28,
                )
            })
        });
        let mut jac28 = vec![[0.0; 28]; m];
        g.bench_function(format!("complicated jacobian by hand {n}"), |b| {
            b.iter(|| {
                objectives::manual::hand_jacobian_complicated(
                    &model,
                    (black_box(&theta), &us),
                    &corr,
                    &points,
                    &mut err,
                    &mut jac28,
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, jacobian, adbench_hand);
criterion_main!(benches);
