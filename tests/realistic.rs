//! The ADBench/GradBench objectives, written as users write them from the
//! published definitions: helpers, small fixed arrays, index loops, local
//! buffers, integer index data. Each is checked against central finite
//! differences, and forward mode against reverse mode, at several sizes.
#![allow(
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::assign_op_pattern,
    clippy::manual_memcpy
)]

mod common;
mod objectives;

use autodiff::check;
use common::*;
use objectives::*;

/// Checks a scalar function of one flat parameter vector.
fn check_objective(
    name: &str,
    p: &[f64],
    f: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    value_and_grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let (y, g) = value_and_grad(p);
    assert_eq!(y, f(p), "{name}: value");
    let fd = check::central_difference(&f, p);
    check::compare("gradient", &g, &fd, FD).unwrap_or_else(|e| panic!("{name}: {e}"));
    for _ in 0..3 {
        let v: Vec<f64> = p.iter().map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y2, d) = jvp(p, &v);
        assert_eq!(y2, y, "{name}: JVP value");
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close(&format!("{name}: JVP"), d, expected, EXACT);
    }
}

#[test]
fn bundle_adjustment() {
    let mut rng = Rng::new(23);
    for (n_cams, n_points, n_obs) in [(1, 1, 1), (2, 3, 5), (3, 4, 10)] {
        let mut cams = Vec::new();
        for _ in 0..n_cams {
            cams.extend([
                rng.uniform(-0.3, 0.3),
                rng.uniform(-0.3, 0.3),
                rng.uniform(-0.3, 0.3),
            ]);
            cams.extend([
                rng.uniform(-0.5, 0.5),
                rng.uniform(-0.5, 0.5),
                rng.uniform(-5.0, -4.0),
            ]);
            cams.extend([
                rng.uniform(0.8, 1.2),
                rng.uniform(-0.1, 0.1),
                rng.uniform(-0.1, 0.1),
            ]);
            cams.extend([rng.uniform(-0.1, 0.1), rng.uniform(-0.05, 0.05)]);
        }
        let points: Vec<f64> = (0..3 * n_points).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let weights: Vec<f64> = (0..n_obs).map(|_| rng.uniform(0.5, 1.5)).collect();
        let obs: Vec<usize> = (0..n_obs)
            .flat_map(|k| [k % n_cams, (k * 7) % n_points])
            .collect();
        let feats: Vec<f64> = (0..2 * n_obs).map(|_| rng.uniform(-0.5, 0.5)).collect();
        let (nc, np) = (cams.len(), points.len());
        let split = |p: &[f64]| {
            (
                p[..nc].to_vec(),
                p[nc..nc + np].to_vec(),
                p[nc + np..].to_vec(),
            )
        };
        let params: Vec<f64> = cams
            .iter()
            .chain(&points)
            .chain(&weights)
            .copied()
            .collect();
        check_objective(
            "bundle adjustment",
            &params,
            |p| {
                let (c, x, w) = split(p);
                ba_objective(&c, &x, &w, &obs, &feats)
            },
            |p, v| {
                let (c, x, w) = split(p);
                let (dc, dx, dw) = split(v);
                ba_objective_jvp(&c, &x, &w, &obs, &feats, &dc, &dx, &dw)
            },
            |p| {
                let (c, x, w) = split(p);
                let (y, (gc, gx, gw)) = ba_objective_value_and_grad(&c, &x, &w, &obs, &feats);
                (y, gc.into_iter().chain(gx).chain(gw).collect())
            },
            n_obs as u64,
        );
    }
    // The rotation at zero angle takes the other branch.
    let (y, _) = rodrigues_rotate_point_jvp([0.0; 3], [1.0, 2.0, 3.0], [0.1, 0.0, 0.0], [0.0; 3]);
    assert_eq!(y, [1.0, 2.0, 3.0]);
}

