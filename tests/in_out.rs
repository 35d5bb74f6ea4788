//! In-out parameters (`y: &mut [f64]` that the function reads and writes):
//! their initial contents are an input, whatever else is active
//! (docs/internals.md, "In-out parameters"). Before, a state updated only
//! from itself (`y[i] = y[i] * 0.5`, `y[i] += 0.1 * y[i].sin()`) got no
//! derivative at all, and an element overwritten without being read kept
//! a stale cotangent in `f_vjp`. Each stepper is checked in forward mode
//! against central differences, in reverse mode against forward mode
//! (the dot-product test), through callers, and at `f32` against `f64`.
// The programs are kept as reported: some steppers ignore `k`.
#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    unused_variables
)]

mod common;

use common::*;

/// The same steppers at `f64` and at `f32`.
macro_rules! steppers {
    ($t:ident) => {
        use autodiff::prelude::*;

        #[differentiable]
        pub fn half(k: $t, y: &mut [$t]) {
            for i in 0..y.len() {
                y[i] = y[i] * 0.5;
            }
        }

        #[differentiable]
        pub fn negate(k: $t, y: &mut [$t]) {
            for i in 0..y.len() {
                y[i] = -y[i];
            }
        }

        #[differentiable]
        pub fn squash(k: $t, y: &mut [$t]) {
            for i in 0..y.len() {
                y[i] = y[i].tanh();
            }
        }

        /// A stepper that also returns a value.
        #[differentiable]
        pub fn damp(k: $t, y: &mut [$t]) -> $t {
            for i in 0..y.len() {
                y[i] = y[i] * 0.9;
            }
            y[0] + k
        }

        /// An increment: d y'/d y = 1 + 0.1 cos y, not 1.
        #[differentiable]
        pub fn nudge(k: $t, y: &mut [$t]) {
            for i in 0..y.len() {
                y[i] += 0.1 * y[i].sin();
            }
        }

        /// Right before the fix too: `k` made the state active.
        #[differentiable]
        pub fn shifted(k: $t, y: &mut [$t]) {
            for i in 0..y.len() {
                y[i] = y[i] * 0.5 + k;
            }
        }

        /// Compound updates of elements: `y[i] = y[i] * k`.
        #[differentiable]
        pub fn scale(k: $t, y: &mut [$t]) {
            for i in 0..y.len() {
                y[i] *= k;
                y[i] /= 1.0 + k * k;
            }
        }

        /// `y[0]` overwritten without being read, `y[1]` added into.
        #[differentiable]
        pub fn part(k: $t, y: &mut [$t]) {
            y[0] = k;
            y[1] += k;
        }

        /// In-place normalisation: the only float parameter is in-out.
        #[differentiable]
        pub fn normalize(v: &mut [$t]) {
            let mut s = 0.0;
            for i in 0..v.len() {
                s += v[i] * v[i];
            }
            let n = s.sqrt();
            for i in 0..v.len() {
                v[i] = v[i] / n;
            }
        }

        /// In-place smoothing: each element reads the one written before.
        #[differentiable]
        pub fn smooth(k: $t, y: &mut [$t]) {
            for i in 1..y.len() {
                y[i] = 0.5 * (y[i - 1] + y[i]) * k.cos();
            }
        }

        #[differentiable]
        pub fn half_caller(a: $t, k: $t) -> $t {
            let mut w = vec![0.0; 2];
            w[0] = a;
            half(k, &mut w);
            w[0]
        }

        /// A stepper's value depends on the state it is lent: the
        /// caller's gradient through it (found by the fuzzer: the value
        /// of a call whose only active input is an array lent mutably
        /// had no derivative in reverse mode).
        #[differentiable]
        pub fn tally(w: &mut [$t]) -> $t {
            w[0] *= 0.5;
            w[0] + w[1]
        }

        #[differentiable]
        pub fn stepped_values(a: $t, k: $t) -> $t {
            let mut w = vec![0.0; 2];
            w[0] = a * a;
            w[1] = a;
            damp(k, &mut w);
            let v = damp(0.5, &mut w);
            let t = tally(&mut w);
            v * t + w[1]
        }

        /// Steppers called in a loop on a local state, then read.
        #[differentiable]
        pub fn integrate(a: $t, k: $t) -> $t {
            let mut w = vec![0.0; 3];
            w[0] = a;
            w[1] = a * k;
            w[2] = 1.0;
            for _ in 0..3 {
                nudge(k, &mut w);
                smooth(k, &mut w);
                squash(k, &mut w);
            }
            let d = damp(k, &mut w);
            normalize(&mut w);
            part(a, &mut w);
            w[0] * w[1] + w[2] * d
        }
    };
}

