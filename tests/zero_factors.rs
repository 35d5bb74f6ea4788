//! Derivatives scaled by a stored factor that is exactly zero are skipped
//! (`autodiff-macros/src/zeros.rs`): linear blend skinning with densely
//! stored weights, where a vertex follows two of six bones, the shape of
//! ADBench's hand model. Forward mode, vector forward mode and reverse mode
//! against central differences and each other, with weights mostly zero,
//! all zero and never zero, and the convention at a point where a skipped
//! tangent would have been infinite.
mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

/// The skinned vertices: each bone's 3x4 transform applied to the base
/// position, weighted.
#[differentiable(wrt(transforms))]
fn skin(transforms: &[f64], base: &[f64], weights: &[f64], skinned: &mut [f64]) {
    let n_bones = transforms.len() / 16;
    let n_verts = base.len() / 4;
    for b in 0..n_bones {
        for v in 0..n_verts {
            let w = weights[b * n_verts + v];
            for i in 0..3 {
                let mut s = 0.0;
                for k in 0..4 {
                    s += transforms[16 * b + 4 * i + k] * base[4 * v + k];
                }
                skinned[3 * v + i] += w * s;
            }
        }
    }
}

/// Bone transforms made from one angle per bone, skinned, and the squared
/// distance of the vertices to `target`.
#[differentiable(wrt(theta))]
fn fit(theta: &[f64], base: &[f64], weights: &[f64], target: &[f64]) -> f64 {
    let mut transforms = vec![0.0; 16 * theta.len()];
    for b in 0..theta.len() {
        for e in 0..16 {
            transforms[16 * b + e] = (theta[b] * (e as f64 + 1.0)).sin() + 0.1 * e as f64;
        }
    }
    let mut skinned = vec![0.0; target.len()];
    skin(&transforms, base, weights, &mut skinned);
    let mut e = 0.0;
    for i in 0..target.len() {
        let d = skinned[i] - target[i];
        e += d * d;
    }
    e
}

const BONES: usize = 6;
const VERTS: usize = 9;

/// Base positions, a target, and weights: `per_vertex` bones per vertex
/// (all of them when it is `BONES`, none when 0).
fn model(rng: &mut Rng, per_vertex: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let base: Vec<f64> = (0..VERTS)
        .flat_map(|_| {
            let p = [0; 3].map(|_| rng.uniform(-1.0, 1.0));
            [p[0], p[1], p[2], 1.0]
        })
        .collect();
    let target = (0..3 * VERTS).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut weights = vec![0.0; BONES * VERTS];
    for v in 0..VERTS {
        let first = (rng.uniform(0.0, BONES as f64) as usize).min(BONES - 1);
        for j in 0..per_vertex {
            weights[((first + j) % BONES) * VERTS + v] = rng.uniform(0.1, 1.0);
        }
    }
    (base, target, weights)
}

/// The gradient against central differences, the JVP against the
/// gradient, and each lane of the vector JVP against the JVP along it, to
/// the bit.
fn check_fit(seed: u64, per_vertex: usize) {
    let mut rng = Rng::new(seed);
    for _ in 0..10 {
        let (base, target, weights) = model(&mut rng, per_vertex);
        let theta: Vec<f64> = (0..BONES).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let g = fit_grad(&theta, &base, &weights, &target);
        check::gradient(|t: &[f64]| fit(t, &base, &weights, &target), &g, &theta, FD).unwrap();
        let dirs: Vec<Vec<f64>> = (0..4)
            .map(|_| (0..BONES).map(|_| rng.uniform(-1.0, 1.0)).collect())
            .collect();
        let lanes: Vec<Lanes<f64, 4>> = (0..BONES)
            .map(|j| Lanes::from([dirs[0][j], dirs[1][j], dirs[2][j], dirs[3][j]]))
            .collect();
        let (y4, d4) = fit_jvp_lanes(&theta, &base, &weights, &target, &lanes);
        for (k, dir) in dirs.iter().enumerate() {
            let (y, d) = fit_jvp(&theta, &base, &weights, &target, dir);
            assert_eq!(y, y4);
            assert_eq!(d.to_bits(), d4.0[k].to_bits(), "lane {k}");
            let dot: f64 = g.iter().zip(dir).map(|(a, b)| a * b).sum();
            assert_close("JVP against the gradient", d, dot, EXACT);
        }
        if per_vertex == 0 {
            assert!(
                g.iter().all(|&x| x == 0.0),
                "no weights, no gradient: {g:?}"
            );
        }
    }
}

