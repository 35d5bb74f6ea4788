use autodiff::prelude::*;

#[differentiable(wrt(x), order = 2)]
fn f(x: f64) -> f64 {
    x
}

fn main() {}
