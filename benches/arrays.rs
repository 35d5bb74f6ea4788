//! The forms of "real numerical code compiles as written": `[f64; 3]`
//! helpers called in a loop, against the same code written with scalars;
//! a call over a local buffer inside a loop; and RK4 over a struct state
//! (`examples/spring_fit.rs`) against the same over flat arrays. The gradient, the primal,
//! and the heap allocations each makes per call (a counting allocator).
//! And skinning with stored weights mostly zero, against none zero. And
//! the Lennard-Jones energy of a cluster over `&[[f64; 3]]` against the
//! same flattened by hand (`&[f64]`, `pos[3 * i + k]`).
//! `cargo bench --bench arrays`; the numbers are in docs/benchmarks.md.
// Index loops, as users write them.
#![allow(clippy::needless_range_loop)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use autodiff::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::not_inlined;

/// Counts heap allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

const N: usize = 1000;

#[differentiable]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[differentiable]
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The sum over points of `|p × axis|² + (p · axis) sin(p · axis)`, with
/// `[f64; 3]` helpers.
#[differentiable]
fn with_arrays(points: &[f64], axis: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for k in 0..points.len() / 3 {
        let p = [points[3 * k], points[3 * k + 1], points[3 * k + 2]];
        let c = cross(p, axis);
        let d = dot(p, axis);
        s += dot(c, c) + d * d.sin();
    }
    s
}

/// The same, written with scalars.
#[differentiable]
fn with_scalars(points: &[f64], a0: f64, a1: f64, a2: f64) -> f64 {
    let mut s = 0.0;
    for k in 0..points.len() / 3 {
        let (p0, p1, p2) = (points[3 * k], points[3 * k + 1], points[3 * k + 2]);
        let c0 = p1 * a2 - p2 * a1;
        let c1 = p2 * a0 - p0 * a2;
        let c2 = p0 * a1 - p1 * a0;
        let d = p0 * a0 + p1 * a1 + p2 * a2;
        s += c0 * c0 + c1 * c1 + c2 * c2 + d * d.sin();
    }
    s
}

#[differentiable]
fn logsumexp(x: &[f64]) -> f64 {
    let mut m = x[0];
    for i in 1..x.len() {
        m = m.max(x[i]);
    }
    let mut z = 0.0;
    for i in 0..x.len() {
        z += (x[i] - m).exp();
    }
    z.ln() + m
}

/// A local buffer filled per row and lent to `logsumexp`.
#[differentiable]
fn rows(x: &[f64], k: usize) -> f64 {
    let mut buf = vec![0.0; k];
    let mut total = 0.0;
    for i in 0..x.len() / k {
        for j in 0..k {
            buf[j] = x[i * k + j] * (j as f64 + 1.0);
        }
        total += logsumexp(&buf);
    }
    total
}

#[allow(dead_code)]
#[path = "../examples/spring_fit.rs"]
mod spring_fit;

/// `examples/spring_fit.rs` over flat arrays: the state `[x, y, px, py]`,
/// the spring `k`, `c` and the mass as floats; the same operations.
#[differentiable]
fn flat_deriv(s: [f64; 4], k: f64, c: f64, m: f64) -> [f64; 4] {
    [
        s[2] / m,
        s[3] / m,
        -k * s[0] - c * s[2],
        -k * s[1] - c * s[3],
    ]
}

#[differentiable]
fn flat_advance(s: [f64; 4], d: [f64; 4], h: f64) -> [f64; 4] {
    let mut next = s;
    for i in 0..4 {
        next[i] += h * d[i];
    }
    next
}

#[differentiable(wrt(s, k, c))]
fn flat_rk4(s: [f64; 4], k: f64, c: f64, m: f64, h: f64) -> [f64; 4] {
    let k1 = flat_deriv(s, k, c, m);
    let k2 = flat_deriv(flat_advance(s, k1, 0.5 * h), k, c, m);
    let k3 = flat_deriv(flat_advance(s, k2, 0.5 * h), k, c, m);
    let k4 = flat_deriv(flat_advance(s, k3, h), k, c, m);
    let mut next = s;
    for i in 0..4 {
        next[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    next
}

#[differentiable(wrt(k, c))]
fn flat_misfit(k: f64, c: f64, m: f64, s0: [f64; 4], observed: &[f64], h: f64) -> f64 {
    let mut s = s0;
    let n = observed.len() / 2;
    let mut total = 0.0;
    for t in 0..n {
        s = flat_rk4(s, k, c, m, h);
        let dx = s[0] - observed[2 * t];
        let dy = s[1] - observed[2 * t + 1];
        total += dx * dx + dy * dy;
    }
    total / n as f64
}

/// The Lennard-Jones 12-6 energy (Allen and Tildesley, eq. 1.6) over rows.
#[differentiable(wrt(pos))]
fn lj_rows(pos: &[[f64; 3]], sigma: f64) -> f64 {
    let mut e = 0.0;
    for i in 0..pos.len() {
        for j in (i + 1)..pos.len() {
            let d = [
                pos[i][0] - pos[j][0],
                pos[i][1] - pos[j][1],
                pos[i][2] - pos[j][2],
            ];
            let s6 = (sigma * sigma / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2])).powi(3);
            e += 4.0 * (s6 * s6 - s6);
        }
    }
    e
}

