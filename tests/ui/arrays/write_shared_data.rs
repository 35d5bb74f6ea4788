use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64], idx: &[usize]) -> f64 {
    let mut s = [idx[0], 1];
    s[0] = 2;
    x[s[0]]
}

fn main() {}
