use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let r = 0..3;
    x
}

fn main() {}
