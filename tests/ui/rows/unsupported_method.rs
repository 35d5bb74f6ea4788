use autodiff::prelude::*;

#[differentiable]
fn bonds(pos: &[[f64; 3]]) -> f64 {
    pos.windows(2).map(|w| w[1][0] - w[0][0]).sum()
}

fn main() {}
