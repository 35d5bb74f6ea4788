use autodiff::prelude::*;

type Vec3 = [f64; 3];

#[differentiable]
fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

// The body only passes `a` and `b` on: it does not say what `Vec3` is.
#[differentiable]
fn twice(a: Vec3, b: Vec3) -> f64 {
    dot(a, b) * 2.0
}

fn main() {}
