use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    (g)(x)
}

fn g(x: f64) -> f64 {
    x
}

fn main() {}
