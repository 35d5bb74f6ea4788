use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let k = [x, n];
    k[0]
}

fn main() {}
