use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64], y: &[f64]) -> f64 {
    x.iter().chain(y.iter()).enumerate().map(|(i, v)| i as f64 * v).sum()
}

fn main() {}
