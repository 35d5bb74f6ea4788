//! Structs of parameters: `#[derive(Differentiable)]` and `wrt(p)` on a
//! struct parameter. The struct's gradient (its tangent type) against the
//! gradient of the same function written over flat slices, the JVP along a
//! tangent against the gradient, the tangent's operations, and
//! `examples/mlp.rs` training.

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::prelude::*;

#[allow(dead_code)]
#[path = "../examples/mlp.rs"]
mod mlp;

use mlp::{MlpTangent, loss, loss_grad, loss_jvp, loss_value_and_grad, loss_vjp};

/// The same loss with the parameters as flat slices.
#[differentiable(wrt(w1, b1, w2, b2))]
#[allow(clippy::too_many_arguments)]
fn flat_loss(
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: f64,
    d: usize,
    h: usize,
    xs: &[f64],
    ys: &[f64],
) -> f64 {
    let mut total = 0.0;
    for s in 0..ys.len() {
        let mut out = b2;
        for j in 0..h {
            let mut a = b1[j];
            for i in 0..d {
                a += w1[j * d + i] * xs[s * d + i];
            }
            out += w2[j] * a.tanh();
        }
        let e = out - ys[s];
        total += e * e;
    }
    total / ys.len() as f64
}

#[test]
fn struct_gradient_equals_the_flat_one() {
    let (xs, ys) = mlp::data();
    let p = mlp::init(8);
    let g: MlpTangent = loss_grad(&p, &xs, &ys);
    let (gw1, gb1, gw2, gb2) = flat_loss_grad(&p.w1, &p.b1, &p.w2, p.b2, 2, 8, &xs, &ys);
    assert_eq!((g.w1, g.b1, g.w2, g.b2), (gw1, gb1, gw2, gb2));
    let (v, g2) = loss_value_and_grad(&p, &xs, &ys);
    assert_eq!(v, loss(&p, &xs, &ys));
    assert_eq!(v, flat_loss(&p.w1, &p.b1, &p.w2, p.b2, 2, 8, &xs, &ys));
    let (v3, g3) = loss_vjp(&p, &xs, &ys, 2.0);
    assert_eq!(v3, v);
    assert_eq!(g3, g2.scale(2.0));
}

#[test]
fn jvp_along_a_tangent_is_the_gradient_dotted_with_it() {
    let (xs, ys) = mlp::data();
    let p = mlp::init(8);
    let g = loss_grad(&p, &xs, &ys);
    let mut r = mlp::Lcg(3);
    let mut dp = MlpTangent::zero_like(&p);
    for v in dp
        .w1
        .iter_mut()
        .chain(dp.b1.iter_mut())
        .chain(dp.w2.iter_mut())
    {
        *v = r.uniform(-1.0, 1.0);
    }
    dp.b2 = 0.3;
    let (value, d) = loss_jvp(&p, &xs, &ys, &dp);
    assert_eq!(value, loss(&p, &xs, &ys));
    let dot = g.dot(&dp);
    assert!((d - dot).abs() < 1e-12 * (1.0 + dot.abs()), "{d} {dot}");
    // And against central differences along dp.
    let eps = 1e-6;
    let mut up = p.clone();
    up.step(&dp, eps);
    let mut down = p.clone();
    down.step(&dp, -eps);
    let fd = (loss(&up, &xs, &ys) - loss(&down, &xs, &ys)) / (2.0 * eps);
    assert!((d - fd).abs() < 1e-7 * (1.0 + fd.abs()), "{d} {fd}");
}