#[test]
fn weights_mostly_zero() {
    check_fit(1, 2);
}

#[test]
fn weights_never_zero() {
    check_fit(2, BONES);
}

#[test]
fn weights_all_zero() {
    check_fit(3, 0);
}

/// The skinning itself, an output parameter: its JVP against differences of
/// each vertex coordinate, and the VJP against the JVP (dot-product test).
#[test]
fn skinning_against_differences() {
    let mut rng = Rng::new(4);
    for _ in 0..10 {
        let (base, _, weights) = model(&mut rng, 2);
        let t: Vec<f64> = (0..16 * BONES).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let dt: Vec<f64> = (0..16 * BONES).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut out = vec![0.0; 3 * VERTS];
        let mut dout = vec![0.0; 3 * VERTS];
        skin_jvp(&t, &base, &weights, &mut out, &dt, &mut dout);
        for i in 0..3 * VERTS {
            let along = |s: f64| {
                let p: Vec<f64> = t.iter().zip(&dt).map(|(a, b)| a + s * b).collect();
                let mut o = vec![0.0; 3 * VERTS];
                skin(&p, &base, &weights, &mut o);
                o[i]
            };
            let h = 1e-5;
            assert_close("JVP", dout[i], (along(h) - along(-h)) / (2.0 * h), FD);
        }
        let w: Vec<f64> = (0..3 * VERTS).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut o = vec![0.0; 3 * VERTS];
        let gt = skin_vjp(&t, &base, &weights, &mut o, &mut w.clone());
        let lhs: f64 = w.iter().zip(&dout).map(|(a, b)| a * b).sum();
        let rhs: f64 = gt.iter().zip(&dt).map(|(a, b)| a * b).sum();
        assert_close("dot product", lhs, rhs, EXACT);
    }
}

/// The strong zero: a term weighted by a stored zero contributes nothing,
/// even where its own derivative is infinite (`sqrt` at 0), in forward
/// mode, vector forward mode and reverse mode alike. A nonzero weight keeps
/// the infinite derivative (`docs/conventions.md`).
#[differentiable(wrt(x))]
fn masked_roots(x: &[f64], mask: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += mask[i] * (x[i].sqrt() + x[i] * x[i] + x[i].sin() + x[i].exp());
    }
    s
}

#[test]
fn a_stored_zero_hides_an_infinite_derivative() {
    let (x, mask) = ([0.0, 0.25], [0.0, 1.0]);
    let finite = 0.5 / 0.25f64.sqrt() + 0.5 + 0.25f64.cos() + 0.25f64.exp();
    let g = masked_roots_grad(&x, &mask);
    assert_eq!(g[0], 0.0);
    assert_close("the second", g[1], finite, EXACT);
    let (value, d) = masked_roots_jvp(&x, &mask, &[1.0, 0.0]);
    assert_eq!(value, masked_roots(&x, &mask));
    assert_eq!(d, 0.0);
    assert_close(
        "along the second",
        masked_roots_jvp(&x, &mask, &[0.0, 1.0]).1,
        finite,
        EXACT,
    );
    let lanes = [Lanes::from([1.0, 0.0]), Lanes::from([0.0, 1.0])];
    let (_, d) = masked_roots_jvp_lanes(&x, &mask, &lanes);
    assert_eq!(d.0[0], 0.0);
    assert_close("lane 1", d.0[1], finite, EXACT);
    // A weight that is not zero: the derivative of `sqrt` at 0.
    assert_eq!(masked_roots_grad(&[0.0], &[2.0])[0], f64::INFINITY);
    assert_eq!(masked_roots_jvp(&[0.0], &[2.0], &[1.0]).1, f64::INFINITY);
}

