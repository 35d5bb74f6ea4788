use autodiff::prelude::*;

#[differentiable]
fn total(x: &[f64]) -> f64 {
    x.iter().sum()
}

#[differentiable]
fn f(x: &[f64]) -> f64 {
    total(x) * 2.0
}

fn main() {}
