//! `#[differentiable]` in a crate on edition 2021: slices, loops and the
//! pullback closure, whose `impl FnOnce` return type keeps the slice.
#![deny(warnings)]

use autodiff::prelude::*;

#[differentiable]
pub fn scalar(x: f64, y: f64) -> f64 {
    (x * y).sin()
}

#[differentiable]
pub fn sliced(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for &v in x.iter() {
        s += v * v;
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn pullbacks_work_on_edition_2021() {
        let x = vec![1.0, 2.0];
        let (v, pb) = super::sliced_pullback(&x);
        assert_eq!(v, super::sliced(&x));
        assert_eq!(pb(1.0), vec![2.0, 4.0]);
        let (y, pb) = super::scalar_pullback(1.0, 2.0);
        assert_eq!(y, super::scalar(1.0, 2.0));
        let (gx, gy) = pb(1.0);
        assert_eq!((gx, gy), (2.0 * 2f64.cos(), 2f64.cos()));
    }
}

#[differentiable]
pub fn lse(x: &[f64]) -> f64 {
    let mut m = x[0];
    for &v in x.iter() {
        m = m.max(v);
    }
    let mut s = 0.0;
    for &v in x.iter() {
        s += (v - m).exp();
    }
    s.ln() + m
}

/// A local buffer lent to a callee, written again after, and an array
/// lent mutably: the hidden pullbacks' `use<>` on edition 2021.
#[differentiable]
pub fn buffered(x: &[f64]) -> f64 {
    let mut w = vec![0.0; x.len()];
    for (i, &v) in x.iter().enumerate() {
        w[i] = v * 2.0;
    }
    let a = lse(&w);
    w[0] = a;
    a + lse(&w[..1]) + [x[0], a][1]
}
