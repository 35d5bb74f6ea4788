use autodiff::prelude::*;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for j in 0..i {
            if x[j] > 1.0 {
                break 'outer;
            }
            s += x[j];
        }
    }
    s
}

fn main() {}
