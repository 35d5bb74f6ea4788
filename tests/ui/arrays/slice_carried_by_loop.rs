use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let mut v = x;
    for _ in 0..2 {
        v = &v[1..];
    }
    v[0]
}

fn main() {}
