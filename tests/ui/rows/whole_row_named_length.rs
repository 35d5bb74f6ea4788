use autodiff::prelude::*;

const D: usize = 3;

#[differentiable]
fn norm0(pos: &[[f64; D]]) -> f64 {
    let p = pos[0];
    p[0] * p[0] + p[1] * p[1]
}

fn main() {}
