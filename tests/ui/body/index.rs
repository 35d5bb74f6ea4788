use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    x * n[0]
}

fn main() {}
