//! Iterator chains, closures and slice methods, written as Rust users
//! write them (docs/supported.md, "Iterators, closures and slice
//! methods"). Each function is checked in reverse mode against central
//! differences and in forward mode against reverse mode (the directional
//! derivative is the gradient's dot product with the direction), at
//! several random points; the generic ones at `f32` against `f64`, and the
//! Hessian through `Dual` numbers where a second derivative flows.

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::prelude::*;
use common::*;

#[differentiable]
fn diagonal_log(k: &[f64], n: usize) -> f64 {
    (0..n).map(|i| k[i * n + i].ln()).sum()
}

#[differentiable]
fn first_squares(x: &[f64]) -> f64 {
    x.iter().take(3).map(|v| v * v).sum()
}

#[differentiable]
fn tail_cubes(x: &[f64]) -> f64 {
    x[1..].iter().map(|v| v * v * v).sum::<f64>()
}

#[differentiable]
fn fold_max(x: &[f64]) -> f64 {
    x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b))
}

#[differentiable]
fn fold_max_by_path(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

#[differentiable]
fn copied_vec(x: &[f64]) -> f64 {
    let a = x.to_vec();
    let b = a.clone();
    a.iter().zip(&b).map(|(u, v)| u * v.sin()).sum()
}

#[differentiable]
fn product(x: &[f64]) -> f64 {
    x.iter().product()
}

#[differentiable]
fn greatest(x: &[f64]) -> f64 {
    *x.iter().max_by(|a, b| a.total_cmp(b)).unwrap()
}

#[differentiable]
fn least_or_zero(x: &[f64]) -> f64 {
    x.iter()
        .copied()
        .min_by(|a, b| a.partial_cmp(b).unwrap())
        .unwrap_or(0.0)
}

#[differentiable]
fn kept_sines(x: &[f64]) -> f64 {
    x.iter().filter(|&&v| v > 0.5).map(|v| v.sin()).sum()
}

#[differentiable]
fn weighted_from_the_end(x: &[f64]) -> f64 {
    x.iter()
        .rev()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * v * v)
        .sum()
}

#[differentiable]
fn chunk_products(x: &[f64]) -> f64 {
    x.chunks(2).map(|c| c[0] * c[c.len() - 1]).sum()
}

#[differentiable]
fn total_variation(x: &[f64]) -> f64 {
    x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum()
}

#[differentiable]
fn collected(x: &[f64]) -> f64 {
    let y: Vec<f64> = x.iter().map(|v| v.exp()).collect();
    y.iter().zip(x).map(|(a, b)| a * b).sum()
}

#[differentiable]
fn sorted_weights(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.iter().enumerate().map(|(i, s)| (i + 1) as f64 * s).sum()
}

/// `rev` after `filter` and `map`: a fold whose order shows.
#[differentiable]
fn kept_from_the_end(x: &[f64]) -> f64 {
    x.iter()
        .filter(|&&v| v > 0.8)
        .map(|v| v.sin())
        .rev()
        .fold(0.0, |acc, v| acc * 0.5 + v)
}

#[differentiable]
fn strided(x: &[f64]) -> f64 {
    x.iter().step_by(2).skip(1).map(|v| v * v).sum()
}

#[differentiable]
fn chained(x: &[f64], y: &[f64]) -> f64 {
    x.iter().chain(y.iter()).map(|v| v.sin()).sum()
}

#[differentiable]
fn swapped(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.swap(0, 3);
    v[0] * 3.0 + v[1]
}

#[differentiable]
fn count_scaled(x: &[f64]) -> f64 {
    let n = x.iter().filter(|v| **v > 0.5).count();
    n as f64 * x[0]
}

#[differentiable]
fn zipped_with_range(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (a, b) in x.iter().zip(0..3) {
        s += a * b as f64;
    }
    s
}

#[differentiable]
fn enumerate_reversed(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().enumerate().rev() {
        s = s * 0.5 + v * i as f64;
    }
    s
}

#[differentiable]
fn skip_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter().skip(1) {
        s += v.exp();
    }
    s
}

#[differentiable]
fn while_positive(x: &[f64]) -> f64 {
    let head: f64 = x.iter().take_while(|v| **v > 0.2).map(|v| v * v).sum();
    let tail: f64 = x.iter().skip_while(|v| **v > 0.2).map(|v| v.sin()).sum();
    head + 2.0 * tail
}

#[differentiable]
fn any_all(x: &[f64]) -> f64 {
    let big = x.iter().any(|&v| v > 2.0);
    let positive = x.iter().all(|&v| v > 0.0);
    if big && positive {
        x[0] * x[1]
    } else if positive {
        x[0] + x[1]
    } else {
        x[1]
    }
}

