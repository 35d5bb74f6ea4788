use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let n: usize = (0..3).sum();
    x * n as f64
}

fn main() {}
