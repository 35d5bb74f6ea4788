use autodiff::prelude::*;

#[differentiable]
fn total(x: &[f64]) -> f64 {
    x.iter().sum()
}

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let mut y = vec![0.0; n];
    y[0] = x;
    total(y) * 2.0
}

fn main() {}
