use autodiff::prelude::*;

use std::cmp::Ordering;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.iter()
        .copied()
        .max_by(|a, b| if a < b { Ordering::Less } else { Ordering::Greater })
        .unwrap()
}

fn main() {}
