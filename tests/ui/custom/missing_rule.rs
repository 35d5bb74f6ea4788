use autodiff::prelude::*;

#[custom_vjp]
fn scale(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = scale(1.0);
}
