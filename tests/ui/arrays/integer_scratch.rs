use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let mut idx = vec![0usize; 2];
    idx[0] = 1;
    x[idx[0]]
}

fn main() {}
