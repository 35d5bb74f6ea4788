use autodiff::prelude::*;

fn reset(row: &mut [f64; 3]) {
    *row = [0.0; 3];
}

#[differentiable]
fn forces(pos: &[[f64; 3]], out: &mut [[f64; 3]]) {
    for f in out.iter_mut() {
        reset(f);
    }
    for i in 0..pos.len() {
        out[i][0] += pos[i][0];
    }
}

fn main() {}
