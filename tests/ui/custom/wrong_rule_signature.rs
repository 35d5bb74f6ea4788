use autodiff::prelude::*;

// The rule forgets the output cotangent.
fn scale_rule(x: f64, _y: f64) -> f64 {
    2.0 * x
}

#[custom_vjp(scale_rule)]
fn scale(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = scale_grad(1.0);
}
