//! The ADBench/GradBench objectives (`tests/objectives`, written as users
//! write them): the primal and the generated gradient at a few sizes each.
//! `cargo bench --bench adbench`; the ratios are in docs/benchmarks.md.
//! Hand-written gradients and the largest published sizes come with the
//! speed work.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/objectives/mod.rs"]
mod objectives;
use objectives::*;

/// A reproducible source of inputs.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }

    fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

fn gmm(c: &mut Criterion, r: &mut Lcg) {
    for (d, k, n) in [(2, 5, 1000), (10, 25, 1000)] {
        let icf_sz = d * (d + 1) / 2;
        let (alphas, means, icf) = (
            r.vec(k, -1.0, 1.0),
            r.vec(d * k, -1.0, 1.0),
            r.vec(icf_sz * k, -0.5, 0.5),
        );
        let x = r.vec(d * n, -1.0, 1.0);
        let mut g = c.benchmark_group(format!("gmm_d{d}_k{k}_n{n}"));
        g.bench_function("primal", |b| {
            b.iter(|| gmm_objective(d, k, black_box(&alphas), &means, &icf, &x, 1.5, 2))
        });
        g.bench_function("grad", |b| {
            b.iter(|| gmm_objective_grad(d, k, black_box(&alphas), &means, &icf, &x, 1.5, 2))
        });
        g.finish();
    }
}

fn ba(c: &mut Criterion, r: &mut Lcg) {
    let (n_cams, n_points, n_obs) = (20, 200, 2000);
    let mut cams = Vec::new();
    for _ in 0..n_cams {
        cams.extend(r.vec(3, -0.3, 0.3));
        cams.extend([
            r.uniform(-0.5, 0.5),
            r.uniform(-0.5, 0.5),
            r.uniform(-5.0, -4.0),
        ]);
        cams.extend([
            r.uniform(0.8, 1.2),
            r.uniform(-0.1, 0.1),
            r.uniform(-0.1, 0.1),
        ]);
        cams.extend(r.vec(2, -0.05, 0.05));
    }
    let points = r.vec(3 * n_points, -1.0, 1.0);
    let weights = r.vec(n_obs, 0.5, 1.5);
    let obs: Vec<usize> = (0..n_obs)
        .flat_map(|k| [k % n_cams, (k * 7) % n_points])
        .collect();
    let feats = r.vec(2 * n_obs, -0.5, 0.5);
    let mut g = c.benchmark_group("ba_20_200_2000");
    g.bench_function("primal", |b| {
        b.iter(|| ba_objective(black_box(&cams), &points, &weights, &obs, &feats))
    });
    g.bench_function("grad", |b| {
        b.iter(|| ba_objective_grad(black_box(&cams), &points, &weights, &obs, &feats))
    });
    g.finish();
}

fn hand(c: &mut Criterion, r: &mut Lcg) {
    let (n_bones, n_verts) = (22, 500);
    let parents: Vec<i64> = (0..n_bones as i64)
        .map(|b| if b == 0 { -1 } else { (b - 1) / 2 })
        .collect();
    let (base_relatives, weights) = (
        r.vec(12 * n_bones, -1.0, 1.0),
        r.vec(n_verts * n_bones, 0.0, 1.0),
    );
    let (base_positions, points) = (r.vec(3 * n_verts, -1.0, 1.0), r.vec(3 * n_verts, -1.0, 1.0));
    let theta = r.vec(3 * n_bones, -1.0, 1.0);
    let mut g = c.benchmark_group("hand_22_500");
    g.bench_function("primal", |b| {
        b.iter(|| {
            hand_loss(
                black_box(&theta),
                &parents,
                &base_relatives,
                &weights,
                &base_positions,
                &points,
            )
        })
    });
    g.bench_function("grad", |b| {
        b.iter(|| {
            hand_loss_grad(
                black_box(&theta),
                &parents,
                &base_relatives,
                &weights,
                &base_positions,
                &points,
            )
        })
    });
    g.finish();
}

fn lstm(c: &mut Criterion, r: &mut Lcg) {
    let (l, b, len) = (2, 64, 20);
    let (main_params, extra_params) = (r.vec(8 * b * l, -1.0, 1.0), r.vec(3 * b, -1.0, 1.0));
    let sequence: Vec<f64> = (0..len * b)
        .map(|k| if k % b == (k / b * 7) % b { 1.0 } else { 0.0 })
        .collect();
    let mut g = c.benchmark_group("lstm_2_64_20");
    g.bench_function("primal", |bb| {
        bb.iter(|| lstm_objective(l, b, black_box(&main_params), &extra_params, &sequence))
    });
    g.bench_function("grad", |bb| {
        bb.iter(|| lstm_objective_grad(l, b, black_box(&main_params), &extra_params, &sequence))
    });
    g.finish();
}

fn ode_and_det(c: &mut Criterion, r: &mut Lcg) {
    let x = r.vec(1000, 0.5, 1.5);
    let mut g = c.benchmark_group("ode_n1000_s100");
    g.bench_function("primal", |b| b.iter(|| ode_sum(black_box(&x), 100)));
    g.bench_function("grad", |b| b.iter(|| ode_sum_grad(black_box(&x), 100)));
    g.finish();
    let a = r.vec(7 * 7, -1.0, 1.0);
    let mut g = c.benchmark_group("det_7x7");
    g.bench_function("primal", |b| b.iter(|| det_by_minors(black_box(&a), 7)));
    g.bench_function("grad", |b| b.iter(|| det_by_minors_grad(black_box(&a), 7)));
    g.finish();
}

fn small(c: &mut Criterion, r: &mut Lcg) {
    let v = r.vec(100_000, -3.0, 3.0);
    let mut g = c.benchmark_group("logsumexp_100000");
    g.bench_function("primal", |b| b.iter(|| logsumexp(black_box(&v))));
    g.bench_function("grad", |b| b.iter(|| logsumexp_grad(black_box(&v))));
    g.finish();
    let (m, n) = (32, 4096);
    let (w, x, y) = (
        r.vec(m, -1.0, 1.0),
        r.vec(m * n, -1.0, 1.0),
        r.vec(n, -1.0, 1.0),
    );
    let mut g = c.benchmark_group("llsq_32_4096");
    g.bench_function("primal", |b| b.iter(|| llsq(black_box(&w), &x, &y)));
    g.bench_function("grad", |b| b.iter(|| llsq_grad(black_box(&w), &x, &y)));
    g.finish();
}

fn benches(c: &mut Criterion) {
    let mut r = Lcg(42);
    gmm(c, &mut r);
    ba(c, &mut r);
    hand(c, &mut r);
    lstm(c, &mut r);
    ode_and_det(c, &mut r);
    small(c, &mut r);
}

criterion_group!(adbench, benches);
criterion_main!(adbench);
