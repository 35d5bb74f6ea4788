use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct Layer {
    w: [f64; 2],
    #[no_diff]
    n: usize,
}

#[differentiable(wrt(l))]
fn total(l: &Layer) -> f64 {
    l.w[0] * l.n as f64 + l.w[1]
}

#[differentiable(wrt(l))]
fn doubled(l: &Layer) -> f64 {
    let d = Layer {
        w: [2.0 * l.w[0], 2.0 * l.w[1]],
        n: l.n,
    };
    total(&d)
}

fn main() {}
