use autodiff::prelude::*;

// A forward rule returns the output and its tangent.
fn square_rule(x: f64, dx: f64) -> f64 {
    2.0 * x * dx
}

#[custom_jvp(square_rule)]
fn square(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = square_grad(1.0);
}
