use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct State {
    e: f64,
    v: f64,
}

#[derive(Differentiable, Clone)]
struct Report {
    v: f64,
    e: f64,
}

#[differentiable(wrt(s))]
fn report(s: &State) -> Report {
    Report {
        v: s.v,
        e: s.e * s.e,
    }
}

#[differentiable(wrt(s))]
fn energy(s: &State) -> f64 {
    // `Report` is named nowhere here: the one struct with fields `e` and
    // `v` this function knows is `State`, and the check catches it.
    let r = report(s);
    r.e * 2.0 + r.v
}

fn main() {}
