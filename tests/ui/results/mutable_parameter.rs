use autodiff::prelude::*;

#[differentiable]
fn step(x: f64, out: &mut [f64]) -> Result<f64, String> {
    if x < 0.0 {
        return Err("negative".to_string());
    }
    out[0] = x * 2.0;
    Ok(x)
}

fn main() {}
