//! `#[differentiable]` on trait impls: the impl stays as written and the
//! siblings of its methods go to an inherent impl of the type
//! (docs/api.md, "Methods and trait impls").

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::prelude::*;
use common::*;

pub trait Activation {
    fn apply(&self, x: f64) -> f64;
    fn name(&self) -> &'static str {
        "activation"
    }
}

pub struct Softplus {
    pub beta: f64,
}

pub struct LeakyRelu(pub f64);

/// On the impl block: every method is differentiated.
#[differentiable]
impl Activation for Softplus {
    fn apply(&self, x: f64) -> f64 {
        (1.0 + (self.beta * x).exp()).ln() / self.beta
    }
}

/// On a method, with the impl block marked too: that method only.
#[differentiable]
impl Activation for LeakyRelu {
    #[differentiable]
    fn apply(&self, x: f64) -> f64 {
        if x > 0.0 { x } else { self.0 * x }
    }

    fn name(&self) -> &'static str {
        "leaky relu"
    }
}

pub trait Model<T> {
    fn loss(&self, w: &[T], x: &[T]) -> T;
}

pub struct Quadratic;

/// A generic impl of a generic trait.
#[differentiable]
impl<T: Float> Model<T> for Quadratic {
    fn loss(&self, w: &[T], x: &[T]) -> T {
        w.iter()
            .zip(x)
            .fold(T::zero(), |acc, (&a, &b)| acc + (a * b - T::one()).powi(2))
    }
}

/// Through the trait, generically: the primal as written.
fn total<A: Activation>(a: &A, xs: &[f64]) -> f64 {
    xs.iter().map(|&x| a.apply(x)).sum()
}

#[test]
fn trait_methods_get_siblings() {
    let s = Softplus { beta: 2.0 };
    let l = LeakyRelu(0.1);
    let mut rng = Rng::new(4);
    for _ in 0..10 {
        let x = rng.uniform(-2.0, 2.0);
        let sig = 1.0 / (1.0 + (-2.0 * x).exp());
        assert_close("softplus'", s.apply_grad(x), sig, EXACT);
        let (v, d) = s.apply_jvp(x, 1.0);
        assert_close("softplus", v, s.apply(x), EXACT);
        assert_close("softplus jvp", d, sig, EXACT);
        let want = if x > 0.0 { 1.0 } else { 0.1 };
        assert_eq!(l.apply_grad(x), want);
    }
    assert_eq!(l.name(), "leaky relu");
    assert_eq!(s.name(), "activation");
    assert_close("through the trait", total(&s, &[0.5]), s.apply(0.5), EXACT);
}

#[test]
fn generic_trait_impls() {
    let q = Quadratic;
    let w = [0.5, -1.0, 2.0];
    let x = [1.5, 0.3, -0.7];
    let g = q.loss_grad(&w, &x).0;
    for i in 0..3 {
        let f = |p: &[f64]| q.loss(p, &x);
        assert_close("dloss/dw", g[i], partial(f, &w, i), FD);
    }
    let w32 = w.map(|v| v as f32);
    let x32 = x.map(|v| v as f32);
    let g32 = q.loss_grad(&w32, &x32).0;
    for i in 0..3 {
        assert_close("f32", g32[i] as f64, g[i], F32);
    }
}
