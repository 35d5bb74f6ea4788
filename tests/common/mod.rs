//! Shared by the integration tests: a seeded random source and tolerances.
#![allow(dead_code)]

use autodiff::check::Tolerance;

/// SplitMix64: a small, seeded, reproducible source of test points.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}

/// Central differences against an exact derivative: truncation `O(h²)` and
/// rounding `O(ε/h)` with `h = ε^(1/3)` leave about `1e-10` relative on
/// well-scaled functions; `1e-6` leaves room for curvature.
pub const FD: Tolerance = Tolerance {
    rel: 1e-6,
    abs: 1e-8,
};

/// Two exact derivatives computed by different code paths (generated JVP,
/// generated VJP, dual numbers): equal up to a few roundings.
pub const EXACT: Tolerance = Tolerance {
    rel: 1e-12,
    abs: 1e-14,
};

/// `f32` derivatives against the same derivative in `f64`.
pub const F32: Tolerance = Tolerance {
    rel: 1e-4,
    abs: 1e-5,
};

pub fn assert_close(what: &str, got: f64, expected: f64, tol: Tolerance) {
    assert!(
        tol.accepts(got, expected),
        "{what}: got {got:e}, expected {expected:e} (tolerance rel {:e}, abs {:e})",
        tol.rel,
        tol.abs
    );
}

/// Central difference of `f` at `x` along component `i`.
pub fn partial(f: impl Fn(&[f64]) -> f64, x: &[f64], i: usize) -> f64 {
    autodiff::check::central_difference(|p: &[f64]| f(p), x)[i]
}

/// `x` as dual numbers seeded along axis `i`: evaluating a function on them
/// gives its partial derivative with respect to `x[i]`.
pub fn seeded<T: autodiff::Float>(x: &[T], i: usize) -> Vec<autodiff::Dual<T>> {
    x.iter()
        .enumerate()
        .map(|(j, &xj)| {
            if i == j {
                autodiff::Dual::variable(xj)
            } else {
                autodiff::Dual::constant(xj)
            }
        })
        .collect()
}
