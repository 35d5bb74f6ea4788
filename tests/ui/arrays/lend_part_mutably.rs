use autodiff::prelude::*;

#[differentiable]
fn fill(out: &mut [f64], x: f64) {
    out[0] = x;
}

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let mut v = [x[0], 1.0, 2.0];
    fill(&mut v[1..3], x[0]);
    v[1]
}

fn main() {}
