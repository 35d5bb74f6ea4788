use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let a = x.first();
    match a {
        Some(v) => *v * 2.0,
        None => 0.0,
    }
}

fn main() {}
