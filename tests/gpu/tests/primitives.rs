//! Every element-wise primitive kernel (value, JVP, VJP) against the CPU
//! runtime: `Dual<f64>`, whose derivatives are the rules of
//! `autodiff::__private::partials`, the same file the GPU rules are
//! translated from. Random inputs in each primitive's domain, away from
//! the jumps of the piecewise-constant ones.

use autodiff::Dual;
use autodiff::gpu::{MapArg, Mode, elementwise, elementwise_names};
use autodiff_gpu_tests::{Lcg, assert_close, gpu, max_error};
use num_traits::Float;

/// The primitive `name` on the CPU, generic so that `Dual` gives its
/// derivatives.
fn apply<T: Float>(name: &str, a: &[T]) -> T {
    let x = a[0];
    match name {
        "add" => x + a[1],
        "sub" => x - a[1],
        "mul" => x * a[1],
        "div" => x / a[1],
        "rem" => x % a[1],
        "neg" => -x,
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "asin" => x.asin(),
        "acos" => x.acos(),
        "atan" => x.atan(),
        "atan2" => x.atan2(a[1]),
        "sinh" => x.sinh(),
        "cosh" => x.cosh(),
        "tanh" => x.tanh(),
        "asinh" => x.asinh(),
        "acosh" => x.acosh(),
        "atanh" => x.atanh(),
        "exp" => x.exp(),
        "exp2" => x.exp2(),
        "exp_m1" => x.exp_m1(),
        "ln" => x.ln(),
        "ln_1p" => x.ln_1p(),
        "log" => x.log(a[1]),
        "log2" => x.log2(),
        "log10" => x.log10(),
        "sqrt" => x.sqrt(),
        "cbrt" => x.cbrt(),
        "powf" => x.powf(a[1]),
        "hypot" => x.hypot(a[1]),
        "abs" => x.abs(),
        "signum" => x.signum(),
        "max" => x.max(a[1]),
        "min" => x.min(a[1]),
        "mul_add" => x.mul_add(a[1], a[2]),
        "recip" => x.recip(),
        "clamp" => Float::clamp(x, a[1], a[2]),
        "to_degrees" => x.to_degrees(),
        "to_radians" => x.to_radians(),
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        "round" => x.round(),
        "trunc" => x.trunc(),
        "fract" => x.fract(),
        other => panic!("no CPU reference for `{other}`: add it here"),
    }
}

/// The inputs of `name`: in its domain, away from where it jumps.
fn sample(name: &str, rng: &mut Lcg, arity: usize) -> Vec<f64> {
    loop {
        let mut a: Vec<f64> = (0..arity).map(|_| rng.uniform(-3.0, 3.0)).collect();
        match name {
            "asin" | "acos" | "atanh" => a[0] = rng.uniform(-0.9, 0.9),
            "acosh" => a[0] = rng.uniform(1.1, 4.0),
            "ln" | "log2" | "log10" | "sqrt" | "powf" => a[0] = rng.uniform(0.1, 4.0),
            "log" => {
                a[0] = rng.uniform(0.1, 4.0);
                a[1] = rng.uniform(1.5, 4.0);
            }
            "ln_1p" => a[0] = rng.uniform(-0.5, 3.0),
            "tan" => a[0] = rng.uniform(-1.2, 1.2),
            "div" | "rem" => {
                a[1] = rng.uniform(0.5, 3.0)
                    * if rng.uniform(0.0, 1.0) < 0.5 {
                        -1.0
                    } else {
                        1.0
                    }
            }
            "recip" | "cbrt" => {
                a[0] = rng.uniform(0.2, 3.0)
                    * if rng.uniform(0.0, 1.0) < 0.5 {
                        -1.0
                    } else {
                        1.0
                    }
            }
            "clamp" => {
                a[1] = rng.uniform(-2.0, 0.0);
                a[2] = rng.uniform(0.0, 2.0);
            }
            _ => {}
        }
        // Away from jumps and kinks (and the ties of max/min, which have
        // their own convention, tested in tests/conventions.rs).
        let near = |v: f64, step: f64| ((v / step) - (v / step).round()).abs() < 1e-3;
        let bad = match name {
            "floor" | "ceil" | "trunc" | "fract" | "signum" => near(a[0], 1.0),
            "round" => near(a[0] - 0.5, 1.0),
            "rem" => near(a[0] / a[1], 1.0),
            "abs" => a[0].abs() < 1e-3,
            "max" | "min" | "hypot" => (a[0] - a[1]).abs() < 1e-3,
            "clamp" => (a[0] - a[1]).abs() < 1e-3 || (a[0] - a[2]).abs() < 1e-3,
            _ => false,
        };
        if !bad {
            return a;
        }
    }
}

/// Value and partial derivatives from `Dual<f64>`, at inputs rounded to
/// f32 as the GPU sees them.
fn reference(name: &str, a: &[f64]) -> (f64, Vec<f64>) {
    let value = apply(name, a);
    let partials = (0..a.len())
        .map(|j| {
            let duals: Vec<Dual<f64>> = a
                .iter()
                .enumerate()
                .map(|(i, &x)| Dual::new(x, if i == j { 1.0 } else { 0.0 }))
                .collect();
            apply(name, &duals).eps
        })
        .collect();
    (value, partials)
}

