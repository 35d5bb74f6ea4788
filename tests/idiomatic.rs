//! Numerical programs from published definitions, written the way a Rust
//! programmer writes them (iterator chains, local closures, slice methods,
//! assertions), each with `#[differentiable]` on it and tests of its
//! reverse-mode gradient against central differences, of forward mode
//! against reverse mode, and against closed forms where there are some.
//!
//! Programs the macro rejected are in `tests/idiomatic/rejected.md` with
//! their errors, and are left out of this crate.
#![allow(clippy::needless_range_loop)]

mod common;

mod idiomatic {
    pub mod black_scholes;
    pub mod conv1d;
    pub mod gp;
    pub mod huber_tv;
    pub mod logistic;
    pub mod logsumexp;
    pub mod rk4;
}

use common::Rng;

/// Forward mode along `v` (`jvp`) against reverse mode (`g · v`). Both are
/// exact derivatives computed by different code paths, so they differ by
/// rounding only. The rounding of the dot product alone is bounded by
/// `n ε Σ |g_i v_i|`; each mode also rounds through the program, so the
/// tolerance is `1e-10 Σ |g_i v_i|` (plus `1e-14` for an all-zero
/// gradient).
pub fn assert_directional(what: &str, jvp: f64, g: &[f64], v: &[f64]) {
    assert_eq!(g.len(), v.len(), "{what}: gradient and direction lengths");
    let dot: f64 = g.iter().zip(v).map(|(a, b)| a * b).sum();
    let scale: f64 = g.iter().zip(v).map(|(a, b)| (a * b).abs()).sum();
    let tol = 1e-10 * scale + 1e-14;
    assert!(
        (jvp - dot).abs() <= tol,
        "{what}: forward mode gave {jvp:e}, reverse mode g·v = {dot:e} \
         (difference {:e}, tolerance {tol:e})",
        (jvp - dot).abs()
    );
}

/// `n` numbers uniform in `[lo, hi)`.
pub fn uniform_vec(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}
