use autodiff::prelude::*;

const C: f64 = 2.0;

#[differentiable]
fn g(x: f64, c: f64) -> f64 {
    x * c
}

#[differentiable]
fn f(x: f64) -> f64 {
    g(x, C)
}

fn main() {}
