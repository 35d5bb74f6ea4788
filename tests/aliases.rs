//! Type aliases in signatures and bodies: the macro cannot see what
//! `Vec3` stands for, and takes its meaning from how the body uses it
//! (indexed: an array; in float arithmetic: a float). Checked against the
//! same functions with the types written out, exactly, and against
//! central differences.
// Index loops, as users write them.
#![allow(clippy::needless_range_loop)]
mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

type Real = f64;
type Vec3 = [f64; 3];
type Series = Vec<f64>;
type Signal = [f64];

#[differentiable]
fn dot(a: Vec3, b: Vec3) -> Real {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[differentiable]
fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// The scalar triple product `a · (b × c)`, the volume of the
/// parallelepiped on `a`, `b`, `c`, through the helpers above. (A body
/// that only passed `a`, `b`, `c` on would not say what `Vec3` is: an
/// error asks to write the type out, `tests/ui/types/alias_unused.rs`.)
#[differentiable]
fn volume(a: Vec3, b: Vec3, c: Vec3) -> Real {
    let bc: Vec3 = cross(b, c);
    if a[0] == 0.0 && a[1] == 0.0 && a[2] == 0.0 {
        return 0.0;
    }
    dot(a, bc)
}

/// The same with the types written out.
#[differentiable]
fn volume_plain(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> f64 {
    let bc: [f64; 3] = cross(b, c);
    if a[0] == 0.0 && a[1] == 0.0 && a[2] == 0.0 {
        return 0.0;
    }
    dot(a, bc)
}

/// A damped sum over a `&Series` and a `&Signal`, with a float alias.
#[differentiable]
fn damped(x: &Series, w: &Signal, decay: Real) -> Real {
    let mut s = 0.0;
    let mut f = 1.0;
    for i in 0..x.len() {
        s += f * x[i] * w[i];
        f *= decay;
    }
    s * decay.sqrt()
}

/// Rows of an alias: the mean squared distance to a centre.
#[differentiable]
fn spread(pos: &[Vec3], centre: Vec3) -> Real {
    let mut s = 0.0;
    for i in 0..pos.len() {
        for k in 0..3 {
            s += (pos[i][k] - centre[k]) * (pos[i][k] - centre[k]);
        }
    }
    s / pos.len() as f64
}

#[test]
fn rows_of_aliases() {
    let mut rng = Rng::new(53);
    let pos: Vec<Vec3> = (0..6)
        .map(|_| [0; 3].map(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let centre = [0.1, -0.2, 0.3];
    let (y, (gp, gc)): (Real, (Vec<Vec3>, Vec3)) = spread_value_and_grad(&pos, centre);
    assert_eq!(y, spread(&pos, centre));
    let n = pos.len() as f64;
    for k in 0..3 {
        let mean: f64 = pos.iter().map(|p| p[k]).sum::<f64>() / n;
        assert_close("d/dcentre", gc[k], 2.0 * (centre[k] - mean), EXACT);
        for (g, p) in gp.iter().zip(&pos) {
            assert_close("d/dpos", g[k], 2.0 * (p[k] - centre[k]) / n, EXACT);
        }
    }
}

#[test]
fn array_aliases() {
    let mut rng = Rng::new(51);
    for _ in 0..30 {
        let v: Vec<f64> = (0..9).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (a, b, c) = ([v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]);
        let (y, (ga, gb, gc)): (Real, (Vec3, Vec3, Vec3)) = volume_value_and_grad(a, b, c);
        let (y2, (pa, pb, pc)) = volume_plain_value_and_grad(a, b, c);
        assert_eq!((y, ga, gb, gc), (y2, pa, pb, pc));
        // d/da (a · (b × c)) = b × c.
        assert_eq!(ga, cross(b, c));
        let g: Vec<f64> = [ga, gb, gc].concat();
        check::gradient(
            |p| volume([p[0], p[1], p[2]], [p[3], p[4], p[5]], [p[6], p[7], p[8]]),
            &g,
            &v,
            FD,
        )
        .unwrap();
        // An alias output: forward mode gives its tangent in the alias.
        let (w, dw): (Vec3, Vec3) = cross_jvp(a, b, [1.0, 0.0, 0.0], [0.0; 3]);
        assert_eq!(w, cross(a, b));
        assert_eq!(dw, cross([1.0, 0.0, 0.0], b));
    }
}

#[test]
fn sequence_and_float_aliases() {
    let mut rng = Rng::new(52);
    let x: Series = (0..8).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let w: Vec<f64> = (0..8).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let (gx, gw, gd) = damped_grad(&x, &w, 0.7);
    let mut g = gx.clone();
    g.extend(&gw);
    g.push(gd);
    let mut p = x.clone();
    p.extend(&w);
    p.push(0.7);
    check::gradient(|p| damped(&p[..8].to_vec(), &p[8..16], p[16]), &g, &p, FD).unwrap();
}
