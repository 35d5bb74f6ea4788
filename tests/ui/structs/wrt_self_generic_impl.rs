use autodiff::prelude::*;

struct Wrapper<T> {
    w: T,
}

#[differentiable]
impl<T> Wrapper<T> {
    #[differentiable(wrt(self))]
    fn loss(&self, x: f64) -> f64 {
        x * 2.0
    }
}

fn main() {}
