use autodiff::prelude::*;

#[derive(Differentiable)]
struct Params {
    w: Vec<f64>,
    pairs: Vec<(f64, f64)>,
}

fn main() {}
