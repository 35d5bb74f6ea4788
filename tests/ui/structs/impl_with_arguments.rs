use autodiff::prelude::*;

struct Model;

#[differentiable(wrt(x))]
impl Model {
    #[differentiable]
    fn f(x: f64) -> f64 {
        x * x
    }
}

fn main() {}
