use autodiff::prelude::*;

fn sq(v: f64) -> f64 {
    v * v
}

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.iter().map(sq).sum()
}

fn main() {}
