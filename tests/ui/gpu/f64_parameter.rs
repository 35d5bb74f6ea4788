use autodiff::prelude::*;

#[differentiable(gpu)]
fn f(x: f64) -> f64 {
    x.sin()
}

fn main() {}
