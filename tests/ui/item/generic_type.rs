use autodiff::prelude::*;

#[differentiable]
fn f<T: Copy>(x: f64, tag: T) -> f64 {
    let _ = tag;
    x
}

fn main() {}
