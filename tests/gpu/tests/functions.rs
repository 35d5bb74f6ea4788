//! `#[differentiable(gpu)]` functions: the value, JVP and VJP kernels agree
//! with the CPU siblings the same macro generates, element by element, on
//! random inputs, for straight-line code, branches, calls and fixed loops.

#![deny(warnings)]

use autodiff::gpu::{MapArg, Mode};
use autodiff::prelude::*;
use autodiff_gpu_tests::{HAND_WRITTEN_VJP, Lcg, assert_close, gpu};

/// The workload.
#[differentiable(gpu)]
fn f(x: f32) -> f32 {
    x.sin() * x + (-x).exp()
}

/// Several parameters, a branch, most kinds of primitive.
#[differentiable(gpu)]
fn mixed(x: f32, y: f32, z: f32) -> f32 {
    let r = x.hypot(y);
    let a = if r > 1.0 {
        r.ln() * z.tanh()
    } else {
        (x * y).atan2(1.0 + z * z) - r.powi(3)
    };
    let b = z.abs().sqrt() + x.max(y) * y.min(0.5);
    a * b + (x - y).powf(2.0) / (1.0 + z.exp())
}

#[differentiable(gpu)]
fn softplus(x: f32) -> f32 {
    if x > 20.0 { x } else { x.exp().ln_1p() }
}

/// A call of another GPU function, twice.
#[differentiable(gpu)]
fn calls(x: f32, y: f32) -> f32 {
    softplus(x * y) - 0.5 * softplus(y - x)
}

/// A call whose first argument is a call of constants: its tangent is a
/// zero the JVP makes (found by the GPU fuzzer).
#[differentiable(gpu)]
fn constant_argument(x: f32, y: f32) -> f32 {
    let mut m = x;
    m += calls(softplus(1.25), m - y);
    m
}

/// A fixed loop, unrolled: Horner's rule and a few Newton steps. The
/// integer literal with a separator (`1_000`) was read as 1 by the WGSL
/// emitter, a wrong value found in review.
#[differentiable(gpu)]
fn looped(x: f32, c: f32) -> f32 {
    let mut p = 0.0;
    for k in 0..6 {
        p = p * x + c / (k as f32 + 1.0) + ((k + 1_000) as f32) * 1e-4;
    }
    let mut s = 1.0;
    for _ in 0..4 {
        s = 0.5 * (s + (x * x + 1.0) / s);
    }
    p + s
}

/// `match` on an integer computed from a float.
#[differentiable(gpu)]
fn piecewise(x: f32, y: f32) -> f32 {
    let k = (x * 2.0).floor() as i32;
    match k {
        0 => x * y,
        1 | 2 => (x - y).sin(),
        _ => y.exp() / (1.0 + x * x),
    }
}

fn inputs(rng: &mut Lcg, n: usize, k: usize) -> Vec<Vec<f32>> {
    (0..k).map(|_| rng.vec(n, -2.5, 2.5)).collect()
}

const N: usize = 4099; // more than one workgroup, not a multiple of 256

/// Tolerance of the GPU against the CPU, relative to 1 + |value|: f32
/// transcendental functions differ in their last bits between libm and a
/// GPU's builtins, and the differences grow through a few operations. The
/// largest seen on lavapipe is 4.5e-6 (the JVP of `looped`); 2e-6 fails.
const TOL: f64 = 2e-5;

#[test]
fn one_parameter() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(1);
    let x = rng.vec(N, -3.0, 3.0);
    let dx = rng.vec(N, -1.0, 1.0);
    let dr = rng.vec(N, -1.0, 1.0);
    let value: Vec<f64> = x.iter().map(|&x| f64::from(f(x))).collect();
    assert_close("f", &f_gpu(gpu, &x).unwrap(), &value, TOL);
    let (v, t) = f_jvp_gpu(gpu, &x, &dx).unwrap();
    let jvp: Vec<(f32, f32)> = x.iter().zip(&dx).map(|(&x, &d)| f_jvp(x, d)).collect();
    assert_close(
        "f_jvp value",
        &v,
        &jvp.iter().map(|p| f64::from(p.0)).collect::<Vec<_>>(),
        TOL,
    );
    assert_close(
        "f_jvp tangent",
        &t,
        &jvp.iter().map(|p| f64::from(p.1)).collect::<Vec<_>>(),
        TOL,
    );
    let g = f_vjp_gpu(gpu, &x, &dr).unwrap();
    let want: Vec<f64> = x
        .iter()
        .zip(&dr)
        .map(|(&x, &d)| f64::from(f_vjp(x, d).1))
        .collect();
    assert_close("f_vjp", &g, &want, TOL);
    // The closed form: f'(x) = sin x + x cos x - exp(-x).
    let closed: Vec<f64> = x
        .iter()
        .zip(&dr)
        .map(|(&x, &d)| {
            let x = f64::from(x);
            f64::from(d) * (x.sin() + x * x.cos() - (-x).exp())
        })
        .collect();
    assert_close("f_vjp against f'", &g, &closed, TOL);
}

