//! The generated gradients of GMM, ODE, logsumexp and least squares, and
//! the generated Jacobian of ADBench's hand objective, against the
//! hand-written ones (`tests/objectives/manual.rs`, the benchmarks'
//! reference) to 1e-10, relative to the largest component, at several
//! sizes each.

mod objectives;
use objectives::*;

fn assert_agree(what: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let scale = expected.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= 1e-10 * scale,
            "{what}[{i}]: generated {a:e}, hand-written {b:e} (scale {scale:e})"
        );
    }
}

#[test]
fn gmm() {
    let mut r = Lcg(1);
    for (d, k, n) in [(2, 3, 10), (3, 5, 20), (10, 25, 50)] {
        let icf_sz = d * (d + 1) / 2;
        let (alphas, means, icf, x) = (
            r.vec(k, -1.0, 1.0),
            r.vec(d * k, -1.0, 1.0),
            r.vec(icf_sz * k, -0.5, 0.5),
            r.vec(d * n, -1.0, 1.0),
        );
        let ours = gmm_objective_grad(d, k, &alphas, &means, &icf, &x, 1.5, 2);
        let theirs = manual::gmm_objective_grad(d, k, &alphas, &means, &icf, &x, 1.5, 2);
        let what = format!("gmm d={d} k={k} n={n}");
        assert_agree(&format!("{what} alphas"), &ours.0, &theirs.0);
        assert_agree(&format!("{what} means"), &ours.1, &theirs.1);
        assert_agree(&format!("{what} icf"), &ours.2, &theirs.2);
    }
}

#[test]
fn ode() {
    let mut r = Lcg(2);
    for (n, s) in [(2, 3), (10, 10), (200, 20)] {
        let x = r.vec(n, 0.5, 1.5);
        assert_agree(
            &format!("ode n={n} s={s}"),
            &ode_sum_grad(&x, s),
            &manual::ode_sum_grad(&x, s),
        );
    }
}

#[test]
fn logsumexp_and_llsq() {
    let mut r = Lcg(3);
    for n in [1, 5, 1000] {
        let x = r.vec(n, -3.0, 3.0);
        assert_agree(
            &format!("logsumexp n={n}"),
            &logsumexp_grad(&x),
            &manual::logsumexp_grad(&x),
        );
    }
    for (m, n) in [(1, 1), (4, 7), (32, 256)] {
        let (w, x, y) = (
            r.vec(m, -1.0, 1.0),
            r.vec(m * n, -1.0, 1.0),
            r.vec(n, -1.0, 1.0),
        );
        assert_agree(
            &format!("llsq m={m} n={n}"),
            &llsq_grad(&w, &x, &y),
            &manual::llsq_grad(&w, &x, &y),
        );
    }
}

/// The residuals and the row-major Jacobian from a lanes pass (`derr`, a
/// row per residual) against the hand-written ones.
fn assert_jacobians_agree<const K: usize>(
    (err, derr): (&[f64], &[autodiff::Lanes<f64, K>]),
    (err_hand, jac): (&[f64], &[[f64; K]]),
) {
    assert_agree("hand residuals", err, err_hand);
    let generated: Vec<f64> = derr.iter().flat_map(|l| l.0).collect();
    let by_hand: Vec<f64> = jac.iter().flatten().copied().collect();
    assert_agree("hand Jacobian", &generated, &by_hand);
}

/// Pose parameters at three poses, the last with a global rotation below
/// the angle-axis threshold (where the rotation is the identity, of zero
/// derivative).
fn poses(r: &mut Lcg) -> Vec<Vec<f64>> {
    (0..3)
        .map(|pose| {
            let mut theta = r.vec(26, -0.8, 0.8);
            if pose == 2 {
                theta[..3].copy_from_slice(&[1e-5, -2e-5, 3e-5]);
            }
            theta
        })
        .collect()
}

/// The whole 3n x 26 Jacobian of the hand objective from one lanes pass
/// against ADBench's hand-written scheme, at three poses and two sizes.
#[test]
fn hand_jacobian() {
    use autodiff::Lanes;
    use objectives::hand::HandModel;
    let mut r = Lcg(7);
    let model = HandModel::new(&mut r);
    let seeds: Vec<Lanes<f64, 26>> = (0..26).map(Lanes::unit).collect();
    for n in [10, 200] {
        let (corr, points, _) = model.points(&mut r, n);
        let vertices: Vec<usize> = corr.iter().map(|&t| model.triangles[3 * t]).collect();
        for theta in poses(&mut r) {
            let (mut err, mut derr) = (vec![0.0; 3 * n], vec![Lanes::zero(); 3 * n]);
            model.simple_lanes(&theta, &vertices, &points, &mut err, &seeds, &mut derr);
            let (mut err_hand, mut jac) = (vec![0.0; 3 * n], vec![[0.0; 26]; 3 * n]);
            manual::hand_jacobian(&model, &theta, &vertices, &points, &mut err_hand, &mut jac);
            assert_jacobians_agree((&err, &derr), (&err_hand, &jac));
        }
    }
}

/// The complicated variant's 3n x 28 Jacobian (the barycentric coordinates
/// of all points sharing lanes 26 and 27) against the hand-written one, at
/// the same poses and sizes.
#[test]
fn hand_jacobian_complicated() {
    use autodiff::Lanes;
    use objectives::hand::HandModel;
    let mut r = Lcg(8);
    let model = HandModel::new(&mut r);
    let seeds_t: Vec<Lanes<f64, 28>> = (0..26).map(Lanes::unit).collect();
    for n in [10, 200] {
        let (corr, points, us) = model.points(&mut r, n);
        let seeds_u: Vec<Lanes<f64, 28>> = (0..2 * n).map(|i| Lanes::unit(26 + i % 2)).collect();
        for theta in poses(&mut r) {
            let (mut err, mut derr) = (vec![0.0; 3 * n], vec![Lanes::zero(); 3 * n]);
            let (seeds, ps) = ((&seeds_t[..], &seeds_u[..]), (&theta[..], &us[..]));
            model.complicated_lanes(ps, &corr, &points, &mut err, seeds, &mut derr);
            let (mut err_hand, mut jac) = (vec![0.0; 3 * n], vec![[0.0; 28]; 3 * n]);
            manual::hand_jacobian_complicated(&model, ps, &corr, &points, &mut err_hand, &mut jac);
            assert_jacobians_agree((&err, &derr), (&err_hand, &jac));
        }
    }
}
