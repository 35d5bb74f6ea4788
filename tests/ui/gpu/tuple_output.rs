use autodiff::prelude::*;

#[differentiable(gpu)]
fn f(x: f32) -> (f32, f32) {
    (x.sin(), x.cos())
}

fn main() {}
