//! Every primitive float method, differentiated in forward and reverse mode,
//! against central finite differences and against `Dual`, at 300 random
//! points of its domain, in f64 and f32.
//!
//! Each case is a `#[differentiable]` function calling the primitive, and a
//! generic twin over `num_traits::Float` that `Dual` runs. Points within a
//! small distance of a kink or jump are resampled: there the finite
//! difference straddles the singularity (conventions there are tested in
//! `conventions.rs`).

mod common;

use autodiff::prelude::*;
use autodiff_runtime::Float;
use common::*;

struct Case {
    name: &'static str,
    arity: usize,
    f: fn(&[f64]) -> f64,
    /// (value, derivative along `v`).
    jvp: fn(&[f64], &[f64]) -> (f64, f64),
    grad: fn(&[f64]) -> Vec<f64>,
    /// The VJP with an output cotangent.
    vjp: fn(&[f64], f64) -> (f64, Vec<f64>),
    dual: fn(&[Dual<f64>]) -> Dual<f64>,
    f32: fn(&[f32]) -> f32,
    jvp32: fn(&[f32], &[f32]) -> (f32, f32),
    grad32: fn(&[f32]) -> Vec<f32>,
    dual32: fn(&[Dual<f32>]) -> Dual<f32>,
    sample: fn(&mut Rng) -> Option<Vec<f64>>,
}

macro_rules! case {
    ($name:ident ($a:ident) = $body:expr, $sample:expr) => {{
        mod $name {
            use super::*;
            #[differentiable]
            pub fn f($a: f64) -> f64 {
                $body
            }
            #[differentiable]
            pub fn g($a: f32) -> f32 {
                $body
            }
            pub fn generic<T: Float>($a: T) -> T {
                $body
            }
        }
        Case {
            name: stringify!($name),
            arity: 1,
            f: |x| $name::f(x[0]),
            jvp: |x, v| $name::f_jvp(x[0], v[0]),
            grad: |x| vec![$name::f_grad(x[0])],
            vjp: |x, w| {
                let (y, g) = $name::f_vjp(x[0], w);
                (y, vec![g])
            },
            dual: |x| $name::generic(x[0]),
            f32: |x| $name::g(x[0]),
            jvp32: |x, v| $name::g_jvp(x[0], v[0]),
            grad32: |x| vec![$name::g_grad(x[0])],
            dual32: |x| $name::generic(x[0]),
            sample: $sample,
        }
    }};
    ($name:ident ($a:ident, $b:ident) = $body:expr, $sample:expr) => {{
        mod $name {
            use super::*;
            #[differentiable]
            pub fn f($a: f64, $b: f64) -> f64 {
                $body
            }
            #[differentiable]
            pub fn g($a: f32, $b: f32) -> f32 {
                $body
            }
            pub fn generic<T: Float>($a: T, $b: T) -> T {
                $body
            }
        }
        Case {
            name: stringify!($name),
            arity: 2,
            f: |x| $name::f(x[0], x[1]),
            jvp: |x, v| $name::f_jvp(x[0], x[1], v[0], v[1]),
            grad: |x| {
                let (a, b) = $name::f_grad(x[0], x[1]);
                vec![a, b]
            },
            vjp: |x, w| {
                let (y, (a, b)) = $name::f_vjp(x[0], x[1], w);
                (y, vec![a, b])
            },
            dual: |x| $name::generic(x[0], x[1]),
            f32: |x| $name::g(x[0], x[1]),
            jvp32: |x, v| $name::g_jvp(x[0], x[1], v[0], v[1]),
            grad32: |x| {
                let (a, b) = $name::g_grad(x[0], x[1]);
                vec![a, b]
            },
            dual32: |x| $name::generic(x[0], x[1]),
            sample: $sample,
        }
    }};
    ($name:ident ($a:ident, $b:ident, $c:ident) = $body:expr, $sample:expr) => {{
        mod $name {
            use super::*;
            #[differentiable]
            pub fn f($a: f64, $b: f64, $c: f64) -> f64 {
                $body
            }
            #[differentiable]
            pub fn g($a: f32, $b: f32, $c: f32) -> f32 {
                $body
            }
            pub fn generic<T: Float>($a: T, $b: T, $c: T) -> T {
                $body
            }
        }
        Case {
            name: stringify!($name),
            arity: 3,
            f: |x| $name::f(x[0], x[1], x[2]),
            jvp: |x, v| $name::f_jvp(x[0], x[1], x[2], v[0], v[1], v[2]),
            grad: |x| {
                let (a, b, c) = $name::f_grad(x[0], x[1], x[2]);
                vec![a, b, c]
            },
            vjp: |x, w| {
                let (y, (a, b, c)) = $name::f_vjp(x[0], x[1], x[2], w);
                (y, vec![a, b, c])
            },
            dual: |x| $name::generic(x[0], x[1], x[2]),
            f32: |x| $name::g(x[0], x[1], x[2]),
            jvp32: |x, v| $name::g_jvp(x[0], x[1], x[2], v[0], v[1], v[2]),
            grad32: |x| {
                let (a, b, c) = $name::g_grad(x[0], x[1], x[2]);
                vec![a, b, c]
            },
            dual32: |x| $name::generic(x[0], x[1], x[2]),
            sample: $sample,
        }
    }};
}