#[test]
fn tangent_operations() {
    let p = mlp::init(3);
    let z = MlpTangent::zero_like(&p);
    assert_eq!((z.w1.len(), z.b1.len(), z.w2.len(), z.b2), (6, 3, 3, 0.0));
    let mut a = z.clone();
    a.w1[2] = 1.5;
    a.b2 = -2.0;
    let mut b = z.clone();
    b.w1[2] = 2.0;
    b.w2[0] = 4.0;
    b.b2 = 0.5;
    let s = a.add(&b);
    assert_eq!((s.w1[2], s.w2[0], s.b2), (3.5, 4.0, -1.5));
    let t = a.scale(-2.0);
    assert_eq!((t.w1[2], t.b2), (-3.0, 4.0));
    assert_eq!(a.dot(&b), 1.5 * 2.0 - 2.0 * 0.5);
    let mut q = p.clone();
    q.step(&b, 0.5);
    assert_eq!(q.w2[0], p.w2[0] + 2.0);
    assert_eq!((q.inputs, q.hidden), (p.inputs, p.hidden));
}

#[test]
fn mlp_example_trains() {
    let (xs, ys) = mlp::data();
    let mut p = mlp::init(16);
    let losses = mlp::train(&mut p, &xs, &ys, 300, 0.2);
    let last = loss(&p, &xs, &ys);
    assert!(losses[0] / last >= 10.0, "loss {} -> {last}", losses[0]);
}

/// A struct with an array field, by value, next to a float parameter
/// differentiated too.
#[derive(Differentiable, Clone, Copy, Debug)]
struct Point {
    xyz: [f64; 3],
    weight: f64,
    #[no_diff]
    id: u32,
}

#[differentiable(wrt(p, s))]
fn weighted(p: Point, s: f64) -> f64 {
    let r = (p.xyz[0] * p.xyz[0] + p.xyz[1] * p.xyz[1] + p.xyz[2] * p.xyz[2]).sqrt();
    p.weight * (s * r).sin() + p.id as f64
}

#[test]
fn array_fields_by_value_and_another_parameter() {
    let p = Point {
        xyz: [0.3, -0.4, 1.2],
        weight: 1.7,
        id: 3,
    };
    let s = 0.8;
    let (g, gs): (PointTangent, f64) = weighted_grad(p, s);
    let r = (0.09f64 + 0.16 + 1.44).sqrt();
    let c = (s * r).cos();
    for k in 0..3 {
        let want = p.weight * c * s * p.xyz[k] / r;
        assert!((g.xyz[k] - want).abs() < 1e-14, "{k}");
    }
    assert!((g.weight - (s * r).sin()).abs() < 1e-15);
    assert!((gs - p.weight * c * r).abs() < 1e-14);
    assert_eq!(weighted(p, s), weighted_value_and_grad(p, s).0);
}

/// Lifetimes and a `where` clause on a function with a struct parameter,
/// and a `#[cfg]` that keeps it.
#[cfg(not(any()))]
#[differentiable(wrt(p))]
fn with_lifetime<'a>(p: &'a Point, scale: &'a [f64]) -> f64
where
    'a: 'a,
{
    p.weight * scale[0] + p.xyz[1]
}

#[test]
fn lifetimes_and_cfg() {
    let p = Point {
        xyz: [1.0, 2.0, 3.0],
        weight: 0.5,
        id: 0,
    };
    let g = with_lifetime_grad(&p, &[4.0]);
    assert_eq!((g.xyz, g.weight), ([0.0, 1.0, 0.0], 4.0));
    assert_eq!(with_lifetime(&p, &[4.0]), 4.0);
}

/// Methods: `#[differentiable]` on the `impl` block lets a method's
/// attribute see the type of `self`, so `wrt(self)` differentiates with
/// respect to its fields (`wrt(self, s)` picks another parameter too),
/// and an associated function's siblings name each other through `Self`.
#[differentiable]
impl Point {
    #[differentiable(wrt(self, s))]
    fn energy(&self, s: f64, offsets: &[f64]) -> f64 {
        let r = (self.xyz[0] * self.xyz[0] + self.xyz[1] * self.xyz[1]).sqrt();
        self.weight * (s * r).sin() + offsets[self.id as usize] * self.xyz[2]
    }

    #[differentiable(wrt(self))]
    fn scaled(self, k: f64) -> f64 {
        k * self.weight * self.xyz[0] + Self::shift(self.xyz[1])
    }

    #[differentiable]
    fn shift(x: f64) -> f64 {
        x.tanh() * 2.0
    }
}