/// A weighted term added into an output with a term of its own: the
/// addition is not zero where the weight is, so only the product is
/// skipped, not the addition.
#[differentiable(wrt(x))]
fn weighted_into(x: &[f64], w: &[f64], out: &mut [f64]) {
    for i in 0..x.len() {
        out[i] += w[i] * (x[i].sin() * x[i] + (x[i] * x[i]).exp() - x[i].cos()) + 2.0 * x[i];
    }
}

#[test]
fn a_sum_with_another_term_is_not_skipped() {
    let mut rng = Rng::new(5);
    for _ in 0..10 {
        let x: Vec<f64> = (0..6).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let w = [0.0, 1.5, 0.0, -0.5, 0.0, 2.0];
        let dx: Vec<f64> = (0..6).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (mut out, mut dout) = (vec![0.5; 6], vec![0.0; 6]);
        weighted_into_jvp(&x, &w, &mut out, &dx, &mut dout);
        let mut primal = vec![0.5; 6];
        weighted_into(&x, &w, &mut primal);
        assert_eq!(out, primal);
        for i in 0..6 {
            let term = |t: f64| w[i] * (t.sin() * t + (t * t).exp() - t.cos()) + 2.0 * t;
            let h = 1e-5;
            let fd = (term(x[i] + h * dx[i]) - term(x[i] - h * dx[i])) / (2.0 * h);
            assert_close("JVP", dout[i], fd, FD);
        }
        let ybar: Vec<f64> = (0..6).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let gx = weighted_into_vjp(&x, &w, &mut [0.5; 6], &mut ybar.clone());
        let lhs: f64 = ybar.iter().zip(&dout).map(|(a, b)| a * b).sum();
        let rhs: f64 = gx.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert_close("dot product", lhs, rhs, EXACT);
    }
}

/// Generic over the scalar: at `Dual<f64>`, a weight may be zero in value
/// with a tangent, which compares equal to zero; its derivatives are not
/// skipped there.
#[differentiable(wrt(x))]
fn weighted_generic<T: num_traits::Float>(x: &[T], w: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() {
        s = s + w[i] * (x[i].sin() + x[i] * x[i] + x[i].exp() + x[i].cos());
    }
    s
}

#[test]
fn a_zero_weight_with_a_tangent_is_not_skipped() {
    use autodiff::Dual;
    let x = [0.3, -0.7, 1.1];
    let w = [0.0, 2.0, 0.5];
    let term_d = |t: f64| t.cos() + 2.0 * t + t.exp() - t.sin();
    for j in 0..3 {
        // d/dw_j of the gradient with respect to x: e_j scaled by the
        // term's derivative at x_j.
        let xd: Vec<Dual<f64>> = x.iter().map(|&v| Dual::constant(v)).collect();
        let wd: Vec<Dual<f64>> = (0..3)
            .map(|i| Dual::new(w[i], if i == j { 1.0 } else { 0.0 }))
            .collect();
        let g = weighted_generic_grad(&xd, &wd);
        for i in 0..3 {
            let want = if i == j { term_d(x[i]) } else { 0.0 };
            assert_close("mixed second derivative", g[i].eps, want, EXACT);
            assert_close("gradient", g[i].re, w[i] * term_d(x[i]), EXACT);
        }
        let (v, d) = weighted_generic_jvp(&xd, &wd, &[Dual::constant(1.0); 3]);
        assert_eq!(v, weighted_generic(&xd, &wd));
        assert_close("mixed, forward", d.eps, term_d(x[j]), EXACT);
    }
}
