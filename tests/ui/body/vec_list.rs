use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> Vec<f64> {
    let y = vec![];
    let _ = x;
    y
}

fn main() {}
