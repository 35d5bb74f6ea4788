use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    static S: f64 = 2.0;
    x * S
}

fn main() {}
