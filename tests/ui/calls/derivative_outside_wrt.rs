use autodiff::prelude::*;

#[differentiable(wrt(x))]
fn scaled(c: f64, x: f64) -> f64 {
    c * x
}

// `c` is active here, but `scaled` is not differentiated with respect to
// its first parameter: the derivative would be dropped.
#[differentiable]
fn caller(c: f64, x: f64) -> f64 {
    scaled(c, x)
}

fn main() {
    let _ = caller_grad(1.0, 2.0);
}
