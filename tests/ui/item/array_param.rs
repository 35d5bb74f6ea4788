use autodiff::prelude::*;

#[differentiable]
fn f(x: [f64; 2]) -> f64 {
    x[0]
}

fn main() {}
