use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let y: f64;
    y = x;
    y
}

fn main() {}
