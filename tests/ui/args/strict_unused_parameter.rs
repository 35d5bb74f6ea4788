use autodiff::prelude::*;

// `b` is differentiated with respect to but never reaches the output, and
// `x`'s elements only reach a comparison.
#[differentiable(strict)]
fn f(a: f64, b: f64, x: &[f64]) -> f64 {
    let _unused = b * 2.0;
    if x[0] > 0.0 { a * a } else { a }
}

fn main() {
    let _ = f(1.0, 2.0, &[1.0]);
}
