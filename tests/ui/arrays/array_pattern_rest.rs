use autodiff::prelude::*;

#[differentiable]
fn f(v: [f64; 3]) -> f64 {
    let [a, ..] = v;
    a
}

fn main() {}