/// The same, flattened by hand.
#[differentiable(wrt(pos))]
fn lj_flat(pos: &[f64], sigma: f64) -> f64 {
    let n = pos.len() / 3;
    let mut e = 0.0;
    for i in 0..n {
        for j in (i + 1)..n {
            let d = [
                pos[3 * i] - pos[3 * j],
                pos[3 * i + 1] - pos[3 * j + 1],
                pos[3 * i + 2] - pos[3 * j + 2],
            ];
            let s6 = (sigma * sigma / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2])).powi(3);
            e += 4.0 * (s6 * s6 - s6);
        }
    }
    e
}

/// A two-layer perceptron's parameters, as a struct.
#[derive(Differentiable, Clone)]
struct Mlp {
    hidden_w: Vec<f64>,
    hidden_b: Vec<f64>,
    out_w: Vec<f64>,
    out_b: f64,
}

/// Its squared error on a batch (rows of `xs`, tanh hidden layer).
#[differentiable(wrt(p))]
fn mlp_loss(p: &Mlp, xs: &[f64], ys: &[f64]) -> f64 {
    let d = xs.len() / ys.len();
    let mut loss = 0.0;
    for s in 0..ys.len() {
        let mut out = p.out_b;
        for j in 0..p.hidden_b.len() {
            let mut a = p.hidden_b[j];
            for i in 0..d {
                a += p.hidden_w[j * d + i] * xs[s * d + i];
            }
            out += p.out_w[j] * a.tanh();
        }
        loss += (out - ys[s]) * (out - ys[s]);
    }
    loss
}

/// The same over the fields.
#[differentiable(wrt(hw, hb, ow, ob))]
fn mlp_loss_flat(hw: &[f64], hb: &[f64], ow: &[f64], ob: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let d = xs.len() / ys.len();
    let mut loss = 0.0;
    for s in 0..ys.len() {
        let mut out = ob;
        for j in 0..hb.len() {
            let mut a = hb[j];
            for i in 0..d {
                a += hw[j * d + i] * xs[s * d + i];
            }
            out += ow[j] * a.tanh();
        }
        loss += (out - ys[s]) * (out - ys[s]);
    }
    loss
}

not_inlined! {
    mlp_struct_grad(p: &Mlp, xs: &[f64], ys: &[f64]) -> MlpTangent = mlp_loss_grad(p, xs, ys);
    mlp_flat_grad(p: &Mlp, xs: &[f64], ys: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) =
        mlp_loss_flat_grad(&p.hidden_w, &p.hidden_b, &p.out_w, p.out_b, xs, ys);
    lj_rows_grad_(p: &[[f64; 3]]) -> Vec<[f64; 3]> = lj_rows_grad(p, 1.0);
    lj_flat_grad_(p: &[f64]) -> Vec<f64> = lj_flat_grad(p, 1.0);
    a_primal(p: &[f64], axis: [f64; 3]) -> f64 = with_arrays(p, axis);
    a_grad(p: &[f64], axis: [f64; 3]) -> [f64; 3] = with_arrays_grad(p, axis).1;
    s_primal(p: &[f64], axis: [f64; 3]) -> f64 = with_scalars(p, axis[0], axis[1], axis[2]);
    s_grad(p: &[f64], axis: [f64; 3]) -> [f64; 3] = {
        let (_, g0, g1, g2) = with_scalars_grad(p, axis[0], axis[1], axis[2]);
        [g0, g1, g2]
    };
    r_primal(x: &[f64], k: usize) -> f64 = rows(x, k);
    r_grad(x: &[f64], k: usize) -> Vec<f64> = rows_grad(x, k);
    st_primal(sp: &spring_fit::Spring, obs: &[f64]) -> f64 =
        spring_fit::misfit(sp, &spring_fit::start(), obs, spring_fit::H);
    st_grad(sp: &spring_fit::Spring, obs: &[f64]) -> [f64; 2] = {
        let g = spring_fit::misfit_grad(sp, &spring_fit::start(), obs, spring_fit::H);
        [g.k, g.c]
    };
    fl_primal(sp: &spring_fit::Spring, obs: &[f64]) -> f64 =
        flat_misfit(sp.k, sp.c, sp.m, [1.0, 0.0, 0.0, 1.5], obs, spring_fit::H);
    fl_grad(sp: &spring_fit::Spring, obs: &[f64]) -> [f64; 2] = {
        let (gk, gc) = flat_misfit_grad(sp.k, sp.c, sp.m, [1.0, 0.0, 0.0, 1.5], obs, spring_fit::H);
        [gk, gc]
    };
}