#[differentiable]
fn reduced(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).reduce(|a, b| a * 0.5 + b).unwrap()
}

#[differentiable]
fn ends(x: &[f64]) -> f64 {
    let a = *x.first().unwrap();
    let b = x.last().copied().unwrap_or(1.0);
    a * b
}

/// Closures bound locally, capturing a parameter and a local.
#[differentiable]
fn closures(x: f64, y: f64) -> f64 {
    let scale = y * 2.0;
    let sq = |v: f64| v * v;
    let scaled = |v: f64| v * scale + y;
    let pair = |a: f64, b: f64| (a * b, a + b);
    let (p, s) = pair(x, sq(y));
    sq(x) + scaled(sq(x)) + p * s
}

/// A closure sees its captures as they were where it was written.
#[differentiable]
fn closure_capture_is_lexical(x: f64) -> f64 {
    let a = x * 3.0;
    let f = |v: f64| v * a;
    let a = x * 100.0;
    f(x) + a
}

/// The same closure passed to two adapters.
#[differentiable]
fn closure_to_adapters(x: &[f64], w: f64) -> f64 {
    let g = |v: &f64| (v * w).tanh();
    let s: f64 = x.iter().map(g).sum();
    let m = x.iter().map(g).fold(0.0, f64::max);
    s + m
}

/// In-place updates through `iter_mut`, `fill`, `copy_from_slice` on an
/// in-out buffer and on parts of an output.
#[differentiable]
fn normalize(v: &mut [f64]) {
    let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    for e in v.iter_mut() {
        *e /= n;
    }
}

#[differentiable]
fn scatter(x: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    out[..2].copy_from_slice(&x[1..3]);
    for (o, v) in out[2..].iter_mut().zip(x) {
        *o += v * v;
    }
    out.iter_mut().for_each(|o| *o *= 2.0);
}

#[differentiable]
fn generic_chain<T: Float>(x: &[T], w: &[T]) -> T {
    let dot = x.iter().zip(w).fold(T::zero(), |acc, (&a, &b)| acc + a * b);
    let m = x.iter().copied().fold(T::neg_infinity(), T::max);
    let p = x.iter().take(2).fold(T::one(), |acc, &v| acc * v);
    dot.tanh() + m + p
}

#[differentiable]
fn with_checks(x: &[f64]) -> f64 {
    assert!(!x.is_empty(), "no data");
    debug_assert_eq!(x.len() % 2, 0);
    let s: f64 = x.iter().map(|v| v * v).sum();
    if s > 1e6 {
        panic!("diverged: {s}");
    }
    s.sqrt()
}

#[differentiable]
fn scaled(x: &[f64], s: f64) -> Vec<f64> {
    x.iter().map(|v| v * s).collect()
}

#[differentiable]
fn total_sines(x: &[f64]) -> f64 {
    x.iter().map(|v| v.sin()).sum()
}

/// A vector a call returned, lent as it is and bound without its type.
#[differentiable]
fn lent_results(x: &[f64]) -> f64 {
    let y = scaled(x, 2.0);
    total_sines(&scaled(&y, 0.5)) + total_sines(&y)
}

fn points(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Rng::new(seed);
    (0..5)
        .map(|_| (0..n).map(|_| rng.uniform(0.1, 2.5)).collect())
        .collect()
}

/// The gradient against central differences, and the JVP along a random
/// direction against the gradient's dot product with it.
fn check(
    name: &str,
    f: &dyn Fn(&[f64]) -> f64,
    grad: &dyn Fn(&[f64]) -> Vec<f64>,
    jvp: &dyn Fn(&[f64], &[f64]) -> f64,
    n: usize,
) {
    for (k, x) in points(n, 17 + n as u64).iter().enumerate() {
        let g = grad(x);
        for i in 0..n {
            assert_close(
                &format!("{name}: df/dx{i} at point {k}"),
                g[i],
                partial(f, x, i),
                FD,
            );
        }
        let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).cos()).collect();
        let dot: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close(&format!("{name}: jvp at point {k}"), jvp(x, &v), dot, EXACT);
    }
}

/// `check` for a function of one slice, by name.
macro_rules! check_slice {
    ($($f:ident, $grad:ident, $jvp:ident, $n:expr;)*) => {
        $(check(
            stringify!($f),
            &|x| $f(x),
            &|x| $grad(x),
            &|x, v| $jvp(x, v).1,
            $n,
        );)*
    };
}

