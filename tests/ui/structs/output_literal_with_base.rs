use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct State {
    x: f64,
    v: f64,
}

#[differentiable(wrt(s))]
fn step(s: &State, dt: f64) -> State {
    State {
        x: s.x + dt * s.v,
        ..s.clone()
    }
}

fn main() {}
