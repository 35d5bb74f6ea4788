use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let a = [x, x];
    x
}

fn main() {}
