//! Iterator chains against the index loops they stand for: each program
//! written both ways, its gradient (reverse mode) and JVP (forward mode)
//! timed for each. `cargo bench --bench iterators`; the ratios are in
//! docs/benchmarks.md (the target: the chain within 10% of the loop in
//! both modes).

// The loops are written as index loops on purpose: they are the baseline.
#![allow(clippy::needless_range_loop)]

use std::hint::black_box;

use autodiff::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::close;
use common::not_inlined;

const N: usize = 10_000;

#[differentiable]
fn dot_chain(x: &[f64], w: &[f64]) -> f64 {
    x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>().tanh()
}

#[differentiable]
fn dot_loop(x: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len().min(w.len()) {
        s += x[i] * w[i];
    }
    s.tanh()
}

#[differentiable]
fn lse_chain(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

#[differentiable]
fn lse_loop(x: &[f64]) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for i in 0..x.len() {
        m = m.max(x[i]);
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - m).exp();
    }
    m + s.ln()
}

#[differentiable]
fn tv_chain(x: &[f64]) -> f64 {
    x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum()
}

#[differentiable]
fn tv_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += (x[i + 1] - x[i]).powi(2);
    }
    s
}

#[differentiable]
fn kept_chain(x: &[f64]) -> f64 {
    x.iter().filter(|&&v| v > 0.0).map(|v| v.sin()).sum()
}

#[differentiable]
fn kept_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if x[i] > 0.0 {
            s += x[i].sin();
        }
    }
    s
}

/// Logistic loss over rows of a flat matrix (`chunks`), against targets.
#[differentiable(wrt(w))]
fn logistic_chain(w: &[f64], data: &[f64], t: &[f64]) -> f64 {
    data.chunks(w.len())
        .zip(t)
        .map(|(row, &y)| {
            let z: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
            (1.0 + z.exp()).ln() - y * z
        })
        .sum()
}

#[differentiable(wrt(w))]
fn logistic_loop(w: &[f64], data: &[f64], t: &[f64]) -> f64 {
    let d = w.len();
    let mut s = 0.0;
    for r in 0..t.len() {
        let mut z = 0.0;
        for j in 0..d {
            z += data[r * d + j] * w[j];
        }
        s += (1.0 + z.exp()).ln() - t[r] * z;
    }
    s
}

not_inlined! {
    dc_grad(x: &[f64], w: &[f64]) -> (Vec<f64>, Vec<f64>) = dot_chain_grad(x, w);
    dl_grad(x: &[f64], w: &[f64]) -> (Vec<f64>, Vec<f64>) = dot_loop_grad(x, w);
    dc_jvp(x: &[f64], w: &[f64], v: &[f64]) -> (f64, f64) = dot_chain_jvp(x, w, v, v);
    dl_jvp(x: &[f64], w: &[f64], v: &[f64]) -> (f64, f64) = dot_loop_jvp(x, w, v, v);
    lc_grad(x: &[f64]) -> Vec<f64> = lse_chain_grad(x);
    ll_grad(x: &[f64]) -> Vec<f64> = lse_loop_grad(x);
    lc_jvp(x: &[f64], v: &[f64]) -> (f64, f64) = lse_chain_jvp(x, v);
    ll_jvp(x: &[f64], v: &[f64]) -> (f64, f64) = lse_loop_jvp(x, v);
    tc_grad(x: &[f64]) -> Vec<f64> = tv_chain_grad(x);
    tl_grad(x: &[f64]) -> Vec<f64> = tv_loop_grad(x);
    tc_jvp(x: &[f64], v: &[f64]) -> (f64, f64) = tv_chain_jvp(x, v);
    tl_jvp(x: &[f64], v: &[f64]) -> (f64, f64) = tv_loop_jvp(x, v);
    kc_grad(x: &[f64]) -> Vec<f64> = kept_chain_grad(x);
    kl_grad(x: &[f64]) -> Vec<f64> = kept_loop_grad(x);
    kc_jvp(x: &[f64], v: &[f64]) -> (f64, f64) = kept_chain_jvp(x, v);
    kl_jvp(x: &[f64], v: &[f64]) -> (f64, f64) = kept_loop_jvp(x, v);
    gc_grad(w: &[f64], d: &[f64], t: &[f64]) -> Vec<f64> = logistic_chain_grad(w, d, t);
    gl_grad(w: &[f64], d: &[f64], t: &[f64]) -> Vec<f64> = logistic_loop_grad(w, d, t);
    gc_jvp(w: &[f64], d: &[f64], t: &[f64], v: &[f64]) -> (f64, f64) = logistic_chain_jvp(w, d, t, v);
    gl_jvp(w: &[f64], d: &[f64], t: &[f64], v: &[f64]) -> (f64, f64) = logistic_loop_jvp(w, d, t, v);
}

