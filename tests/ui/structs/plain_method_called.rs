use autodiff::prelude::*;

#[derive(Differentiable)]
struct Line {
    a: f64,
    b: f64,
}

impl Line {
    fn slope(&self) -> f64 {
        self.a
    }
}

// A method called on a struct differentiated with respect to must be
// differentiated with respect to `self` itself.
#[differentiable(wrt(p))]
fn f(p: &Line, x: f64) -> f64 {
    p.slope() * x + p.b
}

fn main() {}
