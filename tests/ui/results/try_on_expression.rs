use autodiff::prelude::*;

fn parse(s: &str) -> Result<f64, String> {
    s.parse::<f64>().map_err(|e| e.to_string())
}

#[differentiable]
fn f(x: f64) -> Result<f64, String> {
    let k = parse("2.0").map(|v| v * 2.0)?;
    Ok(x * k)
}

fn main() {}
