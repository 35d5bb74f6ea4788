use autodiff::prelude::*;

struct P {
    x: f64,
}

#[differentiable]
fn f(x: f64) -> f64 {
    let p = P { x };
    x
}

fn main() {}
