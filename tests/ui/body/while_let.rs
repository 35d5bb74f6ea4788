use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, n: Option<usize>) -> f64 {
    let mut y = x;
    while let Some(_) = n {
        y *= 0.5;
    }
    y
}

fn main() {}
