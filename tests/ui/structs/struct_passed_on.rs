use autodiff::prelude::*;

#[derive(Differentiable)]
struct Params {
    w: Vec<f64>,
}

fn helper(p: &Params) -> f64 {
    p.w[0]
}

#[differentiable(wrt(p))]
fn f(p: &Params, x: f64) -> f64 {
    helper(p) * x + p.w[1]
}

fn main() {}