/// One point uniform in `[lo, hi)`.
fn u(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    r.uniform(lo, hi)
}

/// Distance from `x` to the nearest integer.
fn off_integer(x: f64) -> f64 {
    (x - x.round()).abs()
}

fn cases() -> Vec<Case> {
    vec![
        case!(sin(x) = x.sin(), |r| Some(vec![u(r, -10.0, 10.0)])),
        case!(cos(x) = x.cos(), |r| Some(vec![u(r, -10.0, 10.0)])),
        case!(tan(x) = x.tan(), |r| Some(vec![u(r, -1.4, 1.4)])),
        case!(asin(x) = x.asin(), |r| Some(vec![u(r, -0.95, 0.95)])),
        case!(acos(x) = x.acos(), |r| Some(vec![u(r, -0.95, 0.95)])),
        case!(atan(x) = x.atan(), |r| Some(vec![u(r, -10.0, 10.0)])),
        case!(sinh(x) = x.sinh(), |r| Some(vec![u(r, -5.0, 5.0)])),
        case!(cosh(x) = x.cosh(), |r| Some(vec![u(r, -5.0, 5.0)])),
        case!(tanh(x) = x.tanh(), |r| Some(vec![u(r, -5.0, 5.0)])),
        case!(asinh(x) = x.asinh(), |r| Some(vec![u(r, -10.0, 10.0)])),
        case!(acosh(x) = x.acosh(), |r| Some(vec![u(r, 1.05, 10.0)])),
        case!(atanh(x) = x.atanh(), |r| Some(vec![u(r, -0.95, 0.95)])),
        case!(exp(x) = x.exp(), |r| Some(vec![u(r, -5.0, 5.0)])),
        case!(exp2(x) = x.exp2(), |r| Some(vec![u(r, -5.0, 5.0)])),
        case!(exp_m1(x) = x.exp_m1(), |r| Some(vec![u(r, -5.0, 5.0)])),
        case!(ln(x) = x.ln(), |r| Some(vec![u(r, 0.05, 10.0)])),
        case!(ln_1p(x) = x.ln_1p(), |r| Some(vec![u(r, -0.9, 10.0)])),
        case!(log2(x) = x.log2(), |r| Some(vec![u(r, 0.05, 10.0)])),
        case!(log10(x) = x.log10(), |r| Some(vec![u(r, 0.05, 10.0)])),
        case!(sqrt(x) = x.sqrt(), |r| Some(vec![u(r, 0.05, 10.0)])),
        case!(cbrt(x) = x.cbrt(), |r| {
            let x = u(r, -10.0, 10.0);
            (x.abs() > 0.05).then(|| vec![x])
        }),
        case!(recip(x) = x.recip(), |r| {
            let x = u(r, -10.0, 10.0);
            (x.abs() > 0.1).then(|| vec![x])
        }),
        case!(abs(x) = x.abs(), |r| {
            let x = u(r, -10.0, 10.0);
            (x.abs() > 1e-3).then(|| vec![x])
        }),
        case!(signum(x) = x.signum(), |r| {
            let x = u(r, -10.0, 10.0);
            (x.abs() > 1e-3).then(|| vec![x])
        }),
        case!(to_degrees(x) = x.to_degrees(), |r| Some(vec![u(
            r, -10.0, 10.0
        )])),
        case!(to_radians(x) = x.to_radians(), |r| Some(vec![u(
            r, -500.0, 500.0
        )])),
        case!(floor(x) = x.floor(), |r| {
            let x = u(r, -10.0, 10.0);
            (off_integer(x) > 1e-3).then(|| vec![x])
        }),
        case!(ceil(x) = x.ceil(), |r| {
            let x = u(r, -10.0, 10.0);
            (off_integer(x) > 1e-3).then(|| vec![x])
        }),
        case!(round(x) = x.round(), |r| {
            let x = u(r, -10.0, 10.0);
            (off_integer(x + 0.5) > 1e-3).then(|| vec![x])
        }),
        case!(trunc(x) = x.trunc(), |r| {
            let x = u(r, -10.0, 10.0);
            (off_integer(x) > 1e-3).then(|| vec![x])
        }),
        case!(fract(x) = x.fract(), |r| {
            let x = u(r, -10.0, 10.0);
            (off_integer(x) > 1e-3).then(|| vec![x])
        }),
        case!(powi_neg3(x) = x.powi(-3), |r| {
            let x = u(r, -3.0, 3.0);
            (x.abs() > 0.2).then(|| vec![x])
        }),
        case!(powi_0(x) = x.powi(0), |r| Some(vec![u(r, -3.0, 3.0)])),
        case!(powi_1(x) = x.powi(1), |r| Some(vec![u(r, -3.0, 3.0)])),
        case!(powi_4(x) = x.powi(4), |r| Some(vec![u(r, -3.0, 3.0)])),
        case!(powf(x, p) = x.powf(p), |r| Some(vec![
            u(r, 0.1, 4.0),
            u(r, -3.0, 3.0)
        ])),
        case!(log(x, b) = x.log(b), |r| {
            let b = u(r, 0.1, 10.0);
            ((b - 1.0).abs() > 0.2).then(|| vec![u(r, 0.05, 10.0), b])
        }),
        case!(atan2(y, x) = y.atan2(x), |r| {
            let (y, x) = (u(r, -5.0, 5.0), u(r, -5.0, 5.0));
            // Away from the origin and from the branch cut on the negative x axis.
            (x.hypot(y) > 0.1 && !(x < 0.0 && y.abs() < 1e-3)).then(|| vec![y, x])
        }),
        case!(hypot(x, y) = x.hypot(y), |r| {
            let (x, y) = (u(r, -5.0, 5.0), u(r, -5.0, 5.0));
            (x.hypot(y) > 0.1).then(|| vec![x, y])
        }),
        case!(max(x, y) = x.max(y), |r| {
            let (x, y) = (u(r, -5.0, 5.0), u(r, -5.0, 5.0));
            ((x - y).abs() > 1e-3).then(|| vec![x, y])
        }),
        case!(min(x, y) = x.min(y), |r| {
            let (x, y) = (u(r, -5.0, 5.0), u(r, -5.0, 5.0));
            ((x - y).abs() > 1e-3).then(|| vec![x, y])
        }),
        case!(rem(x, y) = x % y, |r| {
            let (x, y) = (u(r, -10.0, 10.0), u(r, 0.5, 5.0));
            (off_integer(x / y) > 1e-2 && (x / y).abs() > 1e-2).then(|| vec![x, y])
        }),
        case!(mul_add(a, b, c) = a.mul_add(b, c), |r| {
            Some(vec![u(r, -5.0, 5.0), u(r, -5.0, 5.0), u(r, -5.0, 5.0)])
        }),
        case!(clamp(x, lo, hi) = x.clamp(lo, hi), |r| {
            let (x, lo, hi) = (u(r, -10.0, 10.0), u(r, -5.0, -1.0), u(r, 1.0, 5.0));
            ((x - lo).abs() > 1e-3 && (x - hi).abs() > 1e-3).then(|| vec![x, lo, hi])
        }),
    ]
}

