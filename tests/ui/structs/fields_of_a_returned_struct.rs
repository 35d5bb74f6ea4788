use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct State {
    x: f64,
}

#[derive(Differentiable, Clone)]
struct Report {
    e: f64,
}

#[differentiable(wrt(s))]
fn report(s: &State) -> Report {
    Report { e: s.x * s.x }
}

#[differentiable(wrt(s))]
fn energy(s: &State) -> f64 {
    let r = report(s);
    r.e * 2.0
}

fn main() {}
