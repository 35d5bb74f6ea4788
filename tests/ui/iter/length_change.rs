use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.truncate(2);
    v[0] + v[1]
}

fn main() {}
