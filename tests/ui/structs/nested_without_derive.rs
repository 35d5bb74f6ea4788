use autodiff::prelude::*;

struct Config {
    rate: f64,
}

#[derive(Differentiable)]
struct Params {
    w: Vec<f64>,
    config: Config,
}

fn main() {}
