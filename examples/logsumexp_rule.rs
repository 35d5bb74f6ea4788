//! A custom rule for a numerically delicate function: `logsumexp` with the
//! softmax as its gradient, stable at inputs around 1000 where the
//! derivative of the naive body (`exp` of each input) overflows.
//!
//! `cargo run --example logsumexp_rule`

use autodiff::prelude::*;

/// The naive body, differentiated as written: `exp(1000)` is infinite.
#[allow(clippy::needless_range_loop)]
#[differentiable]
pub fn naive_logsumexp(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i].exp();
    }
    s.ln()
}

/// The gradient is the softmax, written with the output itself.
pub fn logsumexp_rule(x: &[f64], y: f64, dy: f64) -> Vec<f64> {
    x.iter().map(|xi| dy * (xi - y).exp()).collect()
}

/// Shifted by the maximum: finite for any finite input.
#[custom_vjp(logsumexp_rule)]
pub fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// A loss through the rule: a differentiable function calling it.
#[differentiable]
pub fn loss(logits: &[f64], target: usize) -> f64 {
    logsumexp(logits) - logits[target]
}

pub fn main() {
    let x = [1000.0, 999.0, 998.5];
    let naive = naive_logsumexp_grad(&x);
    let ruled = logsumexp_grad(&x);
    println!("naive gradient at {x:?}: {naive:?}");
    println!("rule gradient:          {ruled:?}");
    assert!(
        naive.iter().any(|g| !g.is_finite()),
        "the naive gradient overflows"
    );
    assert!(ruled.iter().all(|g| g.is_finite()));
    assert!((ruled.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    // The rule, checked in one line.
    check::vjp_rule(
        logsumexp,
        logsumexp_rule,
        &[0.5, -1.0, 2.0],
        Default::default(),
    )
    .unwrap();
    // The loss's gradient: softmax minus the one-hot target.
    let g = loss_grad(&x, 1);
    println!("cross-entropy gradient: {g:?}");
    assert!((g[1] - (ruled[1] - 1.0)).abs() < 1e-12);
}
