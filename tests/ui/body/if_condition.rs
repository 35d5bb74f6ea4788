use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    if x { x } else { 0.0 }
}

fn main() {}
