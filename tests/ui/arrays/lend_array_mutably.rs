use autodiff::prelude::*;

#[differentiable]
fn fill(out: &mut [f64], x: f64) {
    out[0] = x;
}

#[differentiable]
fn f(x: f64) -> f64 {
    let mut v = [x, 1.0];
    fill(&mut v, x);
    v[0]
}

fn main() {}
