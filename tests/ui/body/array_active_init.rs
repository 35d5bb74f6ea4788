use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, n: usize) -> Vec<f64> {
    let y = vec![x; n];
    y
}

fn main() {}
