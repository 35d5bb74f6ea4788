use autodiff::prelude::*;

#[differentiable]
fn shifted(pos: &[[f64; 3]], s: f64) -> Vec<[f64; 3]> {
    let mut out = pos.to_vec();
    for p in out.iter_mut() {
        p[0] += s;
    }
    out
}

#[differentiable]
fn first_x(pos: &[[f64; 3]], s: f64) -> f64 {
    let moved = shifted(pos, s);
    moved[0][0]
}

fn main() {}
