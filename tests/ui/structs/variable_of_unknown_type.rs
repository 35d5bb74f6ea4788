use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct State {
    x: f64,
    v: f64,
}

#[differentiable(wrt(s))]
fn half(s: &State) -> State {
    State {
        x: 0.5 * s.x,
        v: 0.5 * s.v,
    }
}

#[differentiable(wrt(s))]
fn energy(s: &State) -> f64 {
    s.x * s.x + s.v * s.v
}

#[differentiable(wrt(s))]
fn quarter_energy(s: &State) -> f64 {
    let h = half(s);
    energy(&h)
}

fn main() {}
