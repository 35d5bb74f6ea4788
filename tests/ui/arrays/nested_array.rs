use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let m = [[x, 0.0], [0.0, x]];
    m[0][0]
}

fn main() {}
