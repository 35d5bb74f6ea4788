use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64], r: &mut [usize]) -> f64 {
    r[0] = 1;
    x[r[0]]
}

fn main() {}