#[test]
fn every_primitive_against_the_cpu_rules() {
    let Some(gpu) = gpu() else { return };
    let n = 2000;
    let mut checked = 0;
    let mut worst = 0.0f64;
    for (seed, name) in elementwise_names().enumerate() {
        let kernel = elementwise(name).unwrap();
        let k = kernel.inputs;
        let mut rng = Lcg::new(100 + seed as u64);
        let points: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                sample(name, &mut rng, k)
                    .iter()
                    .map(|&v| f64::from(v as f32))
                    .collect()
            })
            .collect();
        let column = |j: usize| points.iter().map(|p| p[j] as f32).collect::<Vec<f32>>();
        let xs: Vec<Vec<f32>> = (0..k).map(column).collect();
        let tangents: Vec<Vec<f32>> = (0..k).map(|_| rng.vec(n, -1.0, 1.0)).collect();
        let dr = rng.vec(n, -1.0, 1.0);
        let refs: Vec<(f64, Vec<f64>)> = points.iter().map(|p| reference(name, p)).collect();
        // Transcendental functions of the GPU are accurate to a few ulp of
        // f32, not correctly rounded; relative to 1 + |value|.
        let tol = 2e-5;

        let args: Vec<MapArg> = xs.iter().map(MapArg::from).collect();
        let value = gpu
            .read(&kernel.run(gpu, Mode::Value, &args).unwrap()[0])
            .unwrap();
        let want: Vec<f64> = refs.iter().map(|r| r.0).collect();
        worst = worst.max(max_error(&value, &want));
        assert_close(&format!("{name} value"), &value, &want, tol);

        let mut jvp_args = args.clone();
        jvp_args.extend(tangents.iter().map(MapArg::from));
        let out = kernel.run(gpu, Mode::Jvp, &jvp_args).unwrap();
        let tangent = gpu.read(&out[1]).unwrap();
        let want: Vec<f64> = (0..n)
            .map(|i| {
                (0..k)
                    .map(|j| refs[i].1[j] * f64::from(tangents[j][i]))
                    .sum()
            })
            .collect();
        worst = worst.max(max_error(&tangent, &want));
        assert_close(&format!("{name} jvp"), &tangent, &want, tol);

        let mut vjp_args = args.clone();
        vjp_args.push(MapArg::from(&dr));
        let out = kernel.run(gpu, Mode::Vjp, &vjp_args).unwrap();
        for (j, cotangent) in out.iter().enumerate() {
            let g = gpu.read(cotangent).unwrap();
            let want: Vec<f64> = (0..n).map(|i| refs[i].1[j] * f64::from(dr[i])).collect();
            worst = worst.max(max_error(&g, &want));
            assert_close(&format!("{name} vjp {j}"), &g, &want, tol);
        }
        checked += 1;
    }
    assert!(checked >= 40, "{checked} primitives");
    eprintln!(
        "{checked} primitives on {}: largest error {worst:.1e} (1 + |value|)",
        gpu.adapter()
    );
}

/// The conventions of docs/conventions.md at the points where a primitive
/// is not differentiable: the GPU gives what the CPU gives, exactly (the
/// same rules). Infinite derivatives (`sqrt` at 0) too on this adapter;
/// WGSL lets a driver assume no infinities, so docs/gpu.md does not promise
/// them on every GPU.
#[test]
fn conventions_at_singular_points() {
    let Some(gpu) = gpu() else { return };
    let nan = f64::NAN;
    let points: &[(&str, &[f64])] = &[
        ("abs", &[0.0]),
        ("abs", &[-0.0]),
        ("max", &[1.5, 1.5]),
        ("min", &[-2.0, -2.0]),
        ("max", &[nan, 2.0]),
        ("min", &[2.0, nan]),
        ("hypot", &[0.0, 0.0]),
        ("atan2", &[0.0, 0.0]),
        ("powf", &[0.0, 2.0]),
        ("powf", &[3.0, 0.0]),
        ("clamp", &[-1.0, -1.0, 1.0]),
        ("clamp", &[1.0, -1.0, 1.0]),
        ("signum", &[0.0]),
        ("floor", &[2.0]),
        ("ceil", &[2.0]),
        ("round", &[2.5]),
        ("trunc", &[-3.0]),
        ("fract", &[4.0]),
        ("sqrt", &[0.0]),
        ("ln", &[0.0]),
        ("cbrt", &[0.0]),
    ];
    for &(name, point) in points {
        let kernel = elementwise(name).unwrap();
        let columns: Vec<Vec<f32>> = point.iter().map(|&v| vec![v as f32]).collect();
        let mut args: Vec<MapArg> = columns.iter().map(MapArg::from).collect();
        let one = [1.0f32];
        args.push(MapArg::from(&one));
        let out = kernel.run(gpu, Mode::Vjp, &args).unwrap();
        let (_, want) = reference(name, point);
        for (j, cotangent) in out.iter().enumerate() {
            let got = gpu.read(cotangent).unwrap()[0];
            let want = want[j] as f32;
            let same = got == want || (got.is_nan() && want.is_nan());
            assert!(
                same,
                "{name}{point:?}: partial {j} is {got} on the GPU, {want} on the CPU"
            );
        }
    }
}
