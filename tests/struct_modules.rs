//! Structs deriving `Differentiable` where users keep them: in a module of
//! their own, used by functions in another module that import them, or
//! defined after the function. The gradients equal those of the same
//! function written over the fields as slices and floats, exactly.
mod common;

use autodiff::prelude::*;
use common::*;

mod train {
    use super::model::{Layer, Mlp, State};
    use autodiff::prelude::*;

    /// A two-layer perceptron's squared error (tanh hidden layer).
    #[differentiable(wrt(p))]
    pub fn loss(p: &Mlp, x: &[f64], y: f64) -> f64 {
        let h = p.hidden.b.len();
        let mut out = p.out_b;
        for j in 0..h {
            let mut a = p.hidden.b[j];
            for i in 0..x.len() {
                a += p.hidden.w[j * x.len() + i] * x[i];
            }
            out += p.out_w[j] * a.tanh();
        }
        (out - y) * (out - y)
    }

    /// A layer's sum through a helper taking the nested struct.
    #[differentiable(wrt(l))]
    pub fn layer_sum(l: &Layer, x: &[f64]) -> f64 {
        let mut s = 0.0;
        for j in 0..l.b.len() {
            s += l.b[j] + l.w[j] * x[j % x.len()];
        }
        s
    }

    #[differentiable(wrt(p))]
    pub fn both(p: &Mlp, x: &[f64]) -> f64 {
        layer_sum(&p.hidden, x) * p.out_b
    }

    /// Euler steps of a harmonic oscillator over a struct variable.
    #[differentiable(wrt(s0, k))]
    pub fn energy_after(s0: &State, k: f64, dt: f64, n: usize) -> f64 {
        let mut s = s0.clone();
        for _ in 0..n {
            let v = s.v - dt * k * s.x;
            s.x += dt * v;
            s.v = v;
        }
        0.5 * s.v * s.v + 0.5 * k * s.x * s.x
    }
}

mod model {
    use autodiff::prelude::*;

    #[derive(Differentiable, Clone)]
    pub struct Layer {
        pub w: Vec<f64>,
        pub b: Vec<f64>,
    }

    #[derive(Differentiable, Clone)]
    pub struct Mlp {
        pub hidden: Layer,
        pub out_w: Vec<f64>,
        pub out_b: f64,
    }

    #[derive(Differentiable, Clone)]
    pub struct State {
        pub x: f64,
        pub v: f64,
    }
}

/// Defined before its struct, in the same module.
#[differentiable(wrt(c))]
fn spring(c: &Coeffs, x: f64) -> f64 {
    c.k * x * x + c.d[0] * x + c.d[1]
}

#[derive(Differentiable, Clone)]
struct Coeffs {
    k: f64,
    d: [f64; 2],
}

/// `loss` over the fields.
#[differentiable(wrt(hw, hb, ow, ob))]
fn loss_flat(hw: &[f64], hb: &[f64], ow: &[f64], ob: f64, x: &[f64], y: f64) -> f64 {
    let mut out = ob;
    for j in 0..hb.len() {
        let mut a = hb[j];
        for i in 0..x.len() {
            a += hw[j * x.len() + i] * x[i];
        }
        out += ow[j] * a.tanh();
    }
    (out - y) * (out - y)
}

fn mlp(rng: &mut Rng) -> model::Mlp {
    let (n_in, h) = (3, 4);
    model::Mlp {
        hidden: model::Layer {
            w: (0..n_in * h).map(|_| rng.uniform(-1.0, 1.0)).collect(),
            b: (0..h).map(|_| rng.uniform(-1.0, 1.0)).collect(),
        },
        out_w: (0..h).map(|_| rng.uniform(-1.0, 1.0)).collect(),
        out_b: rng.uniform(-1.0, 1.0),
    }
}

#[test]
fn a_struct_of_another_module() {
    let mut rng = Rng::new(71);
    for _ in 0..10 {
        let p = mlp(&mut rng);
        let x: Vec<f64> = (0..3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let g = train::loss_grad(&p, &x, 0.3);
        let (hw, hb, ow, ob) = loss_flat_grad(&p.hidden.w, &p.hidden.b, &p.out_w, p.out_b, &x, 0.3);
        assert_eq!((g.hidden.w, g.hidden.b, g.out_w, g.out_b), (hw, hb, ow, ob));
        assert_eq!(
            train::loss(&p, &x, 0.3),
            loss_flat(&p.hidden.w, &p.hidden.b, &p.out_w, p.out_b, &x, 0.3)
        );
        // Through the nested struct's helper: d/d(hidden.b[j]) = out_b.
        let (v, g) = train::both_value_and_grad(&p, &x);
        assert_eq!(v, train::both(&p, &x));
        assert!(g.hidden.b.iter().all(|&d| d == p.out_b));
        assert_close("d/dout_b", g.out_b, train::layer_sum(&p.hidden, &x), EXACT);
    }
}

#[test]
fn a_struct_variable_of_another_module() {
    let s0 = model::State { x: 1.0, v: 0.2 };
    let (gs, gk) = train::energy_after_grad(&s0, 2.0, 0.01, 50);
    let h = 1e-6;
    let e = |x: f64, v: f64, k: f64| train::energy_after(&model::State { x, v }, k, 0.01, 50);
    assert_close(
        "d/dx",
        gs.x,
        (e(1.0 + h, 0.2, 2.0) - e(1.0 - h, 0.2, 2.0)) / (2.0 * h),
        FD,
    );
    assert_close(
        "d/dv",
        gs.v,
        (e(1.0, 0.2 + h, 2.0) - e(1.0, 0.2 - h, 2.0)) / (2.0 * h),
        FD,
    );
    assert_close(
        "d/dk",
        gk,
        (e(1.0, 0.2, 2.0 + h) - e(1.0, 0.2, 2.0 - h)) / (2.0 * h),
        FD,
    );
}

#[test]
fn a_struct_defined_after_the_function() {
    let c = Coeffs {
        k: 2.0,
        d: [0.5, -1.0],
    };
    let g = spring_grad(&c, 3.0);
    assert_eq!((g.k, g.d), (9.0, [3.0, 1.0]));
    let (v, dv) = spring_jvp(
        &c,
        3.0,
        &CoeffsTangent {
            k: 1.0,
            d: [0.0, 0.0],
        },
    );
    assert_eq!((v, dv), (spring(&c, 3.0), 9.0));
}
