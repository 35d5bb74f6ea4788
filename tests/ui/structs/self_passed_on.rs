use autodiff::prelude::*;

#[derive(Differentiable)]
struct Params {
    w: Vec<f64>,
}

#[differentiable]
impl Params {
    fn first(&self) -> f64 {
        self.w[0]
    }

    #[differentiable(wrt(self))]
    fn loss(&self, x: f64) -> f64 {
        self.first() * x
    }
}

fn main() {}
