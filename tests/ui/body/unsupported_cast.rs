use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let c = x as char;
    x
}

fn main() {}
