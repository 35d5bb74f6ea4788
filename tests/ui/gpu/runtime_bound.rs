use autodiff::prelude::*;

#[differentiable(gpu)]
fn f(x: f32, n: f32) -> f32 {
    let mut s = x;
    for _ in 0..(n as usize) {
        s = s * x;
    }
    s
}

fn main() {}
