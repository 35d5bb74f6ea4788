use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64], y: &[f64], flip: bool) -> f64 {
    let s = if flip { x } else { y };
    s[0]
}

fn main() {}
