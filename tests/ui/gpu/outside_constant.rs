use autodiff::prelude::*;

const SCALE: f32 = 2.5;

#[differentiable(gpu)]
fn f(x: f32) -> f32 {
    SCALE * x.sin()
}

fn main() {}