/// Linear blend skinning with stored weights and the squared norm of the
/// vertices: 22 bones, 544 vertices (ADBench's hand model's sizes).
#[differentiable(wrt(transforms))]
fn skin_energy(transforms: &[f64], base: &[f64], weights: &[f64]) -> f64 {
    let n_bones = transforms.len() / 16;
    let n_verts = base.len() / 4;
    let mut skinned = vec![0.0; 3 * n_verts];
    for b in 0..n_bones {
        for v in 0..n_verts {
            let w = weights[b * n_verts + v];
            for i in 0..3 {
                let mut s = 0.0;
                for k in 0..4 {
                    s += transforms[16 * b + 4 * i + k] * base[4 * v + k];
                }
                skinned[3 * v + i] += w * s;
            }
        }
    }
    let mut e = 0.0;
    for i in 0..skinned.len() {
        e += skinned[i] * skinned[i];
    }
    e
}

/// The skinning's gradient and vector JVP (16 lanes) with weights three of
/// 22 bones per vertex (the derivatives of the zeros skipped, `zeros.rs`)
/// and with no weight zero (the same code, where the guards never skip).
fn zero_weights(c: &mut Criterion) {
    let (bones, verts) = (22, 544);
    let value = |i: usize, m: usize| ((i * 37 % m) as f64 / m as f64) - 0.5;
    let transforms: Vec<f64> = (0..16 * bones).map(|i| value(i, 101)).collect();
    let base: Vec<f64> = (0..4 * verts).map(|i| value(i, 97)).collect();
    let dense: Vec<f64> = (0..bones * verts)
        .map(|i| 0.1 + value(i, 89).abs())
        .collect();
    let mut sparse = vec![0.0; bones * verts];
    for v in 0..verts {
        for j in 0..3 {
            sparse[((v * 7 + j * 5) % bones) * verts + v] = 0.1 + value(v + j, 89).abs();
        }
    }
    let seeds: Vec<Lanes<f64, 16>> = (0..16 * bones).map(|i| Lanes::seed(i, 0)).collect();
    let mut g = c.benchmark_group("zero_weights");
    for (name, weights) in [("sparse", &sparse), ("dense", &dense)] {
        g.bench_function(format!("{name} primal"), |b| {
            b.iter(|| skin_energy(black_box(&transforms), &base, weights))
        });
        g.bench_function(format!("{name} grad"), |b| {
            b.iter(|| skin_energy_grad(black_box(&transforms), &base, weights))
        });
        g.bench_function(format!("{name} jvp_lanes 16"), |b| {
            b.iter(|| skin_energy_jvp_lanes(black_box(&transforms), &base, weights, &seeds))
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let points: Vec<f64> = (0..3 * N)
        .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
        .collect();
    let axis = [0.3, -0.5, 0.8];
    let (ga, gs) = (a_grad(&points, axis), s_grad(&points, axis));
    for i in 0..3 {
        assert!(
            (ga[i] - gs[i]).abs() <= 1e-9 * gs[i].abs().max(1.0),
            "{ga:?} {gs:?}"
        );
    }
    let k = 8;
    let x: Vec<f64> = (0..k * N)
        .map(|i| ((i * 13 % 29) as f64 / 10.0) - 1.0)
        .collect();
    // Heap allocations per call of the helper, in the gradient: the
    // difference between N rows and N / 2 rows, per row.
    let per_row = |n_rows: usize| {
        allocations(|| {
            black_box(r_grad(&x[..k * n_rows], k));
        })
    };
    let (full, half) = (per_row(N), per_row(N / 2));
    println!(
        "allocations: rows gradient {full} for {N} calls, {half} for {} calls: {:.2} per call; \
         [f64; 3] helpers gradient: {} for {N} points",
        N / 2,
        (full - half) as f64 / (N / 2) as f64,
        allocations(|| {
            black_box(a_grad(&points, axis));
        }),
    );

    let mut g = c.benchmark_group("array_helpers");
    g.bench_function("primal", |b| {
        b.iter(|| a_primal(black_box(&points), black_box(axis)))
    });
    g.bench_function("grad", |b| {
        b.iter(|| a_grad(black_box(&points), black_box(axis)))
    });
    g.bench_function("scalars_primal", |b| {
        b.iter(|| s_primal(black_box(&points), black_box(axis)))
    });
    g.bench_function("scalars_grad", |b| {
        b.iter(|| s_grad(black_box(&points), black_box(axis)))
    });
    g.finish();
    let mut g = c.benchmark_group("buffer_call");
    g.bench_function("primal", |b| {
        b.iter(|| r_primal(black_box(&x), black_box(k)))
    });
    g.bench_function("grad", |b| b.iter(|| r_grad(black_box(&x), black_box(k))));
    g.finish();

    // RK4 over a struct state against the same over flat arrays: the
    // same value and gradient, and their times.
    let obs = spring_fit::observations();
    let sp = spring_fit::Spring {
        k: 2.0,
        c: 0.1,
        m: 1.0,
    };
    assert_eq!(st_primal(&sp, &obs), fl_primal(&sp, &obs));
    let (gs, gf) = (st_grad(&sp, &obs), fl_grad(&sp, &obs));
    for i in 0..2 {
        assert!(
            (gs[i] - gf[i]).abs() <= 1e-12 * gf[i].abs().max(1.0),
            "{gs:?} {gf:?}"
        );
    }
    println!(
        "allocations: struct-state gradient {}, flat gradient {}",
        allocations(|| {
            black_box(st_grad(&sp, &obs));
        }),
        allocations(|| {
            black_box(fl_grad(&sp, &obs));
        }),
    );
    let mut g = c.benchmark_group("struct_state");
    g.bench_function("primal", |b| {
        b.iter(|| st_primal(black_box(&sp), black_box(&obs)))
    });
    g.bench_function("grad", |b| {
        b.iter(|| st_grad(black_box(&sp), black_box(&obs)))
    });
    g.bench_function("flat_primal", |b| {
        b.iter(|| fl_primal(black_box(&sp), black_box(&obs)))
    });
    g.bench_function("flat_grad", |b| {
        b.iter(|| fl_grad(black_box(&sp), black_box(&obs)))
    });
    g.finish();
}

fn lennard_jones(c: &mut Criterion) {
    // 200 atoms near a cubic lattice of spacing 1.1.
    let pos: Vec<[f64; 3]> = (0..200)
        .map(|i| {
            let b = [(i % 6) as f64, ((i / 6) % 6) as f64, (i / 36) as f64];
            let jitter = ((i * 7919) % 101) as f64 / 1000.0;
            [
                1.1 * b[0] + jitter,
                1.1 * b[1] - jitter,
                1.1 * b[2] + 0.5 * jitter,
            ]
        })
        .collect();
    let flat = pos.as_flattened().to_vec();
    assert_eq!(lj_rows(&pos, 1.0), lj_flat(&flat, 1.0));
    assert_eq!(
        lj_rows_grad_(&pos).as_flattened(),
        &lj_flat_grad_(&flat)[..]
    );
    let mut g = c.benchmark_group("lennard_jones_200");
    g.bench_function("rows_grad", |b| b.iter(|| lj_rows_grad_(black_box(&pos))));
    g.bench_function("flat_grad", |b| b.iter(|| lj_flat_grad_(black_box(&flat))));
    g.finish();
}

fn struct_params(c: &mut Criterion) {
    let (d, h, n) = (8, 16, 64);
    let wave = |k: usize, f: f64| (k as f64 * f).sin() * 0.5;
    let p = Mlp {
        hidden_w: (0..h * d).map(|k| wave(k, 0.37)).collect(),
        hidden_b: (0..h).map(|k| wave(k, 1.3)).collect(),
        out_w: (0..h).map(|k| wave(k, 0.71)).collect(),
        out_b: 0.1,
    };
    let xs: Vec<f64> = (0..n * d).map(|k| wave(k, 0.11)).collect();
    let ys: Vec<f64> = (0..n).map(|k| wave(k, 0.53)).collect();
    assert_eq!(
        mlp_loss(&p, &xs, &ys),
        mlp_loss_flat(&p.hidden_w, &p.hidden_b, &p.out_w, p.out_b, &xs, &ys)
    );
    let (gs, gf) = (mlp_struct_grad(&p, &xs, &ys), mlp_flat_grad(&p, &xs, &ys));
    assert_eq!((gs.hidden_w, gs.hidden_b, gs.out_w, gs.out_b), gf);
    let mut g = c.benchmark_group("struct_params_mlp");
    g.bench_function("struct_grad", |b| {
        b.iter(|| mlp_struct_grad(black_box(&p), black_box(&xs), black_box(&ys)))
    });
    g.bench_function("flat_grad", |b| {
        b.iter(|| mlp_flat_grad(black_box(&p), black_box(&xs), black_box(&ys)))
    });
    g.finish();
}

criterion_group!(arrays, benches, zero_weights, lennard_jones, struct_params);
criterion_main!(arrays);
