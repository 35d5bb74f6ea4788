use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let t = (x, x);
    t * 2.0
}

fn main() {}
