use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    let a = x * y + (x / y).sin();
    let b = a.exp() - 3.0 * y.powi(2);
    a.mul_add(b, x.sqrt())
}

#[test]
fn smoke() {
    let (v, dv) = f_jvp(1.5, 2.0, 1.0, 0.0);
    let (gx, gy) = f_grad(1.5, 2.0);
    let (v2, (gx2, gy2)) = f_value_and_grad(1.5, 2.0);
    let (v3, (gx3, gy3)) = f_vjp(1.5, 2.0, 1.0);
    println!("{v} {dv} {gx} {gy} {v2} {gx2} {gy2} {v3} {gx3} {gy3}");
}
