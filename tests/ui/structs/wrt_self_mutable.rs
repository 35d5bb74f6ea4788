use autodiff::prelude::*;

#[derive(Differentiable)]
struct Params {
    w: Vec<f64>,
}

#[differentiable]
impl Params {
    #[differentiable(wrt(self))]
    fn loss(&mut self, x: f64) -> f64 {
        self.w[0] * x
    }
}

fn main() {}