#[test]
fn methods_differentiate_with_respect_to_self() {
    let p = Point {
        xyz: [0.3, -0.4, 1.2],
        weight: 1.7,
        id: 1,
    };
    let (s, offsets) = (0.8, [0.5, -2.0]);
    let (g, gs): (PointTangent, f64) = p.energy_grad(s, &offsets);
    // The same through the free function with the struct parameter.
    let r = (0.09f64 + 0.16).sqrt();
    let c = (s * r).cos();
    for k in 0..2 {
        let want = p.weight * c * s * p.xyz[k] / r;
        assert!((g.xyz[k] - want).abs() < 1e-14, "{k}");
    }
    assert_eq!(g.xyz[2], offsets[1]);
    assert!((g.weight - (s * r).sin()).abs() < 1e-15);
    assert!((gs - p.weight * c * r).abs() < 1e-14);
    let (v, _) = p.energy_value_and_grad(s, &offsets);
    assert_eq!(v, p.energy(s, &offsets));
    // The JVP along a tangent is the gradient dotted with it.
    let t = PointTangent {
        xyz: [0.1, 0.2, -0.3],
        weight: 0.7,
    };
    let (_, d) = p.energy_jvp(s, &offsets, &t, 0.25);
    assert!((d - (g.dot(&t) + gs * 0.25)).abs() < 1e-14);
    // By value, and an associated function called through `Self`.
    let g2 = p.scaled_grad(3.0);
    let want = [3.0 * p.weight, 2.0 * (1.0 - (-0.4f64).tanh().powi(2)), 0.0];
    for k in 0..3 {
        assert!((g2.xyz[k] - want[k]).abs() < 1e-14, "{k}");
    }
    assert!((g2.weight - 3.0 * p.xyz[0]).abs() < 1e-15);
    assert_eq!(Point::shift_grad(0.5), 2.0 * (1.0 - 0.5f64.tanh().powi(2)));
    assert_eq!(p.scaled(3.0), p.scaled_value_and_grad(3.0).0);
}

// Nested structs, and structs passed on to other differentiable functions.

#[derive(Differentiable, Clone, Debug)]
struct Layer {
    w: Vec<f64>,
    b: Vec<f64>,
    #[no_diff]
    inputs: usize,
}

#[derive(Differentiable, Clone, Debug)]
struct Net {
    l1: Layer,
    l2: Layer,
    scale: f64,
    #[no_diff]
    tag: u32,
}

/// `Σ_j tanh(w_j · x + b_j)`.
#[differentiable(wrt(l))]
fn layer_sum(l: &Layer, x: &[f64]) -> f64 {
    let mut total = 0.0;
    for j in 0..l.b.len() {
        let mut a = l.b[j];
        for i in 0..l.inputs {
            a += l.w[j * l.inputs + i] * x[i];
        }
        total += a.tanh();
    }
    total
}

#[differentiable(wrt(p))]
fn net_loss(p: &Net, x: &[f64]) -> f64 {
    let s = layer_sum(&p.l1, x) + layer_sum(&p.l2, x) * 0.5;
    p.scale * s + p.l1.w[0] * p.l2.b[1] + p.tag as f64
}

/// The same over flat slices.
#[differentiable(wrt(w1, b1, w2, b2, scale))]
#[allow(clippy::too_many_arguments)]
fn flat_net_loss(
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
    scale: f64,
    inputs: usize,
    tag: u32,
    x: &[f64],
) -> f64 {
    let mut s1 = 0.0;
    for j in 0..b1.len() {
        let mut a = b1[j];
        for i in 0..inputs {
            a += w1[j * inputs + i] * x[i];
        }
        s1 += a.tanh();
    }
    let mut s2 = 0.0;
    for j in 0..b2.len() {
        let mut a = b2[j];
        for i in 0..inputs {
            a += w2[j * inputs + i] * x[i];
        }
        s2 += a.tanh();
    }
    scale * (s1 + s2 * 0.5) + w1[0] * b2[1] + tag as f64
}

