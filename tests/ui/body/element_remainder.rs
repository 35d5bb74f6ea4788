use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> Vec<f64> {
    let mut y = vec![1.0; x.len()];
    y[0] %= x[0];
    y
}

fn main() {}
