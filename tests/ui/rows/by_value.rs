use autodiff::prelude::*;

#[differentiable]
fn total(pos: Vec<[f64; 3]>) -> f64 {
    pos.iter().map(|p| p[0] + p[1] + p[2]).sum()
}

fn main() {}
