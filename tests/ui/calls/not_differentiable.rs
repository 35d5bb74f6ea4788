use autodiff::prelude::*;

// A function without #[differentiable] or a rule, called with a derivative.
fn plain(x: f64) -> f64 {
    x * x
}

#[differentiable]
fn caller(x: f64) -> f64 {
    plain(x) + 1.0
}

fn main() {
    let _ = caller(1.0);
}
