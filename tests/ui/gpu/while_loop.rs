use autodiff::prelude::*;

#[differentiable(gpu)]
fn f(x: f32) -> f32 {
    let mut s = x;
    while s < 10.0 {
        s = s * 2.0;
    }
    s
}

fn main() {}