fn benches(c: &mut Criterion) {
    let x: Vec<f64> = (0..N)
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let w: Vec<f64> = (0..N).map(|i| ((i * 104729) % 1000) as f64 / 1e5).collect();
    let v: Vec<f64> = (0..N).map(|i| (i as f64 * 0.37).cos()).collect();
    let d = 20;
    let t: Vec<f64> = (0..N / d).map(|i| (i % 2) as f64).collect();
    let wd = &w[..d];
    // The two ways give the same derivatives.
    assert!(close(&dc_grad(&x, &w).0, &dl_grad(&x, &w).0));
    assert!(close(&lc_grad(&x), &ll_grad(&x)));
    assert!(close(&tc_grad(&x), &tl_grad(&x)));
    assert!(close(&kc_grad(&x), &kl_grad(&x)));
    assert!(close(&gc_grad(wd, &x, &t), &gl_grad(wd, &x, &t)));
    assert!(close(&[lc_jvp(&x, &v).1], &[ll_jvp(&x, &v).1]));

    let mut g = c.benchmark_group("dot");
    g.bench_function("chain/grad", |b| {
        b.iter(|| dc_grad(black_box(&x), black_box(&w)))
    });
    g.bench_function("loop/grad", |b| {
        b.iter(|| dl_grad(black_box(&x), black_box(&w)))
    });
    g.bench_function("chain/jvp", |b| b.iter(|| dc_jvp(black_box(&x), &w, &v)));
    g.bench_function("loop/jvp", |b| b.iter(|| dl_jvp(black_box(&x), &w, &v)));
    g.finish();
    let mut g = c.benchmark_group("logsumexp");
    g.bench_function("chain/grad", |b| b.iter(|| lc_grad(black_box(&x))));
    g.bench_function("loop/grad", |b| b.iter(|| ll_grad(black_box(&x))));
    g.bench_function("chain/jvp", |b| b.iter(|| lc_jvp(black_box(&x), &v)));
    g.bench_function("loop/jvp", |b| b.iter(|| ll_jvp(black_box(&x), &v)));
    g.finish();
    let mut g = c.benchmark_group("total_variation");
    g.bench_function("chain/grad", |b| b.iter(|| tc_grad(black_box(&x))));
    g.bench_function("loop/grad", |b| b.iter(|| tl_grad(black_box(&x))));
    g.bench_function("chain/jvp", |b| b.iter(|| tc_jvp(black_box(&x), &v)));
    g.bench_function("loop/jvp", |b| b.iter(|| tl_jvp(black_box(&x), &v)));
    g.finish();
    let mut g = c.benchmark_group("filtered");
    g.bench_function("chain/grad", |b| b.iter(|| kc_grad(black_box(&x))));
    g.bench_function("loop/grad", |b| b.iter(|| kl_grad(black_box(&x))));
    g.bench_function("chain/jvp", |b| b.iter(|| kc_jvp(black_box(&x), &v)));
    g.bench_function("loop/jvp", |b| b.iter(|| kl_jvp(black_box(&x), &v)));
    g.finish();
    let mut g = c.benchmark_group("logistic");
    g.bench_function("chain/grad", |b| b.iter(|| gc_grad(black_box(wd), &x, &t)));
    g.bench_function("loop/grad", |b| b.iter(|| gl_grad(black_box(wd), &x, &t)));
    g.bench_function("chain/jvp", |b| {
        b.iter(|| gc_jvp(black_box(wd), &x, &t, &v[..d]))
    });
    g.bench_function("loop/jvp", |b| {
        b.iter(|| gl_jvp(black_box(wd), &x, &t, &v[..d]))
    });
    g.finish();
}

criterion_group!(iterators, benches);
criterion_main!(iterators);
