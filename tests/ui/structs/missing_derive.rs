use autodiff::prelude::*;

struct Params {
    w: Vec<f64>,
}

#[differentiable(wrt(p))]
fn f(p: &Params, x: f64) -> f64 {
    p.w[0] * x
}

fn main() {}
