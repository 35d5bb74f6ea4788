use autodiff::prelude::*;

type Value = f64;

#[differentiable]
fn confused(x: Value, y: Value) -> f64 {
    x.sin() + y[0]
}

fn main() {}
