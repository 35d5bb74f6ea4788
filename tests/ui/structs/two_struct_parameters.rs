use autodiff::prelude::*;

#[derive(Differentiable)]
struct A {
    x: f64,
}

#[derive(Differentiable)]
struct B {
    y: f64,
}

#[differentiable(wrt(a, b))]
fn f(a: &A, b: &B) -> f64 {
    a.x * b.y
}

fn main() {}