#[test]
fn chains_of_one_slice() {
    check_slice! {
        first_squares, first_squares_grad, first_squares_jvp, 5;
        tail_cubes, tail_cubes_grad, tail_cubes_jvp, 4;
        fold_max, fold_max_grad, fold_max_jvp, 5;
        fold_max_by_path, fold_max_by_path_grad, fold_max_by_path_jvp, 5;
        copied_vec, copied_vec_grad, copied_vec_jvp, 4;
        product, product_grad, product_jvp, 4;
        greatest, greatest_grad, greatest_jvp, 6;
        least_or_zero, least_or_zero_grad, least_or_zero_jvp, 6;
        kept_sines, kept_sines_grad, kept_sines_jvp, 6;
        weighted_from_the_end, weighted_from_the_end_grad, weighted_from_the_end_jvp, 5;
        chunk_products, chunk_products_grad, chunk_products_jvp, 5;
        chunk_products, chunk_products_grad, chunk_products_jvp, 6;
        total_variation, total_variation_grad, total_variation_jvp, 6;
        collected, collected_grad, collected_jvp, 4;
        sorted_weights, sorted_weights_grad, sorted_weights_jvp, 6;
        strided, strided_grad, strided_jvp, 7;
        kept_from_the_end, kept_from_the_end_grad, kept_from_the_end_jvp, 6;
        swapped, swapped_grad, swapped_jvp, 4;
        count_scaled, count_scaled_grad, count_scaled_jvp, 5;
        zipped_with_range, zipped_with_range_grad, zipped_with_range_jvp, 5;
        enumerate_reversed, enumerate_reversed_grad, enumerate_reversed_jvp, 5;
        skip_in_loop, skip_in_loop_grad, skip_in_loop_jvp, 4;
        while_positive, while_positive_grad, while_positive_jvp, 6;
        any_all, any_all_grad, any_all_jvp, 3;
        reduced, reduced_grad, reduced_jvp, 4;
        ends, ends_grad, ends_jvp, 3;
        with_checks, with_checks_grad, with_checks_jvp, 4;
        lent_results, lent_results_grad, lent_results_jvp, 4;
    }
}

#[test]
fn range_chain_and_two_slices() {
    let n = 3;
    check(
        "diagonal_log",
        &|k| diagonal_log(k, n),
        &|k| diagonal_log_grad(k, n),
        &|k, v| diagonal_log_jvp(k, n, v).1,
        n * n,
    );
    check(
        "chained",
        &|x| chained(&x[..3], &x[3..]),
        &|x| {
            let (a, b) = chained_grad(&x[..3], &x[3..]);
            a.into_iter().chain(b).collect()
        },
        &|x, v| chained_jvp(&x[..3], &x[3..], &v[..3], &v[3..]).1,
        5,
    );
    check(
        "closure_to_adapters",
        &|x| closure_to_adapters(&x[..4], x[4]),
        &|x| {
            let (a, b) = closure_to_adapters_grad(&x[..4], x[4]);
            a.into_iter().chain([b]).collect()
        },
        &|x, v| closure_to_adapters_jvp(&x[..4], x[4], &v[..4], v[4]).1,
        5,
    );
}

