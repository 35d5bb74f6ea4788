use autodiff::prelude::*;

#[differentiable]
fn smooth<T: Float>(x: &[T]) -> T {
    let mut y = vec![T::zero(); x.len()];
    for i in 0..x.len() {
        y[i] = x[i];
    }
    for i in 1..x.len() {
        y[i] = y[i] * y[i - 1];
    }
    y[x.len() - 1]
}

fn main() {}
