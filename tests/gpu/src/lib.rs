//! Shared by the GPU tests: the adapter, or a skip.
//!
//! Without an adapter the tests skip with a message that says how to get a
//! software one, so that `cargo test --workspace` passes on a laptop
//! without a GPU; with `AUTODIFF_REQUIRE_GPU=1` (CI) they fail instead.

use autodiff::gpu::Gpu;
use autodiff::prelude::*;

/// The shared GPU context, or `None` (after saying why) when there is no
/// adapter and `AUTODIFF_REQUIRE_GPU` is not set.
pub fn gpu() -> Option<&'static Gpu> {
    match Gpu::shared() {
        Ok(gpu) => Some(gpu),
        Err(e) => {
            if std::env::var_os("AUTODIFF_REQUIRE_GPU").is_some_and(|v| v != "0") {
                panic!("AUTODIFF_REQUIRE_GPU is set and there is no GPU: {e}");
            }
            // Once per test binary, and past the test harness's capture of
            // `eprintln!`, so that a passing run shows that it skipped.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping the GPU tests: {e}. Set AUTODIFF_REQUIRE_GPU=1 to make this an error."
                );
            });
            None
        }
    }
}

/// A small generator of test inputs (no dependency): uniform in `lo..hi`.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }

    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi) as f32).collect()
    }
}

/// The largest `|got - want| / (1 + |want|)`.
pub fn max_error(got: &[f32], want: &[f64]) -> f64 {
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (f64::from(g) - w).abs() / (1.0 + w.abs()))
        .fold(0.0, f64::max)
}

/// Asserts `|got - want| <= tol (1 + |want|)` element by element.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= tol * (1.0 + w.abs()),
            "{what}[{i}]: GPU {g}, CPU {w} (error {err:e}, tolerance {tol:e} (1 + |CPU|))"
        );
    }
}

/// The issue's workload, `f(x) = sin(x) x + exp(-x)`, its VJP written by
/// hand as one fused WGSL kernel: what the generated kernel is measured
/// against (`benches/gpu.rs`) and checked against (`tests/functions.rs`).
pub const HAND_WRITTEN_VJP: &str = r#"
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i < arrayLength(&g) {
        let v = x[i];
        g[i] = dy[i] * (sin(v) + v * cos(v) - exp(-v));
    }
}
"#;

/// `sum(w * (A B))` for row-major `A` (`m x k`), `B` (`k x n`): its
/// gradient is `(w Bᵀ, Aᵀ w)`, the VJP of the product, the CPU reference
/// of the GPU's `matmul_vjp` (generic: f64 in the tests, f32 in the
/// benchmark).
#[differentiable(wrt(a, b))]
pub fn product_dot<T: Float>(a: &[T], b: &[T], w: &[T], m: usize, k: usize, n: usize) -> T {
    let mut s = T::zero();
    for i in 0..m {
        for j in 0..n {
            let mut c = T::zero();
            for l in 0..k {
                c = c + a[i * k + l] * b[l * n + j];
            }
            s = s + w[i * n + j] * c;
        }
    }
    s
}