/// `layer_sum` as a method.
#[differentiable]
impl Layer {
    #[differentiable(wrt(self))]
    fn sum(&self, x: &[f64]) -> f64 {
        layer_sum(self, x)
    }
}

/// `net_loss` written with the layers' method, called from a free
/// function on nested fields (`p.l1.sum(x)`), outside `Layer`'s block.
#[differentiable(wrt(p))]
fn net_loss_by_methods(p: &Net, x: &[f64]) -> f64 {
    let s = p.l1.sum(x) + p.l2.sum(x) * 0.5;
    p.scale * s + p.l1.w[0] * p.l2.b[1] + p.tag as f64
}

/// A two-link arm's reach.
#[derive(Differentiable, Clone, Debug)]
struct Arm {
    len: f64,
    angle: f64,
}

#[differentiable]
impl Arm {
    #[differentiable(wrt(self))]
    fn reach(&self) -> f64 {
        self.len * self.angle.cos()
    }
}

/// A method of `Point` called on a parameter, with `wrt(self, s)`, and one
/// of `Arm` on a struct variable, from a free function.
#[differentiable(wrt(p, s))]
fn two_energies(p: &Point, s: f64, offsets: &[f64]) -> f64 {
    let mut arm = Arm {
        len: p.weight,
        angle: s * p.xyz[1],
    };
    arm.len *= s;
    p.energy(s, offsets) + arm.reach() * p.xyz[0]
}

/// A whole struct passed on, from a method.
#[differentiable(wrt(p))]
fn net_penalty(p: &Net) -> f64 {
    p.scale * p.scale + p.l2.w[2] * p.l2.w[2]
}

#[differentiable]
impl Net {
    #[differentiable(wrt(self))]
    fn regularised(&self, x: &[f64]) -> f64 {
        net_loss(self, x) + net_penalty(self)
    }
}

fn net() -> Net {
    let layer = |k: f64, n: usize| Layer {
        w: (0..3 * n).map(|i| (i as f64 * 0.7 + k).sin()).collect(),
        b: (0..n).map(|i| (i as f64 * 0.3 - k).cos()).collect(),
        inputs: 3,
    };
    Net {
        l1: layer(0.1, 4),
        l2: layer(0.9, 2),
        scale: 1.3,
        tag: 2,
    }
}

#[test]
fn nested_structs_and_calls_equal_the_flat_gradient() {
    let p = net();
    let x = [0.4, -0.2, 0.9];
    let g: NetTangent = net_loss_grad(&p, &x);
    let (gw1, gb1, gw2, gb2, gs) =
        flat_net_loss_grad(&p.l1.w, &p.l1.b, &p.l2.w, &p.l2.b, p.scale, 3, p.tag, &x);
    assert_eq!(
        (&g.l1.w, &g.l1.b, &g.l2.w, &g.l2.b, g.scale),
        (&gw1, &gb1, &gw2, &gb2, gs)
    );
    let flat = flat_net_loss(&p.l1.w, &p.l1.b, &p.l2.w, &p.l2.b, p.scale, 3, p.tag, &x);
    assert_eq!(net_loss(&p, &x), flat);
    assert_eq!(net_loss_value_and_grad(&p, &x).0, flat);
    // The JVP along a tangent is the gradient dotted with it.
    let mut t = NetTangent::zero_like(&p);
    t.l1.w[1] = 0.5;
    t.l2.b[0] = -1.5;
    t.scale = 0.25;
    let (_, d) = net_loss_jvp(&p, &x, &t);
    assert!((d - g.dot(&t)).abs() < 1e-13);
    // Nested tangents step, add and scale.
    let mut q = p.clone();
    q.step(&g, -0.1);
    assert_eq!(q.l1.w[0], p.l1.w[0] - 0.1 * g.l1.w[0]);
    assert_eq!(g.add(&g), g.scale(2.0));
    // A method passing `self` on to two functions.
    let gm = p.regularised_grad(&x);
    let mut want = g.clone();
    want.scale += 2.0 * p.scale;
    want.l2.w[2] += 2.0 * p.l2.w[2];
    assert!(gm.add(&want.scale(-1.0)).dot(&gm.add(&want.scale(-1.0))) < 1e-26);
    assert_eq!(p.regularised(&x), net_loss(&p, &x) + net_penalty(&p));
}

