//! The generated gradients of GMM, ODE, logsumexp and least squares
//! against the hand-written ones (`tests/objectives/manual.rs`, the
//! benchmarks' reference) to 1e-10, relative to the largest component, at
//! several sizes each.

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