/// Checks the three kernels of a function of three parameters against
/// its CPU siblings.
macro_rules! check3 {
    ($f:ident, $seed:expr) => {{
        let Some(gpu) = gpu() else { return };
        let mut rng = Lcg::new($seed);
        let x = inputs(&mut rng, N, 3);
        let d = inputs(&mut rng, N, 3);
        let dr = rng.vec(N, -1.0, 1.0);
        let name = stringify!($f);
        paste_check(name, gpu, &x, &d, &dr);
    }};
}

fn paste_check(_name: &str, gpu: &autodiff::gpu::Gpu, x: &[Vec<f32>], d: &[Vec<f32>], dr: &[f32]) {
    let value: Vec<f64> = (0..N)
        .map(|i| f64::from(mixed(x[0][i], x[1][i], x[2][i])))
        .collect();
    assert_close(
        "mixed",
        &mixed_gpu(gpu, &x[0], &x[1], &x[2]).unwrap(),
        &value,
        TOL,
    );
    let (v, t) = mixed_jvp_gpu(gpu, &x[0], &x[1], &x[2], &d[0], &d[1], &d[2]).unwrap();
    let jvp: Vec<(f32, f32)> = (0..N)
        .map(|i| mixed_jvp(x[0][i], x[1][i], x[2][i], d[0][i], d[1][i], d[2][i]))
        .collect();
    assert_close(
        "mixed_jvp value",
        &v,
        &jvp.iter().map(|p| f64::from(p.0)).collect::<Vec<_>>(),
        TOL,
    );
    assert_close(
        "mixed_jvp tangent",
        &t,
        &jvp.iter().map(|p| f64::from(p.1)).collect::<Vec<_>>(),
        TOL,
    );
    let (gx, gy, gz) = mixed_vjp_gpu(gpu, &x[0], &x[1], &x[2], dr).unwrap();
    let vjp: Vec<(f32, f32, f32)> = (0..N)
        .map(|i| mixed_vjp(x[0][i], x[1][i], x[2][i], dr[i]).1)
        .collect();
    assert_close(
        "mixed_vjp x",
        &gx,
        &vjp.iter().map(|g| f64::from(g.0)).collect::<Vec<_>>(),
        TOL,
    );
    assert_close(
        "mixed_vjp y",
        &gy,
        &vjp.iter().map(|g| f64::from(g.1)).collect::<Vec<_>>(),
        TOL,
    );
    assert_close(
        "mixed_vjp z",
        &gz,
        &vjp.iter().map(|g| f64::from(g.2)).collect::<Vec<_>>(),
        TOL,
    );
}

#[test]
fn branches_and_primitives() {
    check3!(mixed, 2);
}

/// The CPU VJP of a function of two parameters.
type Vjp2 = fn(f32, f32, f32) -> (f32, (f32, f32));

/// Checks a function of two parameters: value, JVP, VJP.
fn check2(
    name: &str,
    seed: u64,
    cpu: fn(f32, f32) -> f32,
    cpu_jvp: fn(f32, f32, f32, f32) -> (f32, f32),
    cpu_vjp: Vjp2,
    run: impl Fn(&autodiff::gpu::Gpu, &[f32], &[f32], &[f32], &[f32], &[f32]) -> [Vec<f32>; 5],
) {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(seed);
    let x = inputs(&mut rng, N, 2);
    let d = inputs(&mut rng, N, 2);
    let dr = rng.vec(N, -1.0, 1.0);
    let [v, jv, jt, gx, gy] = run(gpu, &x[0], &x[1], &d[0], &d[1], &dr);
    let col = |f: &dyn Fn(usize) -> f32| (0..N).map(|i| f64::from(f(i))).collect::<Vec<f64>>();
    assert_close(name, &v, &col(&|i| cpu(x[0][i], x[1][i])), TOL);
    let jvp: Vec<(f32, f32)> = (0..N)
        .map(|i| cpu_jvp(x[0][i], x[1][i], d[0][i], d[1][i]))
        .collect();
    assert_close(&format!("{name}_jvp value"), &jv, &col(&|i| jvp[i].0), TOL);
    assert_close(
        &format!("{name}_jvp tangent"),
        &jt,
        &col(&|i| jvp[i].1),
        TOL,
    );
    let vjp: Vec<(f32, f32)> = (0..N).map(|i| cpu_vjp(x[0][i], x[1][i], dr[i]).1).collect();
    assert_close(&format!("{name}_vjp x"), &gx, &col(&|i| vjp[i].0), TOL);
    assert_close(&format!("{name}_vjp y"), &gy, &col(&|i| vjp[i].1), TOL);
}

