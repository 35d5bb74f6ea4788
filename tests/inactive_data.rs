//! Data that carries no derivative, read freely: integer and `bool` slices
//! (also as indices into float slices), references to other types, constant
//! tables, fields of configuration structs.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

pub struct Config {
    pub scale: f64,
    pub skip: usize,
}

/// A sum over selected entries, with parents given as `i64` (negative:
/// none), a mask, a configuration and a constant table.
#[differentiable]
fn gather(x: &[f64], idx: &[usize], parents: &[i64], mask: &[bool], cfg: &Config) -> f64 {
    let weights = [0.5, 1.5, 2.5];
    let mut s = 0.0;
    for k in 0..idx.len() {
        if k == cfg.skip || !mask[k] {
            continue;
        }
        let i = idx[k];
        let mut v = x[i] * weights[k % 3];
        if parents[k] >= 0 {
            v *= x[parents[k] as usize];
        }
        s += v * v;
    }
    let scale: f64 = cfg.scale;
    s * scale
}

#[test]
fn integer_slices_masks_and_config() {
    let idx = [3, 0, 2, 2, 1];
    let parents = [-1i64, 0, 4, -1, 3];
    let mask = [true, true, false, true, true];
    let cfg = Config {
        scale: 1.5,
        skip: 1,
    };
    let mut rng = Rng::new(3);
    for _ in 0..20 {
        let x: Vec<f64> = (0..5).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (y, g) = gather_value_and_grad(&x, &idx, &parents, &mask, &cfg);
        assert_eq!(y, gather(&x, &idx, &parents, &mask, &cfg));
        check::gradient(
            |p: &[f64]| gather(p, &idx, &parents, &mask, &cfg),
            &g,
            &x,
            FD,
        )
        .unwrap();
        let v: Vec<f64> = (0..5).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y2, d) = gather_jvp(&x, &idx, &parents, &mask, &cfg, &v);
        assert_eq!(y2, y);
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close("gather jvp", d, expected, EXACT);
    }
}

/// Iterating over index data (`for &k in idx.iter()`), its enumeration,
/// a zip of floats with it, and an integer array the function fills.
#[differentiable]
fn by_index_data(x: &[f64], idx: &[usize], labels: &[usize]) -> f64 {
    let mut s = 0.0;
    for &k in idx.iter() {
        s += x[k] * x[k];
    }
    for &k in idx {
        s += x[k].sin();
    }
    for (j, &l) in labels.iter().enumerate() {
        s += x[l] * (j as f64 + 1.0);
    }
    for (&v, &l) in x.iter().zip(labels.iter()) {
        s += v * x[l];
    }
    let mut order = vec![0usize; x.len()];
    for i in 0..x.len() {
        order[i] = x.len() - 1 - i;
    }
    for &o in order.iter() {
        s = s * 0.5 + x[o];
    }
    s
}

#[test]
fn iterating_over_index_data() {
    let idx = [2, 0, 2];
    let labels = [1, 1, 0, 3];
    let mut rng = Rng::new(4);
    for _ in 0..20 {
        let x: Vec<f64> = (0..4).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (y, g) = by_index_data_value_and_grad(&x, &idx, &labels);
        assert_eq!(y, by_index_data(&x, &idx, &labels));
        check::gradient(|p: &[f64]| by_index_data(p, &idx, &labels), &g, &x, FD).unwrap();
        let v: Vec<f64> = (0..4).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y2, d) = by_index_data_jvp(&x, &idx, &labels, &v);
        assert_eq!(y2, y);
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close("by_index_data jvp", d, expected, EXACT);
    }
}

/// The same iteration at `f32`.
#[differentiable]
fn by_index_data_f32(x: &[f32], idx: &[usize]) -> f32 {
    let mut s = 0.0;
    for &k in idx.iter() {
        s += x[k] * x[k];
    }
    for (j, &k) in idx.iter().enumerate() {
        s += x[k].sin() * (j as f32 + 1.0);
    }
    s
}

#[test]
fn iterating_over_index_data_at_f32() {
    let idx = [2, 0, 2];
    let x = [0.5f32, -1.0, 2.0];
    let g = by_index_data_f32_grad(&x, &idx);
    // x0: 2 x0 + 2 cos x0; x1: 0; x2: 4 x2 + (1 + 3) cos x2.
    let want = [1.0 + 2.0 * 0.5f32.cos(), 0.0, 8.0 + 4.0 * 2.0f32.cos()];
    for i in 0..3 {
        assert!(
            (g[i] - want[i]).abs() < 1e-5,
            "{i}: {} against {}",
            g[i],
            want[i]
        );
    }
    let (_, d) = by_index_data_f32_jvp(&x, &idx, &[1.0, 1.0, 1.0]);
    assert!((d - want.iter().sum::<f32>()).abs() < 1e-5);
}
