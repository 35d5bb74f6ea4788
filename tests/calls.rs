//! Calls from one differentiable function to another: in the same module,
//! by path, as methods and associated functions in `impl` blocks, with
//! tuple outputs and inactive arguments; and the cost of reverse mode
//! through a chain of calls.

mod common;

use std::cell::Cell;

use autodiff::prelude::*;
use common::*;

#[differentiable]
fn square(x: f64) -> f64 {
    x * x
}

mod shapes {
    use autodiff::prelude::*;

    #[differentiable]
    pub fn polar(r: f64, theta: f64) -> (f64, f64) {
        (r * theta.cos(), r * theta.sin())
    }

    #[differentiable]
    pub fn scaled(x: f64, n: usize) -> f64 {
        x * n as f64
    }
}

#[differentiable]
fn caller(r: f64, t: f64) -> f64 {
    let (x, y) = shapes::polar(r, t);
    let s = square(x) + self::square(y);
    shapes::scaled(s, 3) + crate::square(t).sin()
}

#[test]
fn calls_by_path_with_tuple_outputs_and_inactive_arguments() {
    let mut rng = Rng::new(11);
    for _ in 0..200 {
        let (r, t) = (rng.uniform(0.1, 2.0), rng.uniform(-2.0, 2.0));
        // caller = 3 r² + sin(t²)
        let (gr, gt) = caller_grad(r, t);
        assert_close(
            "caller value",
            caller(r, t),
            3.0 * r * r + (t * t).sin(),
            EXACT,
        );
        assert_close("caller ∂r", gr, 6.0 * r, EXACT);
        assert_close(
            "caller ∂t",
            gt,
            2.0 * t * (t * t).cos(),
            Tolerance {
                rel: 1e-10,
                abs: 1e-12,
            },
        );
        let (v, d) = caller_jvp(r, t, 0.5, -1.0);
        assert_eq!(v, caller(r, t));
        assert_close(
            "caller jvp",
            d,
            0.5 * gr - gt,
            Tolerance {
                rel: 1e-10,
                abs: 1e-12,
            },
        );
    }
}

use autodiff::check::Tolerance;

struct Spring {
    k: f64,
    rest: f64,
}

impl Spring {
    #[differentiable]
    fn stretch(&self, x: f64) -> f64 {
        x - self.rest
    }

    #[differentiable]
    fn energy(&self, x: f64) -> f64 {
        let s = self.stretch(x);
        0.5 * self.k * Self::square(s)
    }

    #[differentiable]
    fn square(x: f64) -> f64 {
        x * x
    }
}

#[test]
fn methods_and_associated_functions() {
    let spring = Spring { k: 3.0, rest: 0.5 };
    for x in [-1.0, 0.0, 0.5, 2.25] {
        let e = spring.energy(x);
        let (v, g) = spring.energy_value_and_grad(x);
        assert_eq!(v, e);
        assert_close("spring force", g, 3.0 * (x - 0.5), EXACT);
        let (_, d) = spring.energy_jvp(x, 1.0);
        assert_eq!(d, g);
        assert_eq!(Spring::square_grad(x), 2.0 * x);
    }
}

// A leaf with hand-written derivatives that count how often its primal
// runs: registration is name resolution, so the siblings callers use
// (`__leaf_jvp`, `__leaf_pullback` and `__leaf_wrt`, docs/api.md) are what
// the macro calls.
thread_local! {
    static LEAF_RUNS: Cell<usize> = const { Cell::new(0) };
}

fn leaf(x: f64) -> f64 {
    LEAF_RUNS.with(|c| c.set(c.get() + 1));
    x.sin()
}

#[allow(dead_code)]
fn __leaf_jvp(x: f64, dx: f64) -> (f64, f64) {
    (leaf(x), x.cos() * dx)
}

#[allow(dead_code)]
fn __leaf_jvp_lanes<const K: usize>(
    x: f64,
    dx: autodiff::Lanes<f64, K>,
) -> (f64, autodiff::Lanes<f64, K>) {
    (leaf(x), dx * x.cos())
}

fn __leaf_pullback(x: f64) -> (f64, impl FnOnce(f64) -> f64) {
    (leaf(x), move |dr| x.cos() * dr)
}

#[allow(non_upper_case_globals, dead_code)]
const __leaf_wrt: [bool; 1] = [true];
#[allow(non_upper_case_globals)]
const __annotate_leaf_with_differentiable_or_custom_vjp: () = ();

#[differentiable]
fn level1(x: f64) -> f64 {
    leaf(x) * 2.0
}

#[differentiable]
fn level2(x: f64) -> f64 {
    level1(x) + 1.0
}

#[differentiable]
fn level3(x: f64) -> f64 {
    level2(x) * level2(x)
}

#[test]
fn reverse_mode_runs_each_callee_once_per_call() {
    LEAF_RUNS.with(|c| c.set(0));
    let x = 0.7f64;
    let g = level3_grad(x);
    // level3 calls level2 twice, each of which reaches the leaf once: two
    // runs, whatever the depth. Recomputing in the reverse sweep would make
    // it grow with the depth of the chain.
    assert_eq!(LEAF_RUNS.with(Cell::get), 2);
    let l2 = 2.0 * x.sin() + 1.0;
    assert_close("level3 grad", g, 2.0 * l2 * 2.0 * x.cos(), EXACT);
    assert_eq!(level3(x), l2 * l2);
}

#[differentiable]
fn total_sq(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

#[differentiable]
fn weighted(x: &[f64], w: f64) -> f64 {
    total_sq(x) * w + total_sq(x).sqrt()
}

#[differentiable(wrt(w))]
fn weighted_in_w(x: &[f64], w: f64) -> f64 {
    total_sq(x) * w * w
}

#[test]
fn calls_taking_slices() {
    let mut rng = Rng::new(31);
    for n in [1, 4] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let w = rng.uniform(0.5, 2.0);
        let s: f64 = x.iter().map(|v| v * v).sum();
        let (gx, gw) = weighted_grad(&x, w);
        assert_close("∂w", gw, s, EXACT);
        for i in 0..n {
            assert_close("∂x", gx[i], 2.0 * x[i] * w + x[i] / s.sqrt(), EXACT);
        }
        let (v, d) = weighted_jvp(&x, w, &x, 0.0);
        assert_eq!(v, weighted(&x, w));
        let expected: f64 = gx.iter().zip(&x).map(|(a, b)| a * b).sum();
        assert_close("weighted jvp", d, expected, EXACT);
        // A slice that is not differentiated: zeros for its tangent.
        let (v, d) = weighted_in_w_jvp(&x, w, 1.0);
        assert_eq!(v, weighted_in_w(&x, w));
        assert_close("weighted_in_w jvp", d, 2.0 * s * w, EXACT);
        assert_close(
            "weighted_in_w grad",
            weighted_in_w_grad(&x, w),
            2.0 * s * w,
            EXACT,
        );
    }
}
