use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.to_vec().sort_by(|a, b| a.total_cmp(b));
    x[0]
}

fn main() {}
