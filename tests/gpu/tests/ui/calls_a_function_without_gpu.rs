use autodiff::prelude::*;

#[differentiable]
fn g(x: f32) -> f32 {
    x * x
}

#[differentiable(gpu)]
fn f(x: f32) -> f32 {
    g(x).sin()
}

fn main() {}
