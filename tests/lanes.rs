//! `f_jvp_lanes`: forward mode with `K` tangent directions in one pass.
//!
//! Every lane must equal the one-direction JVP along that lane's direction
//! exactly (the same operations in the same order: lanes only add,
//! negate and scale by the same partials), on the ADBench objectives as
//! they are written (slices, arrays, output parameters, calls, index data
//! written in place) and on functions of every construct the macro takes:
//! branches, `match`, `while`, calls of methods and of custom rules, generic
//! scalars, casts of tangents between `f32` and `f64`. A few are checked
//! against finite differences too.
// The functions are reached through their siblings; index loops as
// numerical code is written.
#![allow(dead_code, clippy::needless_range_loop)]

mod common;
mod objectives;

use autodiff::prelude::*;
use common::*;
use objectives::*;

const K: usize = 4;

/// `K` random directions for `n` inputs: as lanes, and one `Vec` per lane.
fn directions(rng: &mut Rng, n: usize) -> (Vec<Lanes<f64, K>>, Vec<Vec<f64>>) {
    let lanes: Vec<Lanes<f64, K>> = (0..n)
        .map(|_| Lanes(std::array::from_fn(|_| rng.uniform(-1.0, 1.0))))
        .collect();
    let each = (0..K)
        .map(|k| lanes.iter().map(|l| l.0[k]).collect())
        .collect();
    (lanes, each)
}

fn scalar_directions(rng: &mut Rng) -> (Lanes<f64, K>, [f64; K]) {
    let l = Lanes(std::array::from_fn(|_| rng.uniform(-1.0, 1.0)));
    (l, l.0)
}

/// Lane `k` of a vector of lanes.
fn lane<const L: usize>(v: &[Lanes<f64, L>], k: usize) -> Vec<f64> {
    v.iter().map(|l| l.0[k]).collect()
}