#[test]
fn methods_called_outside_their_impl() {
    let p = net();
    let x = [0.4, -0.2, 0.9];
    // The same operations: the same value and gradient, exactly.
    assert_eq!(net_loss_by_methods(&p, &x), net_loss(&p, &x));
    let (g, want) = (net_loss_by_methods_grad(&p, &x), net_loss_grad(&p, &x));
    assert_eq!(
        (&g.l1.w, &g.l1.b, &g.l2.w, &g.l2.b, g.scale),
        (&want.l1.w, &want.l1.b, &want.l2.w, &want.l2.b, want.scale)
    );
    assert_eq!(p.l1.sum_grad(&x).w, layer_sum_grad(&p.l1, &x).w);
    // On a parameter and on a struct variable: against differences of
    // every float field and of `s`.
    let q = Point {
        xyz: [0.3, -0.4, 1.2],
        weight: 1.7,
        id: 1,
    };
    let offsets = [0.5, -2.0];
    let s = 0.8;
    let (g, gs) = two_energies_grad(&q, s, &offsets);
    let at = |v: &[f64]| {
        let r = Point {
            xyz: [v[0], v[1], v[2]],
            weight: v[3],
            id: 1,
        };
        two_energies(&r, v[4], &offsets)
    };
    let v = [q.xyz[0], q.xyz[1], q.xyz[2], q.weight, s];
    let mut grad = g.xyz.to_vec();
    grad.extend([g.weight, gs]);
    autodiff::check::gradient(at, &grad, &v, common::FD).unwrap();
    let arm = Arm {
        len: 2.0,
        angle: 0.5,
    };
    assert_eq!(arm.reach_grad().len, 0.5f64.cos());
}

/// `f32` fields, next to `f64` ones.
#[derive(Differentiable, Clone, Debug)]
struct Mixed {
    w: Vec<f32>,
    a: [f32; 2],
    b: f32,
    c: f64,
}

#[differentiable(wrt(m))]
fn mixed_loss(m: &Mixed, x: f32) -> f32 {
    let mut s = m.b * x;
    for i in 0..m.w.len() {
        s += (m.w[i] * x).sin();
    }
    s + m.a[0] * m.a[1] + (m.c as f32) * x
}

#[test]
fn f32_fields() {
    let m = Mixed {
        w: vec![0.5, -0.25, 1.5],
        a: [2.0, -3.0],
        b: 0.75,
        c: 1.25,
    };
    let x = 0.8f32;
    let g = mixed_loss_grad(&m, x);
    for i in 0..3 {
        let want = (m.w[i] * x).cos() * x;
        assert!((g.w[i] - want).abs() < 1e-6, "{i}");
    }
    assert_eq!(g.a, [-3.0, 2.0]);
    assert_eq!((g.b, g.c), (x, x as f64));
    // The tangent operations convert their f64 scalars.
    let mut n = m.clone();
    n.step(&g, -0.5);
    assert_eq!(n.b, m.b - 0.5 * x);
    let doubled = g.scale(2.0);
    assert_eq!(
        (doubled.b, doubled.a),
        (2.0 * g.b, [2.0 * g.a[0], 2.0 * g.a[1]])
    );
    let dot: f64 = g.w.iter().map(|&v| (v * v) as f64).sum::<f64>()
        + g.a.iter().map(|&v| (v * v) as f64).sum::<f64>()
        + (g.b * g.b) as f64
        + g.c * g.c;
    assert!((g.dot(&g) - dot).abs() < 1e-12 * dot);
    assert_eq!(mixed_loss_value_and_grad(&m, x).0, mixed_loss(&m, x));
}

