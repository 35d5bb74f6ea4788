use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let mut t = (x, x);
    if x > 0.0 {
        t = (x, 2.0 * x);
    }
    t.0 * t.1
}

fn main() {}