mod f64s {
    steppers!(f64);
}

mod f32s {
    steppers!(f32);
}

/// An in-out stepper through its three entry points, at `f64`: the primal
/// `(k, y) -> r`, the JVP `(k, y, dk, dy) -> dr` (leaving the final state
/// in `y` and its tangent in `dy`) and the VJP `(k, y, dr, wy) -> gk`
/// (leaving the final state in `y` and the initial state's cotangent in
/// `wy`).
struct Stepper {
    name: &'static str,
    run: fn(f64, &mut [f64]) -> f64,
    jvp: fn(f64, &mut [f64], f64, &mut [f64]) -> f64,
    vjp: fn(f64, &mut [f64], f64, &mut [f64]) -> f64,
}

macro_rules! stepper {
    ($m:ident :: $name:ident, $jvp:ident, $vjp:ident, unit) => {
        Stepper {
            name: stringify!($name),
            run: |k, y| {
                $m::$name(k, y);
                0.0
            },
            jvp: |k, y, dk, dy| {
                $m::$jvp(k, y, dk, dy);
                0.0
            },
            vjp: |k, y, _, wy| $m::$vjp(k, y, wy),
        }
    };
    ($m:ident :: $name:ident, $jvp:ident, $vjp:ident, value) => {
        Stepper {
            name: stringify!($name),
            run: $m::$name,
            jvp: |k, y, dk, dy| $m::$jvp(k, y, dk, dy).1,
            vjp: |k, y, dr, wy| $m::$vjp(k, y, dr, wy).1,
        }
    };
}

fn steppers() -> Vec<Stepper> {
    vec![
        stepper!(f64s::half, half_jvp, half_vjp, unit),
        stepper!(f64s::negate, negate_jvp, negate_vjp, unit),
        stepper!(f64s::squash, squash_jvp, squash_vjp, unit),
        stepper!(f64s::damp, damp_jvp, damp_vjp, value),
        stepper!(f64s::nudge, nudge_jvp, nudge_vjp, unit),
        stepper!(f64s::shifted, shifted_jvp, shifted_vjp, unit),
        stepper!(f64s::part, part_jvp, part_vjp, unit),
        stepper!(f64s::scale, scale_jvp, scale_vjp, unit),
        stepper!(f64s::smooth, smooth_jvp, smooth_vjp, unit),
        Stepper {
            name: "normalize",
            run: |_, y| {
                f64s::normalize(y);
                0.0
            },
            jvp: |_, y, _, dy| {
                f64s::normalize_jvp(y, dy);
                0.0
            },
            vjp: |_, y, _, wy| {
                f64s::normalize_vjp(y, wy);
                0.0
            },
        },
    ]
}

/// Forward mode against central differences of the final state and the
/// value, reverse against forward (`<w, J v> = <Jᵀ w, v>`), and the
/// state each sibling leaves, at many random states and directions.
#[test]
fn steppers_against_differences_and_each_other() {
    let mut rng = Rng::new(18);
    for s in steppers() {
        for n in [2, 3, 5] {
            for _ in 0..20 {
                let k = rng.uniform(0.2, 1.5);
                let y0: Vec<f64> = (0..n).map(|_| rng.uniform(-1.5, 1.5)).collect();
                let (dk, dy0): (f64, Vec<f64>) = (
                    rng.uniform(-1.0, 1.0),
                    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect(),
                );
                let mut y = y0.clone();
                let r = (s.run)(k, &mut y);
                // Forward mode.
                let (mut yj, mut dy) = (y0.clone(), dy0.clone());
                let dr = (s.jvp)(k, &mut yj, dk, &mut dy);
                assert_eq!(yj, y, "{}: the state f_jvp leaves", s.name);
                let h = 1e-6;
                let moved = |t: f64| {
                    let mut y: Vec<f64> = y0.iter().zip(&dy0).map(|(y, d)| y + t * d).collect();
                    let r = (s.run)(k + t * dk, &mut y);
                    (r, y)
                };
                let ((rp, yp), (rm, ym)) = (moved(h), moved(-h));
                for i in 0..n {
                    let fd = (yp[i] - ym[i]) / (2.0 * h);
                    assert_close(&format!("{} (n={n}): dy[{i}]", s.name), dy[i], fd, FD);
                }
                assert_close(&format!("{}: dr", s.name), dr, (rp - rm) / (2.0 * h), FD);
                // Reverse mode, against forward mode.
                let wr = rng.uniform(-1.0, 1.0);
                let w: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let (mut yv, mut wy) = (y0.clone(), w.clone());
                let gk = (s.vjp)(k, &mut yv, wr, &mut wy);
                assert_eq!(yv, y, "{}: the state f_vjp leaves", s.name);
                let lhs: f64 = w.iter().zip(&dy).map(|(a, b)| a * b).sum::<f64>() + wr * dr;
                let rhs: f64 = gk * dk + wy.iter().zip(&dy0).map(|(a, b)| a * b).sum::<f64>();
                assert_close(&format!("{}: <w, Jv> = <Jᵀw, v>", s.name), lhs, rhs, EXACT);
            }
        }
    }
}