/// The selected element gets the derivative: the last of equal greatest
/// elements (as `max_by` gives it), the first of equal least.
#[test]
fn ties_follow_iterator_order() {
    let x = [1.0, 3.0, 2.0, 3.0];
    assert_eq!(greatest_grad(&x), vec![0.0, 0.0, 0.0, 1.0]);
    let y = [2.0, 1.0, 1.0, 3.0];
    assert_eq!(least_or_zero_grad(&y), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(least_or_zero(&[]), 0.0);
    // `rev` after `filter` folds from the end: 0.5 * sin(2) + sin(1).
    let k = kept_from_the_end(&[1.0, 0.1, 2.0]);
    assert_close(
        "rev after filter",
        k,
        0.5 * 2.0f64.sin() + 1.0f64.sin(),
        EXACT,
    );
    // Sorting follows the stable order of equal elements.
    let z = [2.0, 1.0, 2.0];
    assert_eq!(sorted_weights_grad(&z), vec![2.0, 1.0, 3.0]);
}

#[test]
fn closures_inline_with_their_captures() {
    let f = |p: &[f64]| closures(p[0], p[1]);
    let g = |p: &[f64]| closure_capture_is_lexical(p[0]);
    for x in points(2, 5) {
        let (gx, gy) = closures_grad(x[0], x[1]);
        assert_close("closures dx", gx, partial(f, &x, 0), FD);
        assert_close("closures dy", gy, partial(f, &x, 1), FD);
        let (_, d) = closures_jvp(x[0], x[1], 0.3, -0.8);
        assert_close("closures jvp", d, 0.3 * gx - 0.8 * gy, EXACT);
        // f(x) = 3x^2 + 100x: the closure reads the first `a`.
        assert_close(
            "lexical",
            closure_capture_is_lexical_grad(x[0]),
            6.0 * x[0] + 100.0,
            EXACT,
        );
        assert_close(
            "lexical fd",
            closure_capture_is_lexical_grad(x[0]),
            partial(g, &x, 0),
            FD,
        );
    }
}

#[test]
fn in_place_updates() {
    for x in points(4, 9) {
        // normalize: an in-out buffer, its only float parameter.
        let mut y = x.clone();
        normalize(&mut y);
        let norm: f64 = x.iter().map(|a| a * a).sum::<f64>().sqrt();
        for (a, b) in y.iter().zip(&x) {
            assert_close("normalized", *a, b / norm, EXACT);
        }
        let v = [0.3, -0.2, 0.9, 0.1];
        let mut y = x.clone();
        let mut dy = v.to_vec();
        normalize_jvp(&mut y, &mut dy);
        for j in 0..4 {
            let fd: f64 = (0..4)
                .map(|i| {
                    v[i] * partial(
                        |p: &[f64]| {
                            let mut q = p.to_vec();
                            normalize(&mut q);
                            q[j]
                        },
                        &x,
                        i,
                    )
                })
                .sum();
            assert_close("normalize jvp", dy[j], fd, FD);
        }
        // Forward against reverse: <w, J v> = <J^T w, v>.
        let w = [1.0, 0.5, -0.25, 2.0];
        let mut y = x.clone();
        let mut bar = w.to_vec();
        normalize_vjp(&mut y, &mut bar);
        let lhs: f64 = w.iter().zip(&dy).map(|(a, b)| a * b).sum();
        let rhs: f64 = bar.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close("normalize dot test", lhs, rhs, FD);

        // scatter: fill, copy_from_slice on a part, iter_mut zipped, for_each.
        let mut out = vec![7.0; 5];
        scatter(&x, &mut out);
        let want = [
            2.0 * x[1],
            2.0 * x[2],
            2.0 * x[0] * x[0],
            2.0 * x[1] * x[1],
            2.0 * x[2] * x[2],
        ];
        for (a, b) in out.iter().zip(want) {
            assert_close("scatter", *a, b, EXACT);
        }
        let mut out = vec![0.0; 5];
        let mut dout = vec![0.0; 5];
        scatter_jvp(&x, &mut out, &v, &mut dout);
        let dwant = [
            2.0 * v[1],
            2.0 * v[2],
            4.0 * x[0] * v[0],
            4.0 * x[1] * v[1],
            4.0 * x[2] * v[2],
        ];
        for (a, b) in dout.iter().zip(dwant) {
            assert_close("scatter jvp", *a, b, EXACT);
        }
    }
}

#[test]
fn generic_chains_at_f32_and_f64() {
    for p in points(6, 3) {
        let (x, w) = (&p[..3], &p[3..]);
        let (gx, gw) = generic_chain_grad(x, w);
        let f = |q: &[f64]| generic_chain(&q[..3], &q[3..]);
        for i in 0..3 {
            assert_close("generic dx", gx[i], partial(f, &p, i), FD);
            assert_close("generic dw", gw[i], partial(f, &p, 3 + i), FD);
        }
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let (gx32, _) = generic_chain_grad(&x32, &w32);
        for i in 0..3 {
            assert_close("f32 dx", gx32[i] as f64, gx[i], F32);
        }
        // Second order: a Hessian column by dual numbers, against central
        // differences of the gradient.
        let grad = |q: &[f64]| {
            let (a, b) = generic_chain_grad(&q[..3], &q[3..]);
            a.into_iter().chain(b).collect::<Vec<f64>>()
        };
        let e3 = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let h = autodiff::hvp(
            |q| {
                let (a, b) = generic_chain_grad(&q[..3], &q[3..]);
                a.into_iter().chain(b).collect()
            },
            &p,
            &e3,
        );
        for j in 0..6 {
            let hj = partial(|q| grad(q)[j], &p, 3);
            assert_close("generic hessian", h[j], hj, FD);
        }
    }
}

#[test]
#[should_panic(expected = "no data")]
fn checks_run_in_the_gradient() {
    with_checks_grad(&[]);
}

#[test]
#[should_panic(expected = "diverged")]
fn panics_run_in_the_jvp() {
    with_checks_jvp(&[1e4, 1e4], &[1.0, 0.0]);
}