#[test]
fn calls_of_gpu_functions() {
    check2(
        "calls",
        3,
        calls,
        calls_jvp,
        calls_vjp,
        |gpu, x, y, dx, dy, dr| {
            let v = calls_gpu(gpu, x, y).unwrap();
            let (jv, jt) = calls_jvp_gpu(gpu, x, y, dx, dy).unwrap();
            let (gx, gy) = calls_vjp_gpu(gpu, x, y, dr).unwrap();
            [v, jv, jt, gx, gy]
        },
    );
}

#[test]
fn match_arms() {
    check2(
        "piecewise",
        7,
        piecewise,
        piecewise_jvp,
        piecewise_vjp,
        |gpu, x, y, dx, dy, dr| {
            let v = piecewise_gpu(gpu, x, y).unwrap();
            let (jv, jt) = piecewise_jvp_gpu(gpu, x, y, dx, dy).unwrap();
            let (gx, gy) = piecewise_vjp_gpu(gpu, x, y, dr).unwrap();
            [v, jv, jt, gx, gy]
        },
    );
}

#[test]
fn calls_with_constant_arguments() {
    check2(
        "constant_argument",
        8,
        constant_argument,
        constant_argument_jvp,
        constant_argument_vjp,
        |gpu, x, y, dx, dy, dr| {
            let v = constant_argument_gpu(gpu, x, y).unwrap();
            let (jv, jt) = constant_argument_jvp_gpu(gpu, x, y, dx, dy).unwrap();
            let (gx, gy) = constant_argument_vjp_gpu(gpu, x, y, dr).unwrap();
            [v, jv, jt, gx, gy]
        },
    );
}

#[test]
fn fixed_loops() {
    check2(
        "looped",
        4,
        looped,
        looped_jvp,
        looped_vjp,
        |gpu, x, y, dx, dy, dr| {
            let v = looped_gpu(gpu, x, y).unwrap();
            let (jv, jt) = looped_jvp_gpu(gpu, x, y, dx, dy).unwrap();
            let (gx, gy) = looped_vjp_gpu(gpu, x, y, dr).unwrap();
            [v, jv, jt, gx, gy]
        },
    );
}

/// A parameter of length 1 is shared by every element; its cotangent is
/// the sum of the elements' (the VJP of broadcasting).
#[test]
fn shared_parameters_get_summed_cotangents() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(5);
    let n = 100_003;
    let x = rng.vec(n, -2.0, 2.0);
    let c = [0.7f32];
    let dr = [1.0f32 / n as f32];
    let (gx, gc) = looped_vjp_gpu(gpu, &x, &c, &dr).unwrap();
    assert_eq!((gx.len(), gc.len()), (n, 1));
    let mut sum = 0.0f64;
    for (i, &xi) in x.iter().enumerate() {
        let (_, (g0, g1)) = looped_vjp(xi, c[0], dr[0]);
        assert!((f64::from(gx[i]) - f64::from(g0)).abs() <= TOL * (1.0 + f64::from(g0).abs()));
        sum += f64::from(g1);
    }
    assert_close("summed cotangent", &gc, &[sum], 1e-4);
    // Device buffers in, device buffers out, the same numbers.
    let xb = gpu.upload(&x).unwrap();
    let (gxb, gcb) = looped_vjp_gpu_buffer(gpu, &xb, &c, &dr).unwrap();
    assert_eq!(gpu.read(&gxb).unwrap(), gx);
    assert_eq!(gpu.read(&gcb).unwrap(), gc);
}

