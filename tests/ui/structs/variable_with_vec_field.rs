use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct Layer {
    w: Vec<f64>,
}

#[differentiable(wrt(l))]
fn total(l: &Layer) -> f64 {
    let d = Layer { w: vec![l.w[0], l.w[1]] };
    d.w[0] + d.w[1]
}

fn main() {}
