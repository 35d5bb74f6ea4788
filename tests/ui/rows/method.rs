use autodiff::prelude::*;

struct Box3 {
    side: f64,
}

impl Box3 {
    #[differentiable]
    fn wrapped(&self, pos: &[[f64; 3]]) -> f64 {
        pos.iter().map(|p| (p[0] / self.side).fract()).sum()
    }
}

fn main() {}
