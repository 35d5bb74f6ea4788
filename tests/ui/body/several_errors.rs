use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let a = x.foo();
    let b = if x > 0.0 { x } else { 0.0 };
    a + b
}

fn main() {}
