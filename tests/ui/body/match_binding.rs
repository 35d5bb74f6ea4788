use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, n: Option<usize>) -> f64 {
    match n {
        Some(k) => x * k as f64,
        None => x,
    }
}

fn main() {}
