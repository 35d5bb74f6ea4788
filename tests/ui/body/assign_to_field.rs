use autodiff::prelude::*;

struct P {
    x: f64,
}

#[differentiable]
fn f(x: f64, p: P) -> f64 {
    p.x = x;
    x
}

fn main() {}
