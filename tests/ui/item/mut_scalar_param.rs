use autodiff::prelude::*;

#[differentiable]
fn f(out: &mut f64, x: f64) -> f64 {
    x
}

fn main() {}