// Struct outputs: a state stepped by a function returning it.

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct State {
    pos: [f64; 2],
    vel: Vec<f64>,
    energy: f64,
}

/// One explicit Euler step of a pendulum-like system.
#[differentiable(wrt(s, dt))]
fn euler_step(s: &State, dt: f64) -> State {
    let mut vel = vec![0.0; 2];
    for i in 0..2 {
        vel[i] = s.vel[i] - dt * s.pos[i].sin();
    }
    State {
        pos: [s.pos[0] + dt * s.vel[0], s.pos[1] + dt * s.vel[1]],
        vel,
        energy: 0.5 * (s.vel[0] * s.vel[0] + s.vel[1] * s.vel[1]),
    }
}

/// The same step, its leaves as a tuple.
#[differentiable(wrt(p, v, dt))]
fn flat_step(p: [f64; 2], v: &[f64], dt: f64) -> ([f64; 2], Vec<f64>, f64) {
    let mut vel = vec![0.0; 2];
    for i in 0..2 {
        vel[i] = v[i] - dt * p[i].sin();
    }
    (
        [p[0] + dt * v[0], p[1] + dt * v[1]],
        vel,
        0.5 * (v[0] * v[0] + v[1] * v[1]),
    )
}

/// A `#[no_diff]` field in the output: the value is the function's own.
#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Counted {
    x: f64,
    #[no_diff]
    steps: u32,
}

#[differentiable]
impl Counted {
    #[differentiable(wrt(self))]
    fn advance(&self, rate: f64) -> Self {
        Self {
            x: self.x * (1.0 + rate),
            steps: self.steps + 1,
        }
    }
}

#[test]
fn struct_outputs() {
    let s = State {
        pos: [0.3, -0.7],
        vel: vec![1.1, 0.4],
        energy: 0.0,
    };
    let dt = 0.05;
    let ds = StateTangent {
        pos: [0.5, -1.0],
        vel: vec![0.25, 2.0],
        energy: 3.0,
    };
    let (next, dnext) = euler_step_jvp(&s, dt, &ds, 0.5);
    assert_eq!(next, euler_step(&s, dt));
    let ((p, v, e), (dp, dv, de)) = flat_step_jvp(s.pos, &s.vel, dt, ds.pos, &ds.vel, 0.5);
    assert_eq!((next.pos, &next.vel, next.energy), (p, &v, e));
    assert_eq!(flat_step(s.pos, &s.vel, dt).0, p);
    assert_eq!((dnext.pos, &dnext.vel, dnext.energy), (dp, &dv, de));
    // Reverse mode with the output's tangent type as its cotangent.
    let dr = StateTangent {
        pos: [1.0, 0.5],
        vel: vec![-2.0, 0.75],
        energy: 1.5,
    };
    let (value, (g, gdt)) = euler_step_vjp(&s, dt, dr.clone());
    assert_eq!(value, next);
    let (_, (gp, gv, gdt2)) = flat_step_vjp(s.pos, &s.vel, dt, (dr.pos, dr.vel.clone(), dr.energy));
    assert_eq!((g.pos, &g.vel, gdt), (gp, &gv, gdt2));
    assert_eq!(g.energy, 0.0);
    // The dot-product test: <dr, J ds> = <J^T dr, ds>.
    let lhs = dr.dot(&dnext);
    let rhs = g.dot(&ds) + gdt * 0.5;
    assert!((lhs - rhs).abs() < 1e-13);
    // A method returning `Self`, with a field without derivative.
    let c = Counted { x: 2.0, steps: 4 };
    let (next, dnext) = c.advance_jvp(0.5, &CountedTangent { x: 1.0 });
    assert_eq!(next, Counted { x: 3.0, steps: 5 });
    assert_eq!(dnext.x, 1.5);
    let (_, g) = c.advance_vjp(0.5, CountedTangent { x: 2.0 });
    assert_eq!(g.x, 3.0);
}

