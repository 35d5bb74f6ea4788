use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64], out: &mut [f64]) {
    out[0] = x[0];
    out[1] = out[0] * 2.0;
}

fn main() {}
