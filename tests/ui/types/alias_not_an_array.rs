use autodiff::prelude::*;

type Pair = (f64, f64);

// Indexed as an array, but it is a tuple: rustc says so, naming `Pair`.
#[differentiable]
fn first(p: Pair) -> f64 {
    p[0] * 2.0
}

fn main() {}
