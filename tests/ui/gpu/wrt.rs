use autodiff::prelude::*;

#[differentiable(gpu, wrt(x))]
fn f(x: f32, y: f32) -> f32 {
    x * y
}

fn main() {}