/// The derivatives the issue wrote next to the programs.
#[test]
fn closed_forms() {
    assert_eq!(f64s::half_caller_grad(3.0, 0.7), (0.5, 0.0));
    assert_eq!(f32s::half_caller_grad(3.0, 0.7), (0.5, 0.0));
    let (mut y, mut dy) = ([3.0, 1.0], [1.0, 0.0]);
    f64s::half_jvp(0.7, &mut y, 0.0, &mut dy);
    assert_eq!((y, dy), ([1.5, 0.5], [0.5, 0.0]));
    // An increment keeps its whole derivative, not only the identity.
    let (mut y, mut wy) = ([3.0, 1.0], [1.0, 1.0]);
    f64s::nudge_vjp(0.7, &mut y, &mut wy);
    assert_close("nudge", wy[0], 1.0 + 0.1 * 3f64.cos(), EXACT);
    assert_close("nudge", wy[1], 1.0 + 0.1 * 1f64.cos(), EXACT);
    // The overwritten element's initial value does not reach the output.
    let (mut y, mut wy) = ([3.0, 1.0], [1.0, 1.0]);
    let gk = f64s::part_vjp(0.7, &mut y, &mut wy);
    assert_eq!((gk, wy, y), (2.0, [0.0, 1.0], [0.7, 1.7]));
    let (mut y, mut wy) = ([3.0f32, 1.0], [1.0f32, 1.0]);
    let gk = f32s::part_vjp(0.7, &mut y, &mut wy);
    assert_eq!((gk, wy), (2.0, [0.0, 1.0]));
    // d/dy0 [y0 * 0.9 + k] = 0.9 through the returned value.
    let (mut y, mut wy) = ([3.0, 1.0], [0.0, 0.0]);
    let (r, gk) = f64s::damp_vjp(0.7, &mut y, 1.0, &mut wy);
    assert_close("damp", r, 2.7 + 0.7, EXACT);
    assert_eq!((gk, wy), (1.0, [0.9, 0.0]));
}

/// Callers of the steppers: gradients against central differences and
/// forward mode, at `f64`, and the `f32` siblings against them.
#[test]
fn callers() {
    type Grad = fn(f64, f64) -> (f64, f64);
    type Jvp = fn(f64, f64, f64, f64) -> (f64, f64);
    type Grad32 = fn(f32, f32) -> (f32, f32);
    type Caller = (&'static str, fn(f64, f64) -> f64, Grad, Jvp, Grad32);
    let cases: [Caller; 3] = [
        (
            "stepped_values",
            f64s::stepped_values,
            f64s::stepped_values_grad,
            f64s::stepped_values_jvp,
            f32s::stepped_values_grad,
        ),
        (
            "half_caller",
            f64s::half_caller,
            f64s::half_caller_grad,
            f64s::half_caller_jvp,
            f32s::half_caller_grad,
        ),
        (
            "integrate",
            f64s::integrate,
            f64s::integrate_grad,
            f64s::integrate_jvp,
            f32s::integrate_grad,
        ),
    ];
    let mut rng = Rng::new(7);
    for (name, f, grad, jvp, grad32) in cases {
        for _ in 0..30 {
            let (a, k) = (rng.uniform(-1.5, 1.5), rng.uniform(0.2, 1.2));
            let (ga, gk) = grad(a, k);
            let x = [a, k];
            let g = |x: &[f64]| f(x[0], x[1]);
            autodiff::check::gradient(g, &[ga, gk], &x, FD)
                .unwrap_or_else(|e| panic!("{name} at {x:?}: {e}"));
            let (v, d) = jvp(a, k, 0.3, -0.7);
            assert_eq!(v, f(a, k), "{name}: JVP value");
            assert_close(&format!("{name}: JVP"), d, 0.3 * ga - 0.7 * gk, EXACT);
            let (ga32, gk32) = grad32(a as f32, k as f32);
            assert_close(&format!("{name}: f32"), ga32 as f64, ga, F32);
            assert_close(&format!("{name}: f32"), gk32 as f64, gk, F32);
        }
    }
}
