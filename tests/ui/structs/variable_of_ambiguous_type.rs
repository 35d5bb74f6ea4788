use autodiff::prelude::*;

#[derive(Differentiable, Clone)]
struct Position {
    x: f64,
    y: f64,
}

#[derive(Differentiable, Clone)]
struct Velocity {
    x: f64,
    y: f64,
}

#[differentiable(wrt(p, v))]
fn moved(p: &Position, v: &Velocity) -> Position {
    Position {
        x: p.x + v.x,
        y: p.y + v.y,
    }
}

#[differentiable(wrt(p, v))]
fn height(p: &Position, v: &Velocity) -> f64 {
    // Both structs this function names have `x` and `y`.
    let q = moved(p, v);
    q.x * q.y
}

fn main() {}