#[test]
fn lengths_must_agree() {
    let Some(gpu) = gpu() else { return };
    let e = looped_gpu(gpu, &[1.0, 2.0, 3.0], &[1.0, 2.0]).unwrap_err();
    assert!(e.to_string().contains("lengths 3 and 2"), "{e}");
    assert_eq!(looped_gpu(gpu, &[], &[1.0]).unwrap(), Vec::<f32>::new());
}

/// The kernel run into buffers kept between calls gives what `f_vjp_gpu`
/// gives, and so does the hand-written kernel of the benchmark.
#[test]
fn kept_buffers_and_the_hand_written_kernel() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(6);
    let n = 70_001;
    let x = rng.vec(n, -3.0, 3.0);
    let dy = rng.vec(n, -1.0, 1.0);
    let want = f_vjp_gpu(gpu, &x, &dy).unwrap();
    let (xb, dyb, g) = (
        gpu.upload(&x).unwrap(),
        gpu.upload(&dy).unwrap(),
        gpu.zeros(n).unwrap(),
    );
    for _ in 0..2 {
        f_gpu_kernel()
            .run_into(
                gpu,
                Mode::Vjp,
                &[MapArg::from(&xb), MapArg::from(&dyb)],
                &[&g],
            )
            .unwrap();
        assert_eq!(gpu.read(&g).unwrap(), want);
    }
    let hand = gpu.zeros(n).unwrap();
    gpu.run_wgsl(
        HAND_WRITTEN_VJP,
        "main",
        &[&xb, &dyb, &hand],
        (n as u64).div_ceil(256),
    )
    .unwrap();
    let hand = gpu.read(&hand).unwrap();
    let hand: Vec<f64> = hand.iter().map(|&v| f64::from(v)).collect();
    assert_close("generated against hand-written", &want, &hand, 1e-5);
    let wrong = gpu.zeros(n - 1).unwrap();
    let e = f_gpu_kernel()
        .run_into(
            gpu,
            Mode::Vjp,
            &[MapArg::from(&xb), MapArg::from(&dyb)],
            &[&wrong],
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("has 70000 elements, not 70001"),
        "{e}"
    );
}

/// A raw identifier: its siblings and WGSL functions drop the `r#`.
#[differentiable(gpu)]
fn r#match(x: f32) -> f32 {
    x * x
}

#[test]
fn raw_identifiers() {
    let Some(gpu) = gpu() else { return };
    assert_eq!(match_gpu(gpu, &[3.0]).unwrap(), vec![9.0]);
    assert_eq!(match_vjp_gpu(gpu, &[3.0], &[1.0]).unwrap(), vec![6.0]);
    assert_eq!(r#match(3.0), 9.0);
}

/// Powers of negative bases, where WGSL's `pow` is undefined: integer
/// powers as in Rust, and NaN for a fractional power, on both sides.
#[differentiable(gpu)]
fn powers(x: f32, p: f32) -> f32 {
    x.powi(3) + x.powi(-2) + x.powf(2.0) + x.powf(-3.0) + x.abs().powf(p)
}

#[differentiable(gpu)]
fn root(x: f32) -> f32 {
    x.powf(0.5)
}

#[test]
fn powers_of_negative_bases() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Lcg::new(11);
    let x: Vec<f32> = rng
        .vec(2000, 0.2, 3.0)
        .into_iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { -v } else { v })
        .collect();
    let p = rng.vec(2000, -2.0, 2.0);
    let value: Vec<f64> = x
        .iter()
        .zip(&p)
        .map(|(&x, &p)| f64::from(powers(x, p)))
        .collect();
    assert_close("powers", &powers_gpu(gpu, &x, &p).unwrap(), &value, TOL);
    let dr = vec![1.0f32; x.len()];
    let (gx, gp) = powers_vjp_gpu(gpu, &x, &p, &dr).unwrap();
    let cpu: Vec<(f32, f32)> = x
        .iter()
        .zip(&p)
        .map(|(&x, &p)| powers_vjp(x, p, 1.0).1)
        .collect();
    assert_close(
        "powers x",
        &gx,
        &cpu.iter().map(|g| f64::from(g.0)).collect::<Vec<_>>(),
        TOL,
    );
    assert_close(
        "powers p",
        &gp,
        &cpu.iter().map(|g| f64::from(g.1)).collect::<Vec<_>>(),
        TOL,
    );
    let roots = root_gpu(gpu, &x).unwrap();
    for (&x, &r) in x.iter().zip(&roots) {
        assert_eq!(r.is_nan(), x < 0.0, "{x}: {r}");
        assert_eq!(root(x).is_nan(), x < 0.0);
    }
}
