use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let a = x.first();
    if a.is_some() { x[0] * 2.0 } else { 0.0 }
}

fn main() {}
