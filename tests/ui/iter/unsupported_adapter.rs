use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.iter().flat_map(|v| [*v, 2.0 * v]).sum()
}

fn main() {}
