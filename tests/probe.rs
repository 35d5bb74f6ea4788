use autodiff::prelude::*;
mod common;
use common::*;

#[differentiable]
fn p_map_range(k: &[f64], n: usize) -> f64 { (0..n).map(|i| k[i * n + i].ln()).sum() }
#[differentiable]
fn p_take(x: &[f64]) -> f64 { x.iter().take(2).map(|v| v * v).sum() }
#[differentiable]
fn p_sub(x: &[f64]) -> f64 { x[1..].iter().map(|v| v * v * v).sum::<f64>() }
#[differentiable]
fn p_fold(x: &[f64]) -> f64 { x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)) }
#[differentiable]
fn p_fold2(x: &[f64]) -> f64 { x.iter().copied().fold(f64::NEG_INFINITY, f64::max) }
#[differentiable]
fn p_closure(x: f64) -> f64 { let sq = |v: f64| v * v; sq(x) + sq(2.0 * x) }
#[differentiable]
fn p_vec(x: &[f64]) -> f64 { let a = x.to_vec(); a.iter().map(|v| v * v).sum() }
#[differentiable]
fn p_fill(x: &[f64], out: &mut [f64]) { out.fill(0.0); out[0] = x[0]; }
#[differentiable]
fn p_assert(x: f64) -> f64 { assert!(x > 0.0, "x must be positive, got {x}"); x * x }
#[differentiable]
fn p_norm(v: &mut [f64]) { let s: f64 = v.iter().map(|a| a * a).sum(); let n = s.sqrt(); for e in v.iter_mut() { *e /= n; } }
#[differentiable]
fn p_prod(x: &[f64]) -> f64 { x.iter().product() }
#[differentiable]
fn p_max(x: &[f64]) -> f64 { *x.iter().max_by(|a, b| a.total_cmp(b)).unwrap() }
#[differentiable]
fn p_filter(x: &[f64]) -> f64 { x.iter().filter(|&&v| v > 0.5).map(|v| v.sin()).sum() }
#[differentiable]
fn p_enum_rev(x: &[f64]) -> f64 { x.iter().rev().enumerate().map(|(i, v)| (i as f64 + 1.0) * v * v).sum() }
#[differentiable]
fn p_chunks(x: &[f64]) -> f64 { x.chunks(2).map(|c| c[0] * c[c.len() - 1]).sum() }
#[differentiable]
fn p_windows(x: &[f64]) -> f64 { x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum() }
#[differentiable]
fn p_collect(x: &[f64]) -> f64 { let y: Vec<f64> = x.iter().map(|v| v.exp()).collect(); y.iter().zip(x).map(|(a, b)| a * b).sum() }
#[differentiable]
fn p_sort(x: &[f64]) -> f64 { let mut v = x.to_vec(); v.sort_by(|a, b| a.partial_cmp(b).unwrap()); v[0] + 2.0 * v[1] + 3.0 * v[2] + 4.0 * v[3] }
#[differentiable]
fn p_stepby(x: &[f64]) -> f64 { x.iter().step_by(2).skip(1).map(|v| v * v).sum() }
#[differentiable]
fn p_chain(x: &[f64]) -> f64 { x.iter().chain(x.iter()).map(|v| v.sin()).sum() }
#[differentiable]
fn p_swap(x: &[f64]) -> f64 { let mut v = x.to_vec(); v.swap(0, 3); v[0] * 3.0 + v[1] }
#[differentiable]
fn p_minby(x: &[f64]) -> f64 { x.iter().copied().min_by(|a, b| a.partial_cmp(b).unwrap()).unwrap_or(0.0) }
#[differentiable]
fn p_count(x: &[f64]) -> f64 { let n = x.iter().filter(|v| **v > 0.5).count(); n as f64 * x[0] }

fn check(name: &str, f: &dyn Fn(&[f64]) -> f64, g: &[f64], x: &[f64]) {
    for i in 0..x.len() { assert_close(&format!("{name}[{i}]"), g[i], partial(f, x, i), FD); }
}

#[test]
fn probe() {
    let x = [0.3, 1.7, 0.9, 1.2, 0.4, 2.1];
    check("take", &|x| p_take(x), &p_take_grad(&x), &x);
    check("sub", &|x| p_sub(x), &p_sub_grad(&x), &x);
    check("fold", &|x| p_fold(x), &p_fold_grad(&x), &x);
    check("fold2", &|x| p_fold2(x), &p_fold2_grad(&x), &x);
    check("vec", &|x| p_vec(x), &p_vec_grad(&x), &x);
    check("prod", &|x| p_prod(x), &p_prod_grad(&x), &x);
    check("max", &|x| p_max(x), &p_max_grad(&x), &x);
    check("filter", &|x| p_filter(x), &p_filter_grad(&x), &x);
    check("enum_rev", &|x| p_enum_rev(x), &p_enum_rev_grad(&x), &x);
    check("chunks", &|x| p_chunks(&x[..5]), &p_chunks_grad(&x[..5]), &x[..5]);
    check("windows", &|x| p_windows(x), &p_windows_grad(&x), &x);
    check("collect", &|x| p_collect(x), &p_collect_grad(&x), &x);
    check("sort", &|x| p_sort(x), &p_sort_grad(&x), &x);
    check("stepby", &|x| p_stepby(x), &p_stepby_grad(&x), &x);
    check("chain", &|x| p_chain(x), &p_chain_grad(&x), &x);
    check("swap", &|x| p_swap(x), &p_swap_grad(&x), &x);
    check("minby", &|x| p_minby(x), &p_minby_grad(&x), &x);
    check("count", &|x| p_count(x), &p_count_grad(&x), &x);
    let g = p_closure_grad(1.5); assert_close("closure", g, 10.0 * 1.5, FD);
    let k = [2.0, 0.1, 0.1, 3.0];
    let g = p_map_range_grad(&k, 2); assert_close("map_range", g[3], 1.0 / 3.0, FD);
    assert_close("assert", p_assert_grad(2.0), 4.0, FD);
}