fn data(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

#[test]
fn gmm_lanes_equal_one_direction_jvps() {
    let mut rng = Rng::new(1);
    let (d, k, n) = (3, 4, 7);
    let icf_sz = d * (d + 1) / 2;
    let (alphas, means, icf, x) = (
        data(&mut rng, k),
        data(&mut rng, k * d),
        data(&mut rng, k * icf_sz),
        data(&mut rng, n * d),
    );
    let (la, ea) = directions(&mut rng, k);
    let (lm, em) = directions(&mut rng, k * d);
    let (li, ei) = directions(&mut rng, k * icf_sz);
    let (v, t) = gmm_objective_jvp_lanes(d, k, &alphas, &means, &icf, &x, 1.5, 2, &la, &lm, &li);
    for j in 0..K {
        let (v1, t1) = gmm_objective_jvp(
            d, k, &alphas, &means, &icf, &x, 1.5, 2, &ea[j], &em[j], &ei[j],
        );
        assert_eq!(v, v1);
        assert_eq!(t.0[j], t1, "lane {j}");
    }
}

#[test]
fn bundle_adjustment_lanes_equal_one_direction_jvps() {
    let mut rng = Rng::new(2);
    let (n_cams, n_points, n_obs) = (2, 3, 5);
    let cams = data(&mut rng, 11 * n_cams);
    let points = data(&mut rng, 3 * n_points);
    let weights = data(&mut rng, n_obs);
    let obs: Vec<usize> = (0..n_obs)
        .flat_map(|i| [i % n_cams, i % n_points])
        .collect();
    let feats = data(&mut rng, 2 * n_obs);
    let (lc, ec) = directions(&mut rng, cams.len());
    let (lp, ep) = directions(&mut rng, points.len());
    let (lw, ew) = directions(&mut rng, weights.len());
    let (v, t) = ba_objective_jvp_lanes(&cams, &points, &weights, &obs, &feats, &lc, &lp, &lw);
    for j in 0..K {
        let (v1, t1) = ba_objective_jvp(
            &cams, &points, &weights, &obs, &feats, &ec[j], &ep[j], &ew[j],
        );
        assert_eq!(v, v1);
        assert_eq!(t.0[j], t1, "lane {j}");
    }
    // An array output and array parameters.
    let (la, _) = directions(&mut rng, 3);
    let (lb, _) = directions(&mut rng, 3);
    let (a, b) = ([0.3, -1.2, 0.7], [1.1, 0.4, -0.5]);
    let (la, lb): ([Lanes<f64, K>; 3], [Lanes<f64, K>; 3]) =
        (la.try_into().unwrap(), lb.try_into().unwrap());
    let (c, dc) = cross_jvp_lanes(a, b, la, lb);
    for j in 0..K {
        let (c1, dc1) = cross_jvp(
            a,
            b,
            std::array::from_fn(|i| la[i].0[j]),
            std::array::from_fn(|i| lb[i].0[j]),
        );
        assert_eq!(c, c1);
        assert_eq!(dc.map(|l| l.0[j]), dc1);
    }
}

#[test]
fn hand_lanes_equal_one_direction_jvps_and_finite_differences() {
    let mut rng = Rng::new(3);
    let (n_bones, n_verts) = (5, 6);
    let parents: Vec<i64> = (0..n_bones as i64).map(|b| b - 1).collect();
    let rel = data(&mut rng, 12 * n_bones);
    let weights = data(&mut rng, n_bones * n_verts);
    let base = data(&mut rng, 3 * n_verts);
    let points = data(&mut rng, 3 * n_verts);
    let theta = data(&mut rng, 3 * n_bones);
    let m = points.len();
    let (lt, et) = directions(&mut rng, theta.len());
    let mut err = vec![0.0; m];
    let mut derr = vec![Lanes::zero(); m];
    hand_residuals_jvp_lanes(
        &theta, &parents, &rel, &weights, &base, &points, &mut err, &lt, &mut derr,
    );
    for j in 0..K {
        let (mut err1, mut derr1) = (vec![0.0; m], vec![0.0; m]);
        hand_residuals_jvp(
            &theta, &parents, &rel, &weights, &base, &points, &mut err1, &et[j], &mut derr1,
        );
        assert_eq!(err, err1);
        assert_eq!(lane(&derr, j), derr1, "lane {j}");
        // Central differences along the lane's direction.
        let h = 1e-6;
        let at = |s: f64| {
            let th: Vec<f64> = theta.iter().zip(&et[j]).map(|(t, d)| t + s * d).collect();
            let mut e = vec![0.0; m];
            hand_residuals(&th, &parents, &rel, &weights, &base, &points, &mut e);
            e
        };
        let (p, q) = (at(h), at(-h));
        for i in 0..m {
            let fd = (p[i] - q[i]) / (2.0 * h);
            assert_close("hand lane against finite differences", derr[i].0[j], fd, FD);
        }
    }
}

#[test]
fn lstm_ode_and_determinant_lanes_equal_one_direction_jvps() {
    let mut rng = Rng::new(4);
    let (l, b, c) = (2, 3, 4);
    let main = data(&mut rng, 8 * b * l);
    let extra = data(&mut rng, 3 * b);
    let seq = data(&mut rng, c * b);
    let (lm, em) = directions(&mut rng, main.len());
    let (le, ee) = directions(&mut rng, extra.len());
    let (v, t) = lstm_objective_jvp_lanes(l, b, &main, &extra, &seq, &lm, &le);
    for j in 0..K {
        let (v1, t1) = lstm_objective_jvp(l, b, &main, &extra, &seq, &em[j], &ee[j]);
        assert_eq!((v, t.0[j]), (v1, t1), "lstm lane {j}");
    }
    // A `Vec` output, output parameters updated in place.
    let x = data(&mut rng, 5);
    let (lx, ex) = directions(&mut rng, 5);
    let (y, dy) = ode_jvp_lanes(&x, 3, &lx);
    for j in 0..K {
        let (y1, dy1) = ode_jvp(&x, 3, &ex[j]);
        assert_eq!(y, y1);
        assert_eq!(lane(&dy, j), dy1, "ode lane {j}");
    }
    // Index data written in place (`&mut [usize]`), recursion by minors.
    let a = data(&mut rng, 16);
    let (la, ea) = directions(&mut rng, 16);
    let (v, t) = det_by_minors_jvp_lanes(&a, 4, &la);
    for j in 0..K {
        let (v1, t1) = det_by_minors_jvp(&a, 4, &ea[j]);
        assert_eq!((v, t.0[j]), (v1, t1), "determinant lane {j}");
    }
}

// ---------------------------------------------------------------------------
// Constructs.

#[differentiable]
fn branches(x: f64, y: f64, n: i32) -> f64 {
    let mut s = 0.0;
    let mut k = 0;
    while k < n {
        s = s * 0.5 + (x * k as f64).sin();
        k += 1;
    }
    let r = match n {
        0 => 1.0,
        1 | 2 => x * y,
        _ => y.exp(),
    };
    if x > y { s + r } else { s - r * y }
}

#[differentiable]
fn pair(x: f64, y: f64) -> (f64, f64) {
    (x * y, x.hypot(y) - stop_gradient(x) * y)
}

/// A tangent cast between float types: every lane converted.
#[differentiable]
fn mixed(x: f64, y: f32) -> f64 {
    let z = (x as f32) * y;
    (z as f64).sin() + x
}

fn cube_rule(x: f64, dx: f64) -> (f64, f64) {
    (x * x * x, 3.0 * x * x * dx)
}

#[custom_jvp(cube_rule)]
fn cube(x: f64) -> f64 {
    x.powi(3)
}

fn norm_rule(x: &[f64], y: f64, dy: f64) -> Vec<f64> {
    x.iter().map(|v| dy * v / y).collect()
}

#[custom_vjp(norm_rule)]
fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[differentiable]
fn through_rules(x: &[f64], s: f64) -> f64 {
    cube(s) * norm(x) + mixed(s, 0.5)
}

#[differentiable]
fn generic<T: Float>(x: &[T], y: T) -> T {
    let mut acc = T::zero();
    for i in 0..x.len() {
        acc = acc + (x[i] * y).sin() / T::from(i + 1).unwrap();
    }
    acc * acc
}

struct Model {
    scale: f64,
}

/// On the `impl` block too: an associated function's siblings name each
/// other through `Self`.
#[differentiable]
impl Model {
    #[differentiable]
    fn energy(&self, x: &[f64]) -> f64 {
        let mut e = 0.0;
        for i in 0..x.len() {
            e += self.scale * x[i] * x[i];
        }
        e + Self::bias(x[0])
    }

    #[differentiable]
    fn bias(x: f64) -> f64 {
        x.tanh()
    }

    #[differentiable]
    fn total(&self, x: &[f64]) -> f64 {
        self.energy(x) * 2.0
    }
}

#[test]
fn constructs_lanes_equal_one_direction_jvps() {
    let mut rng = Rng::new(5);
    for trial in 0..20 {
        let (x, y) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        let (lx, ex) = scalar_directions(&mut rng);
        let (ly, ey) = scalar_directions(&mut rng);
        let n = trial % 5;
        let (v, t) = branches_jvp_lanes(x, y, n, lx, ly);
        let (p, tp) = pair_jvp_lanes(x, y, lx, ly);
        let yf = y as f32;
        let (m, tm) = mixed_jvp_lanes(x, yf, lx, Lanes([0.25f32, -1.0, 0.5, 2.0]));
        for j in 0..K {
            assert_eq!((v, t.0[j]), branches_jvp(x, y, n, ex[j], ey[j]));
            let (p1, tp1) = pair_jvp(x, y, ex[j], ey[j]);
            assert_eq!(p, p1);
            assert_eq!((tp.0.0[j], tp.1.0[j]), tp1);
            let dy = [0.25f32, -1.0, 0.5, 2.0][j];
            assert_eq!((m, tm.0[j]), mixed_jvp(x, yf, ex[j], dy));
        }

        let xs = data(&mut rng, 4);
        let (lxs, exs) = directions(&mut rng, 4);
        let (v, t) = through_rules_jvp_lanes(&xs, x, &lxs, lx);
        let (g, tg) = generic_jvp_lanes(&xs, y, &lxs, ly);
        let model = Model { scale: 0.7 };
        let (e, te) = model.total_jvp_lanes(&xs, &lxs);
        for j in 0..K {
            let (v1, t1) = through_rules_jvp(&xs, x, &exs[j], ex[j]);
            assert_eq!(v, v1);
            assert_close("custom rules, lanes", t.0[j], t1, EXACT);
            assert_eq!((g, tg.0[j]), generic_jvp(&xs, y, &exs[j], ey[j]));
            assert_eq!((e, te.0[j]), model.total_jvp(&xs, &exs[j]));
            assert_eq!(
                Model::bias_jvp_lanes(x, lx).1.0[j],
                Model::bias_jvp(x, ex[j]).1
            );
        }
    }
}

/// The generic function at `f32` has `f32` lanes.
#[test]
fn generic_lanes_at_f32() {
    let x = [0.5f32, -0.25, 1.5];
    let dx = [Lanes([1.0f32, 0.0]), Lanes([0.0, 1.0]), Lanes([0.0, 0.0])];
    let (v, t) = generic_jvp_lanes(&x, 0.75f32, &dx, Lanes::zero());
    let g = generic_grad(&x, 0.75f32);
    assert_eq!(v, generic(&x, 0.75f32));
    assert_close("f32 lane 0", t.0[0] as f64, g.0[0] as f64, F32);
    assert_close("f32 lane 1", t.0[1] as f64, g.0[1] as f64, F32);
}

/// The columns of a Jacobian, `K` at a time, from the unit seeds
/// `Lanes::seed`: equal to the reverse-mode rows.
#[test]
fn jacobian_by_lanes_equals_reverse_mode() {
    let mut rng = Rng::new(6);
    let x = data(&mut rng, 7);
    let n = x.len();
    let (y, _) = ode_jvp_lanes::<1>(&x, 2, &vec![Lanes::zero(); n]);
    let m = y.len();
    let mut jac = vec![vec![0.0; n]; m];
    for start in (0..n).step_by(K) {
        let seeds: Vec<Lanes<f64, K>> = (0..n).map(|i| Lanes::seed(i, start)).collect();
        let (_, cols) = ode_jvp_lanes(&x, 2, &seeds);
        for i in 0..m {
            for k in 0..K.min(n - start) {
                jac[i][start + k] = cols[i].0[k];
            }
        }
    }
    for i in 0..m {
        let mut e = vec![0.0; m];
        e[i] = 1.0;
        let (_, row) = ode_vjp(&x, 2, e);
        for j in 0..n {
            assert_close("Jacobian entry", jac[i][j], row[j], EXACT);
        }
    }
}

/// ADBench's hand objective, "complicated" variant: the Jacobian with
/// respect to the 26 pose parameters and the 2 barycentric coordinates of
/// each point, from one lanes pass of 28 lanes (the coordinates of all
/// points share two lanes: each residual depends on its own point's only),
/// against one-direction JVPs and central differences.
#[test]
fn adbench_hand_jacobian_in_one_pass() {
    use objectives::hand::*;
    let mut lcg = Lcg(11);
    let model = HandModel::new(&mut lcg);
    let n = 40;
    let (corr, points, us) = model.points(&mut lcg, n);
    let theta = lcg.vec(26, -0.5, 0.5);
    let m = 3 * n;
    let seeds_t: Vec<Lanes<f64, 28>> = (0..26).map(|i| Lanes::seed(i, 0)).collect();
    let seeds_u: Vec<Lanes<f64, 28>> = (0..2 * n).map(|i| Lanes::unit(26 + i % 2)).collect();
    let mut err = vec![0.0; m];
    let mut derr = vec![Lanes::zero(); m];
    let run = |theta: &[f64], us: &[f64], err: &mut [f64]| {
        model.complicated(theta, us, &corr, &points, err)
    };
    model.complicated_lanes(
        (&theta, &us),
        &corr,
        &points,
        &mut err,
        (&seeds_t, &seeds_u),
        &mut derr,
    );
    let mut e0 = vec![0.0; m];
    run(&theta, &us, &mut e0);
    assert_eq!(err, e0);
    for col in 0..28 {
        // The same direction, one at a time.
        let dt: Vec<f64> = seeds_t.iter().map(|l| l.0[col]).collect();
        let du: Vec<f64> = seeds_u.iter().map(|l| l.0[col]).collect();
        let (mut e1, mut d1) = (vec![0.0; m], vec![0.0; m]);
        model.complicated_jvp((&theta, &us), &corr, &points, &mut e1, (&dt, &du), &mut d1);
        assert_eq!(lane(&derr, col), d1, "column {col}");
        let h = 1e-6;
        let at = |s: f64| {
            let t: Vec<f64> = theta.iter().zip(&dt).map(|(a, d)| a + s * d).collect();
            let u: Vec<f64> = us.iter().zip(&du).map(|(a, d)| a + s * d).collect();
            let mut e = vec![0.0; m];
            run(&t, &u, &mut e);
            e
        };
        let (p, q) = (at(h), at(-h));
        for i in 0..m {
            let fd = (p[i] - q[i]) / (2.0 * h);
            assert_close(
                "hand Jacobian column against finite differences",
                derr[i].0[col],
                fd,
                FD,
            );
        }
    }
}

/// The example of `docs/api.md`, as written there.
#[differentiable(wrt(x))]
fn residuals(x: &[f64], data: &[f64]) -> Vec<f64> {
    let mut r = vec![0.0; data.len()];
    for i in 0..data.len() {
        r[i] = (x[0] * data[i]).sin() + x[1] * x[2] - data[i];
    }
    r
}

#[test]
fn the_documented_example() {
    let (x, data) = ([0.5, -1.0, 2.0], [0.1, 0.2, 0.3, 0.4]);
    let seeds: Vec<Lanes<f64, 2>> = (0..3).map(|i| Lanes::seed(i, 0)).collect();
    let (r, cols) = residuals_jvp_lanes(&x, &data, &seeds);
    let jac = jacobian_lanes::<2>(|dx| residuals_jvp_lanes(&x, &data, dx).1, 3);
    assert_eq!(jac[1][0], cols[1].0[0]);
    assert_eq!(r, residuals(&x, &data));
    // Against the closed form.
    for i in 0..data.len() {
        let want = [(x[0] * data[i]).cos() * data[i], x[2], x[1]];
        for j in 0..3 {
            assert_close("Jacobian entry", jac[i][j], want[j], EXACT);
        }
    }
}

thread_local! {
    static RULE_CALLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn counted_rule(x: &[f64], _y: f64, dy: f64) -> Vec<f64> {
    RULE_CALLS.with(|c| c.set(c.get() + 1));
    x.iter().map(|v| dy * 2.0 * v).collect()
}

/// `Σ x²` with a reverse rule that counts its calls.
#[custom_vjp(counted_rule)]
fn counted_sumsq(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

/// A reverse rule gives all the lanes from one call (its gradient, dotted
/// with each lane), not one call per lane.
#[test]
fn a_reverse_rule_is_called_once_for_all_lanes() {
    let x = [0.5, -1.5, 2.0];
    let d = [
        Lanes([1.0, 0.0, 2.0, -1.0]),
        Lanes([0.0, 1.0, 0.5, 0.0]),
        Lanes([0.0, 0.0, 1.0, 3.0]),
    ];
    RULE_CALLS.with(|c| c.set(0));
    let (v, t) = counted_sumsq_jvp_lanes(&x, &d);
    assert_eq!(RULE_CALLS.with(|c| c.get()), 1);
    assert_eq!(v, 6.5);
    for k in 0..4 {
        let want: f64 = (0..3).map(|i| 2.0 * x[i] * d[i].0[k]).sum();
        assert_close("lane", t.0[k], want, EXACT);
    }
}
