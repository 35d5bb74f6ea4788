use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    x * x.len() as f64
}

fn main() {}
