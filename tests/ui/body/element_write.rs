use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x[0] = 1.0;
    x[0]
}

fn main() {}
