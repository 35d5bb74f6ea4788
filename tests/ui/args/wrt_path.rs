use autodiff::prelude::*;

#[differentiable(wrt(self::x))]
fn f(x: f64) -> f64 {
    x
}

fn main() {}
