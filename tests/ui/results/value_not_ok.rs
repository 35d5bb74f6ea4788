use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> Result<f64, String> {
    let r = if x > 0.0 { Ok(x) } else { Err("no".to_string()) };
    r
}

fn main() {}
