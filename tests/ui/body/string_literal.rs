use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let s = "x";
    x
}

fn main() {}