const POINTS: usize = 300;

fn sample(case: &Case, rng: &mut Rng) -> Vec<f64> {
    loop {
        if let Some(x) = (case.sample)(rng) {
            return x;
        }
    }
}

fn dual_partial(case: &Case, x: &[f64], i: usize) -> f64 {
    (case.dual)(&seeded(x, i)).eps
}

#[test]
fn every_primitive_against_finite_differences_and_dual_numbers() {
    let mut rng = Rng::new(0x5EED);
    for case in cases() {
        for _ in 0..POINTS {
            let x = sample(&case, &mut rng);
            let at = format!("{} at {x:?}", case.name);
            let grad = (case.grad)(&x);
            assert_eq!(grad.len(), case.arity);
            for i in 0..case.arity {
                let mut e = vec![0.0; case.arity];
                e[i] = 1.0;
                let (y, d) = (case.jvp)(&x, &e);
                assert_eq!(y.to_bits(), (case.f)(&x).to_bits(), "{at}: JVP value");
                let fd = partial(case.f, &x, i);
                let dual = dual_partial(&case, &x, i);
                assert_close(&format!("{at}: JVP ∂{i} vs finite differences"), d, fd, FD);
                assert_close(
                    &format!("{at}: VJP ∂{i} vs finite differences"),
                    grad[i],
                    fd,
                    FD,
                );
                assert_close(&format!("{at}: JVP ∂{i} vs Dual"), d, dual, EXACT);
                assert_close(&format!("{at}: VJP ∂{i} vs Dual"), grad[i], dual, EXACT);
            }
            // Dot-product test with random directions: <J v, w> = <v, J^T w>.
            let v: Vec<f64> = (0..case.arity).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let w = rng.uniform(-1.0, 1.0);
            let (_, jv) = (case.jvp)(&x, &v);
            let (y, jtw) = (case.vjp)(&x, w);
            assert_eq!(y.to_bits(), (case.f)(&x).to_bits(), "{at}: VJP value");
            let rhs: f64 = v.iter().zip(&jtw).map(|(a, b)| a * b).sum();
            let scale = v.iter().zip(&jtw).map(|(a, b)| (a * b).abs()).sum::<f64>();
            assert_close(
                &format!("{at}: dot-product test"),
                jv * w,
                rhs,
                autodiff::check::Tolerance {
                    rel: 1e-12,
                    abs: 1e-14 * scale.max(1.0),
                },
            );
        }
    }
}

#[test]
fn every_primitive_in_f32() {
    let mut rng = Rng::new(0xF32);
    for case in cases() {
        for _ in 0..POINTS {
            let x = sample(&case, &mut rng);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            // The f32 point, back in f64, is where the f64 reference is taken.
            let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
            let at = format!("{} (f32) at {x32:?}", case.name);
            let grad = (case.grad32)(&x32);
            for i in 0..case.arity {
                let mut e = vec![0.0f32; case.arity];
                e[i] = 1.0;
                let (y, d) = (case.jvp32)(&x32, &e);
                assert_eq!(y.to_bits(), (case.f32)(&x32).to_bits(), "{at}: JVP value");
                let dual = (case.dual32)(&seeded(&x32, i)).eps;
                let reference = dual_partial(&case, &x64, i);
                assert_close(
                    &format!("{at}: JVP ∂{i} vs Dual<f32>"),
                    d as f64,
                    dual as f64,
                    EXACT,
                );
                assert_close(
                    &format!("{at}: VJP ∂{i} vs Dual<f32>"),
                    grad[i] as f64,
                    dual as f64,
                    EXACT,
                );
                assert_close(&format!("{at}: JVP ∂{i} vs f64"), d as f64, reference, F32);
            }
        }
    }
}
