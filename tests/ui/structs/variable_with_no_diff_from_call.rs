use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct Layer {
    w: [f64; 2],
    #[no_diff]
    n: usize,
}

#[differentiable(wrt(l))]
fn scaled(l: &Layer) -> Layer {
    Layer {
        w: [2.0 * l.w[0], 2.0 * l.w[1]],
        n: l.n,
    }
}

#[differentiable(wrt(l))]
fn first(l: &Layer) -> f64 {
    let d: Layer = scaled(l);
    d.w[0]
}

fn main() {}
