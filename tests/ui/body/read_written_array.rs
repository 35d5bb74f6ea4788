use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> Vec<f64> {
    let mut y = Vec::with_capacity(2);
    y.push(x[0]);
    y.push(y[0] * 2.0);
    y
}

fn main() {}
