use autodiff::prelude::*;

#[differentiable]
fn f(points: &[(f64, f64)], x: f64) -> f64 {
    x
}

fn main() {}
