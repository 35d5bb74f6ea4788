//! Differential fuzzing of the WGSL emitter: random GPU programs
//! (`build.rs`), each run as value, JVP and VJP kernels over 512 random
//! points and compared with its CPU siblings. A point may differ where the
//! GPU's rounding flips a branch; more than 2% of them failing fails the
//! program, which is printed.
//!
//! `AUTODIFF_GPU_FUZZ_COUNT=500 AUTODIFF_GPU_FUZZ_SEED=7 cargo test -p autodiff-gpu-tests --test fuzz`
#![allow(unused, clippy::all)]

use autodiff::gpu::{Kernel, MapArg, Mode};
use autodiff::prelude::*;
use autodiff_gpu_tests::{Lcg, gpu};

type Jvp3 = fn(f32, f32, f32, f32, f32, f32) -> (f32, f32);
type Vjp3 = fn(f32, f32, f32, f32) -> (f32, (f32, f32, f32));

pub struct Program {
    name: &'static str,
    f: fn(f32, f32, f32) -> f32,
    jvp: Jvp3,
    vjp: Vjp3,
    kernel: fn() -> &'static Kernel,
    source: &'static str,
}

#[differentiable(gpu)]
fn helper_a(t: f32) -> f32 {
    t.sin() * t + 0.5
}

#[differentiable(gpu)]
fn helper_b(p: f32, q: f32) -> f32 {
    if p > q {
        (p - q).tanh() * q
    } else {
        p * q.cos()
    }
}

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// Whether `got` is within `tol (1 + |want|)` of `want` (both NaN counts).
fn close(got: f32, want: f32, tol: f32) -> bool {
    (got - want).abs() <= tol * (1.0 + want.abs()) || (got.is_nan() && want.is_nan())
}

#[test]
fn random_programs_agree_with_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let n = 512;
    let mut failures = Vec::new();
    for (k, p) in PROGRAMS.iter().enumerate() {
        let mut rng = Lcg::new(1000 + k as u64);
        let x: Vec<Vec<f32>> = (0..3).map(|_| rng.vec(n, -2.0, 2.0)).collect();
        let d: Vec<Vec<f32>> = (0..3).map(|_| rng.vec(n, -1.0, 1.0)).collect();
        let dr = rng.vec(n, -1.0, 1.0);
        let kernel = (p.kernel)();
        let read = |out: Vec<autodiff::gpu::GpuBuffer>| -> Vec<Vec<f32>> {
            out.iter().map(|b| gpu.read(b).unwrap()).collect()
        };
        let args: Vec<MapArg> = x.iter().map(MapArg::from).collect();
        let value = read(kernel.run(gpu, Mode::Value, &args).unwrap());
        let mut jargs = args.clone();
        jargs.extend(d.iter().map(MapArg::from));
        let jvp = read(kernel.run(gpu, Mode::Jvp, &jargs).unwrap());
        let mut vargs = args.clone();
        vargs.push(MapArg::from(&dr));
        let vjp = read(kernel.run(gpu, Mode::Vjp, &vargs).unwrap());
        let tol = 1e-3;
        let mut bad = 0;
        let mut first = None;
        for i in 0..n {
            let (a, b, c) = (x[0][i], x[1][i], x[2][i]);
            let v = (p.f)(a, b, c);
            let (jv, jt) = (p.jvp)(a, b, c, d[0][i], d[1][i], d[2][i]);
            let (_, (ga, gb, gc)) = (p.vjp)(a, b, c, dr[i]);
            let checks = [
                ("value", value[0][i], v),
                ("jvp value", jvp[0][i], jv),
                ("jvp tangent", jvp[1][i], jt),
                ("vjp a", vjp[0][i], ga),
                ("vjp b", vjp[1][i], gb),
                ("vjp c", vjp[2][i], gc),
            ];
            if let Some((what, g, w)) = checks.iter().find(|(_, g, w)| !close(*g, *w, tol)) {
                bad += 1;
                first.get_or_insert(format!("{what} at ({a}, {b}, {c}): GPU {g}, CPU {w}"));
            }
        }
        if bad * 50 > n {
            failures.push(format!(
                "{}: {bad} of {n} points differ, first {}\n{}",
                p.name,
                first.unwrap_or_default(),
                p.source
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} programs:\n{}",
        failures.len(),
        PROGRAMS.len(),
        failures.join("\n")
    );
}
