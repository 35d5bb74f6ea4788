use autodiff::prelude::*;

#[differentiable]
fn f<T: Float>(x: T) -> T {
    x
}

fn main() {}