/// Fields read inside `vec![..]` (found by the fuzzer: the macro's tokens
/// were not rewritten, an error).
#[differentiable(wrt(l))]
#[allow(clippy::useless_vec)]
fn buffered(l: &Layer, x: &[f64]) -> f64 {
    let mut h = vec![0.0; l.b.len()];
    for j in 0..l.b.len() {
        h[j] = (l.b[j] + l.w[j] * x[0]).tanh();
    }
    let pair = vec![l.w[0] * 2.0, l.b[1]];
    let mut s = pair[0] * pair[1];
    for j in 0..h.len() {
        s += h[j];
    }
    s
}

#[test]
fn fields_inside_vec_macros() {
    let l = net().l1;
    let x = [0.7];
    let g = buffered_grad(&l, &x);
    let mut want_w = vec![0.0; l.w.len()];
    let mut want_b = vec![0.0; l.b.len()];
    for j in 0..l.b.len() {
        let d = 1.0 - (l.b[j] + l.w[j] * x[0]).tanh().powi(2);
        want_b[j] += d;
        want_w[j] += d * x[0];
    }
    want_w[0] += 2.0 * l.b[1];
    want_b[1] += 2.0 * l.w[0];
    for j in 0..l.w.len() {
        assert!((g.w[j] - want_w[j]).abs() < 1e-14, "w{j}");
    }
    for j in 0..l.b.len() {
        assert!((g.b[j] - want_b[j]).abs() < 1e-14, "b{j}");
    }
    assert_eq!(buffered(&l, &x), buffered_value_and_grad(&l, &x).0);
}

// Several struct parameters, and a struct of another type returned.

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Spring {
    k: f64,
    rest: f64,
}

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Report {
    kinetic: f64,
    potential: f64,
}

#[differentiable(wrt(s, spring))]
fn report(s: &State, spring: &Spring) -> Report {
    let stretch = s.pos[0] - spring.rest;
    Report {
        kinetic: 0.5 * (s.vel[0] * s.vel[0] + s.vel[1] * s.vel[1]),
        potential: 0.5 * spring.k * stretch * stretch,
    }
}

#[test]
fn several_struct_parameters_and_another_struct_returned() {
    let s = State {
        pos: [0.9, -0.2],
        vel: vec![0.3, -1.1],
        energy: 0.0,
    };
    let spring = Spring { k: 2.5, rest: 0.4 };
    let stretch = s.pos[0] - spring.rest;
    // Forward mode against the closed form.
    let ds = StateTangent {
        pos: [0.5, 1.0],
        vel: vec![-0.25, 2.0],
        energy: 0.0,
    };
    let dspring = SpringTangent {
        k: 0.75,
        rest: -0.5,
    };
    let (r, dr) = report_jvp(&s, &spring, &ds, &dspring);
    assert_eq!(r, report(&s, &spring));
    let dkin = s.vel[0] * ds.vel[0] + s.vel[1] * ds.vel[1];
    let dpot =
        0.5 * dspring.k * stretch * stretch + spring.k * stretch * (ds.pos[0] - dspring.rest);
    assert!((dr.kinetic - dkin).abs() < 1e-14 && (dr.potential - dpot).abs() < 1e-14);
    // Reverse mode with the output's tangent as its cotangent.
    let (_, (gs, gspring)) = report_vjp(
        &s,
        &spring,
        ReportTangent {
            kinetic: 2.0,
            potential: 3.0,
        },
    );
    assert_eq!(gs.vel, vec![2.0 * s.vel[0], 2.0 * s.vel[1]]);
    assert!((gs.pos[0] - 3.0 * spring.k * stretch).abs() < 1e-14);
    assert_eq!(gs.pos[1], 0.0);
    assert!((gspring.k - 1.5 * stretch * stretch).abs() < 1e-14);
    assert!((gspring.rest + 3.0 * spring.k * stretch).abs() < 1e-14);
    // The dot-product test.
    let lhs = 2.0 * dr.kinetic + 3.0 * dr.potential;
    assert!((lhs - (gs.dot(&ds) + gspring.dot(&dspring))).abs() < 1e-13);
}
