use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.iter().filter(|v| **v > 0.0).rev().map(|v| v * v).sum()
}

fn main() {}
