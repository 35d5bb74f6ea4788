use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    unsafe { x }
}

fn main() {}
