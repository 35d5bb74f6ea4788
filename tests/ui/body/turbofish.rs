use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    x.max::<f64>(1.0)
}

fn main() {}
