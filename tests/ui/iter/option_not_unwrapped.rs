use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let m = x.iter().copied().max_by(|a, b| a.total_cmp(b));
    m.unwrap_or(0.0) * 2.0
}

fn main() {}
