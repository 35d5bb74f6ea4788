use autodiff::prelude::*;

#[differentiable]
fn rotate(v: [f64; 2]) -> [f64; 2] {
    [v[1], -v[0]]
}

#[differentiable]
fn f(x: f64) -> f64 {
    let mut v = [x, 0.0];
    for _ in 0..3 {
        v = rotate(v);
    }
    v[0]
}

fn main() {}
