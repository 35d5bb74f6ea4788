use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    g::<f64>(x)
}

fn g<T>(x: T) -> T {
    x
}

fn main() {}
