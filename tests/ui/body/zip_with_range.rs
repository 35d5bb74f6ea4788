use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (a, b) in x.iter().zip(0..3) {
        s += a * b as f64;
    }
    s
}

fn main() {}