#[test]
fn gaussian_mixture_model() {
    let mut rng = Rng::new(29);
    for (d, k, n) in [(1, 1, 1), (2, 3, 4), (3, 2, 5)] {
        let icf_sz = d * (d + 1) / 2;
        let alphas: Vec<f64> = (0..k).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let means: Vec<f64> = (0..d * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let icf: Vec<f64> = (0..icf_sz * k).map(|_| rng.uniform(-0.5, 0.5)).collect();
        let x: Vec<f64> = (0..d * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (na, nm) = (alphas.len(), means.len());
        let split = |p: &[f64]| {
            (
                p[..na].to_vec(),
                p[na..na + nm].to_vec(),
                p[na + nm..].to_vec(),
            )
        };
        let params: Vec<f64> = alphas.iter().chain(&means).chain(&icf).copied().collect();
        check_objective(
            "gmm",
            &params,
            |p| {
                let (a, m, q) = split(p);
                gmm_objective(d, k, &a, &m, &q, &x, 1.5, 2)
            },
            |p, v| {
                let (a, m, q) = split(p);
                let (da, dm, dq) = split(v);
                gmm_objective_jvp(d, k, &a, &m, &q, &x, 1.5, 2, &da, &dm, &dq)
            },
            |p| {
                let (a, m, q) = split(p);
                let (y, (ga, gm, gq)) = gmm_objective_value_and_grad(d, k, &a, &m, &q, &x, 1.5, 2);
                (y, ga.into_iter().chain(gm).chain(gq).collect())
            },
            (d * 100 + k * 10 + n) as u64,
        );
    }
}

#[test]
fn hand_skinning() {
    let mut rng = Rng::new(31);
    for (n_bones, n_verts) in [(1, 1), (3, 4), (5, 6)] {
        let parents: Vec<i64> = (0..n_bones as i64)
            .map(|b| if b == 0 { -1 } else { (b - 1) / 2 })
            .collect();
        let base_relatives: Vec<f64> = (0..12 * n_bones).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let weights: Vec<f64> = (0..n_verts * n_bones)
            .map(|_| rng.uniform(0.0, 1.0))
            .collect();
        let base_positions: Vec<f64> = (0..3 * n_verts).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let points: Vec<f64> = (0..3 * n_verts).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let theta: Vec<f64> = (0..3 * n_bones).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let data = (
            &parents,
            &base_relatives,
            &weights,
            &base_positions,
            &points,
        );
        check_objective(
            "hand",
            &theta,
            |t| hand_loss(t, data.0, data.1, data.2, data.3, data.4),
            |t, v| hand_loss_jvp(t, data.0, data.1, data.2, data.3, data.4, v),
            |t| hand_loss_value_and_grad(t, data.0, data.1, data.2, data.3, data.4),
            n_bones as u64,
        );
        // The residuals' Jacobian: a JVP column against a VJP row.
        let m = points.len();
        let mut err = vec![0.0; m];
        let mut derr = vec![0.0; m];
        let dir: Vec<f64> = (0..theta.len()).map(|_| rng.uniform(-1.0, 1.0)).collect();
        hand_residuals_jvp(
            &theta, data.0, data.1, data.2, data.3, data.4, &mut err, &dir, &mut derr,
        );
        let w: Vec<f64> = (0..m).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut out = vec![0.0; m];
        let g = hand_residuals_vjp(&theta, data.0, data.1, data.2, data.3, data.4, &mut out, &w);
        assert_eq!(out, err);
        let lhs: f64 = derr.iter().zip(&w).map(|(a, b)| a * b).sum();
        let rhs: f64 = g.iter().zip(&dir).map(|(a, b)| a * b).sum();
        assert_close("hand dot-product test", lhs, rhs, EXACT);
    }
}

#[test]
fn lstm() {
    let mut rng = Rng::new(37);
    for (l, b, c) in [(1, 2, 2), (2, 3, 4)] {
        let main_params: Vec<f64> = (0..8 * b * l).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let extra_params: Vec<f64> = (0..3 * b).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let sequence: Vec<f64> = (0..c * b)
            .map(|k| if k % b == (k / b) % b { 1.0 } else { 0.0 })
            .collect();
        let nm = main_params.len();
        let params: Vec<f64> = main_params.iter().chain(&extra_params).copied().collect();
        check_objective(
            "lstm",
            &params,
            |p| lstm_objective(l, b, &p[..nm], &p[nm..], &sequence),
            |p, v| lstm_objective_jvp(l, b, &p[..nm], &p[nm..], &sequence, &v[..nm], &v[nm..]),
            |p| {
                let (y, (gm, ge)) =
                    lstm_objective_value_and_grad(l, b, &p[..nm], &p[nm..], &sequence);
                (y, gm.into_iter().chain(ge).collect())
            },
            (l * 10 + b) as u64,
        );
    }
}

/// ADBench's angle-axis rotation (`objectives/hand.rs`) returns an array
/// early from inside an `if`, as ADBench writes it: forward mode against
/// central differences, reverse against forward, the identity's zero
/// derivative below the threshold.
#[test]
fn early_return_of_an_array() {
    let mut rng = Rng::new(9);
    for _ in 0..20 {
        let aa = [
            rng.uniform(-1.5, 1.5),
            rng.uniform(-1.5, 1.5),
            rng.uniform(-1.5, 1.5),
        ];
        let d = [
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
        ];
        let (r, dr) = hand::angle_axis_to_rotation_matrix_jvp(aa, d);
        assert_eq!(r, hand::angle_axis_to_rotation_matrix(aa));
        // Forward mode against central differences, reverse against forward.
        let h = 1e-6;
        let at = |s: f64| {
            hand::angle_axis_to_rotation_matrix([
                aa[0] + s * d[0],
                aa[1] + s * d[1],
                aa[2] + s * d[2],
            ])
        };
        let (p, q) = (at(h), at(-h));
        for i in 0..9 {
            assert_close("rotation JVP", dr[i], (p[i] - q[i]) / (2.0 * h), FD);
        }
        let w: [f64; 9] = std::array::from_fn(|i| (i as f64 * 0.7).sin());
        let (_, g) = hand::angle_axis_to_rotation_matrix_vjp(aa, w);
        let lhs: f64 = (0..9).map(|i| w[i] * dr[i]).sum();
        let rhs: f64 = (0..3).map(|i| g[i] * d[i]).sum();
        assert_close("dot-product test", lhs, rhs, EXACT);
    }
    // Below the threshold: the identity, whose derivative is zero.
    let (r, dr) = hand::angle_axis_to_rotation_matrix_jvp([1e-6, 0.0, 0.0], [1.0, 1.0, 1.0]);
    assert_eq!((r[0], r[4], r[8]), (1.0, 1.0, 1.0));
    assert_eq!(dr, [0.0; 9]);
}
