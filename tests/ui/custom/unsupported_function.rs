use autodiff::prelude::*;

fn rule<T>(x: T, _y: T, dy: T) -> T {
    let _ = x;
    dy
}

// Type parameters other than the scalar, methods and outputs other than
// floats are not supported yet: one error each, at the function.
#[custom_vjp(rule)]
fn generic<T: Copy>(x: T) -> T {
    x
}

fn count_rule(x: f64, _y: usize, _dy: usize) -> f64 {
    x
}

#[custom_vjp(count_rule)]
fn count(x: f64) -> usize {
    x as usize
}

struct Model;

fn scale_rule(_m: &Model, x: f64, _y: f64, dy: f64) -> f64 {
    x * dy
}

impl Model {
    #[custom_vjp(scale_rule)]
    fn scale(&self, x: f64) -> f64 {
        x
    }
}

fn main() {
    let _ = (generic(1.0), count(1.0), Model.scale(1.0));
}
