use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let a = x.foo();
    let mut b = x;
    loop {
        b *= 0.5;
    }
    a + b
}

fn main() {}
