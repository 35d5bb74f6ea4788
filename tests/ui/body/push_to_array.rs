use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> [f64; 2] {
    let mut y = [0.0; 2];
    y.push(x);
    y
}

fn main() {}
