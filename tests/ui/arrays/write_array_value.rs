use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let mut v = [x, 0.0];
    v[1] = x * x;
    v[0] + v[1]
}

fn main() {}
