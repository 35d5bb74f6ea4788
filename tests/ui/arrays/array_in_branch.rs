use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, flip: bool) -> f64 {
    let v = if flip { [x, 1.0] } else { [1.0, x] };
    v[0]
}

fn main() {}
