//! Branches and loops, over scalars and slices, in forward and reverse mode,
//! against central finite differences, dual numbers and closed forms.
// The functions are written with index loops and `&Vec`, as users write
// them; clippy would restyle them.
#![allow(clippy::needless_range_loop, clippy::ptr_arg, clippy::needless_return)]

mod common;

use autodiff::check::{self, Tolerance};
use autodiff::prelude::*;
use common::*;

#[differentiable]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
    }
    s
}

fn rosenbrock_grad_exact(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let b = x[i + 1] - x[i] * x[i];
        g[i] += -2.0 * (1.0 - x[i]) - 400.0 * b * x[i];
        g[i + 1] += 200.0 * b;
    }
    g
}

#[test]
fn rosenbrock_against_closed_form_and_finite_differences() {
    let mut rng = Rng::new(21);
    for n in [2, 3, 10, 57] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let g: Vec<f64> = rosenbrock_grad(&x);
        check::compare("rosenbrock grad", &g, &rosenbrock_grad_exact(&x), EXACT).unwrap();
        check::gradient(rosenbrock, &g, &x, FD).unwrap();
        let v: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (y, d) = rosenbrock_jvp(&x, &v);
        assert_eq!(y, rosenbrock(&x));
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close("rosenbrock jvp", d, expected, EXACT);
        let (y2, g2) = rosenbrock_vjp(&x, 2.0);
        assert_eq!(y2, y);
        let doubled: Vec<f64> = g.iter().map(|v| 2.0 * v).collect();
        check::compare("rosenbrock vjp", &g2, &doubled, EXACT).unwrap();
    }
}

#[test]
fn zero_trip_loop() {
    // One element: the loop runs zero times; the gradient is exactly zero.
    assert_eq!(rosenbrock_grad(&[3.0]), vec![0.0]);
    assert_eq!(rosenbrock_jvp(&[3.0], &[1.0]), (0.0, 0.0));
}

/// Checks the generated gradient and JVPs of a function of a slice against
/// finite differences and against `Dual` (through a generic twin), at
/// `points` random points of length `n`.
#[allow(clippy::too_many_arguments)]
fn check_slice_fn(
    name: &str,
    n: usize,
    lo: f64,
    hi: f64,
    f: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    grad: impl Fn(&[f64]) -> Vec<f64>,
    dual: impl Fn(&[Dual<f64>]) -> Dual<f64>,
) {
    let mut rng = Rng::new(name.len() as u64 * 31 + n as u64);
    for _ in 0..100 {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(lo, hi)).collect();
        let g = grad(&x);
        if let Err(e) = check::gradient(&f, &g, &x, FD) {
            panic!("{name} at {x:?}: {e}");
        }
        for i in 0..n {
            let e: Vec<f64> = (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect();
            let (y, d) = jvp(&x, &e);
            assert_eq!(y.to_bits(), f(&x).to_bits(), "{name}: JVP value");
            let expected = dual(&seeded(&x, i)).eps;
            assert_close(
                &format!("{name} at {x:?}: JVP ∂{i} vs Dual"),
                d,
                expected,
                EXACT,
            );
            assert_close(
                &format!("{name} at {x:?}: VJP ∂{i} vs Dual"),
                g[i],
                expected,
                EXACT,
            );
        }
    }
}

/// A float literal: `c(2.0)` in a body shared by a `#[differentiable]`
/// function (where this plain helper is called with an inactive argument)
/// and its generic twin (where a closure of the same name converts to `T`).
fn c(v: f64) -> f64 {
    v
}

/// What the generic twins need: `Dual` has the compound assignments.
trait Real: Float + std::ops::AddAssign + std::ops::SubAssign + std::ops::MulAssign {}
impl<T: Float + std::ops::AddAssign + std::ops::SubAssign + std::ops::MulAssign> Real for T {}

/// Writes a function of a slice twice from one body: `#[differentiable]`
/// on `f64`, and generic for `Dual`.
macro_rules! twin {
    ($name:ident, $generic:ident, $c:ident, |$x:ident| $body:block) => {
        #[differentiable]
        fn $name($x: &[f64]) -> f64 $body

        #[allow(clippy::assign_op_pattern)]
        fn $generic<T: Real>($x: &[T]) -> T {
            let $c = |v: f64| T::from(v).unwrap_or_else(T::nan);
            $body
        }
    };
}

macro_rules! check_twin {
    ($name:ident, $generic:ident, $jvp:ident, $grad:ident, $n:expr, $lo:expr, $hi:expr) => {
        check_slice_fn(
            stringify!($name),
            $n,
            $lo,
            $hi,
            $name,
            |x, v| $jvp(x, v),
            $grad,
            |x| $generic(x),
        )
    };
}

twin!(branches, branches_g, c, |x| {
    let mut s = c(0.0);
    for i in 0..x.len() {
        let v = x[i];
        // An expression with `else if`, on active conditions.
        let w = if v > c(0.5) {
            v * v
        } else if v < c(-0.5) {
            -v.sin()
        } else {
            c(3.0) * v
        };
        // A statement on an inactive condition, assigning in both arms.
        if i % 2 == 0 {
            s += w;
        } else {
            s -= w * v;
        }
        // A statement without `else`.
        if w > s {
            s = s * c(0.5) + w;
        }
    }
    s
});

#[test]
fn branches_both_ways() {
    for n in [1, 4, 9] {
        check_twin!(
            branches,
            branches_g,
            branches_jvp,
            branches_grad,
            n,
            -2.0,
            2.0
        );
    }
}

twin!(nested, nested_g, c, |x| {
    let n = x.len();
    let mut s = c(0.0);
    for i in (0..n).step_by(2) {
        let mut inner = c(1.0);
        for j in (i..=n - 1).rev() {
            inner = inner * x[j].cos() + x[i] * c(0.1);
        }
        s += inner * x[i];
    }
    s
});

#[test]
fn nested_loops_with_inclusive_reversed_and_stepped_ranges() {
    for n in [1, 2, 5, 8] {
        check_twin!(nested, nested_g, nested_jvp, nested_grad, n, -1.5, 1.5);
    }
}

twin!(iterators, iterators_g, c, |x| {
    let mut s = c(0.0);
    for &v in x.iter() {
        s += v * v;
    }
    for (i, &v) in x.iter().enumerate() {
        s += v * c(i as f64);
    }
    for (&a, &b) in x.iter().zip(x.iter()) {
        s += a.sin() * b;
    }
    for &v in x.iter().rev() {
        s = s * c(0.5) + v;
    }
    for v in x {
        s += *v;
    }
    s
});

#[test]
fn loops_over_iterators() {
    for n in [0, 1, 6] {
        if n > 0 {
            check_twin!(
                iterators,
                iterators_g,
                iterators_jvp,
                iterators_grad,
                n,
                -1.0,
                1.0
            );
        } else {
            assert_eq!(iterators_grad(&[]), Vec::<f64>::new());
        }
    }
}

twin!(overwrite, overwrite_g, c, |x| {
    // Values overwritten and needed later: each iteration's `y` goes on the
    // tape; `a`, `b` are updated at once from each other.
    let mut y = x[0];
    let mut a = x[0];
    let mut b = x[x.len() - 1];
    for k in 0..6 {
        y = y * (y + c(k as f64)).sin();
        let t = a;
        a = b;
        b = t + a * y;
    }
    y + a * b
});

#[test]
fn overwritten_values_are_taped() {
    for n in [1, 3] {
        check_twin!(
            overwrite,
            overwrite_g,
            overwrite_jvp,
            overwrite_grad,
            n,
            -1.0,
            1.0
        );
    }
}

#[differentiable]
fn sums(x: &[f64], w: &Vec<f64>) -> f64 {
    let a = x.iter().sum::<f64>();
    let b: f64 = x.iter().map(|v| v * v).sum();
    let d: f64 = x.iter().zip(w.iter()).map(|(a, b)| a * b).sum();
    a * b + d
}

#[test]
fn sums_against_closed_form() {
    let mut rng = Rng::new(5);
    for n in [0, 1, 7] {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let w: Vec<f64> = (0..n + 2).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let a: f64 = x.iter().sum();
        let b: f64 = x.iter().map(|v| v * v).sum();
        let (gx, gw) = sums_grad(&x, &w);
        assert_eq!(gw.len(), w.len());
        for i in 0..n {
            assert_close("sums ∂x", gx[i], b + 2.0 * a * x[i] + w[i], EXACT);
            assert_close("sums ∂w", gw[i], x[i], EXACT);
        }
        assert_eq!(
            &gw[n..],
            &[0.0, 0.0],
            "elements beyond the zip get no gradient"
        );
        let (v, d) = sums_jvp(&x, &w, &x, &w);
        assert_eq!(v, sums(&x, &w));
        let expected: f64 = gx.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>()
            + gw.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        assert_close("sums jvp", d, expected, EXACT);
    }
}

// An array input, a scalar next to it, and an array gradient.
#[differentiable]
fn quadratic_form(p: [f64; 3], s: f64) -> f64 {
    let mut q = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            q += p[i] * p[j] * (1.0 + (i * j) as f64);
        }
    }
    q * s
}

#[test]
fn array_inputs() {
    let p = [0.3, -1.2, 0.7];
    let (gp, gs): ([f64; 3], f64) = quadratic_form_grad(p, 2.0);
    let q = quadratic_form(p, 1.0);
    assert_close("∂s", gs, q, EXACT);
    for i in 0..3 {
        let exact: f64 = (0..3)
            .map(|j| 2.0 * p[j] * (1.0 + (i * j) as f64))
            .sum::<f64>()
            * 2.0;
        assert_close("∂p", gp[i], exact, EXACT);
    }
    let (_, d) = quadratic_form_jvp(p, 2.0, [1.0, 0.0, 0.0], 0.0);
    assert_close("jvp", d, gp[0], EXACT);
}

// Single precision.
#[differentiable]
fn rosenbrock32(x: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
    }
    s
}

#[test]
fn single_precision_loops() {
    let x = [0.5f32, -0.3, 1.2, 0.8];
    let g = rosenbrock32_grad(&x);
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let exact = rosenbrock_grad_exact(&x64);
    for i in 0..4 {
        assert_close("rosenbrock f32", g[i] as f64, exact[i], F32);
    }
    assert_eq!(rosenbrock32_jvp(&x, &[0.0; 4]).0, rosenbrock32(&x));
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Linear,
    Quadratic,
    Off,
}

#[differentiable]
fn by_mode(x: &[f64], mode: Mode, k: usize, flip: bool) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let v = x[i];
        s += match mode {
            Mode::Linear => v,
            Mode::Quadratic => v * v,
            Mode::Off => 0.0,
        };
        match (i + k) % 3 {
            0 => s *= 0.5,
            1 | 2 if v > 0.0 => s += v.sin(),
            _ => {}
        }
    }
    match flip {
        true => -s,
        false => s,
    }
}

#[test]
fn match_on_enums_integers_and_bools() {
    let mut rng = Rng::new(77);
    for mode in [Mode::Linear, Mode::Quadratic, Mode::Off] {
        for (k, flip) in [(0, false), (1, true), (2, false)] {
            for n in [1, 5] {
                let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let f = |p: &[f64]| by_mode(p, mode, k, flip);
                let g = by_mode_grad(&x, mode, k, flip);
                if let Err(e) = check::gradient(f, &g, &x, FD) {
                    panic!("{mode:?} {k} {flip} at {x:?}: {e}");
                }
                let (y, d) = by_mode_jvp(&x, mode, k, flip, &x);
                assert_eq!(y, by_mode(&x, mode, k, flip));
                let expected: f64 = g.iter().zip(&x).map(|(a, b)| a * b).sum();
                assert_close("by_mode jvp", d, expected, EXACT);
            }
        }
    }
}

/// Halves `x` until it is below `limit`, then squares: `while` on an active
/// condition differentiates the iterations that ran (a piecewise function).
#[differentiable]
fn halve_until(x: f64, limit: f64) -> f64 {
    let mut y = x;
    let mut steps = 0;
    while y > limit {
        y = y * 0.5 + 0.01 * y.sin();
        steps += 1;
    }
    y * y + steps as f64
}

/// Newton's method for the square root of `a`, a fixed number of digits:
/// the derivative of the algorithm as run.
#[differentiable]
fn newton_sqrt(a: f64) -> f64 {
    let mut r = a.max(1.0);
    let mut k = 0;
    while k < 6 {
        r = 0.5 * (r + a / r);
        k += 1;
    }
    r
}

#[test]
fn while_loops() {
    let mut rng = Rng::new(99);
    for _ in 0..200 {
        let (x, limit) = (rng.uniform(-1.0, 50.0), rng.uniform(0.5, 2.0));
        let (gx, gl) = halve_until_grad(x, limit);
        // A finite difference is meaningful away from the points where the
        // number of iterations changes.
        let f = |p: &[f64]| halve_until(p[0], p[1]);
        let h = check::step(x);
        let same_steps =
            |d: f64| halve_until(x + d, limit).floor() == halve_until(x, limit).floor();
        if same_steps(h)
            && same_steps(-h)
            && (halve_until(x, limit) - halve_until(x, limit).floor()) > 1e-3
        {
            check::gradient(f, &[gx, gl], &[x, limit], FD).unwrap();
        }
        assert_eq!(gl, 0.0, "the limit only decides how many iterations run");
        let (v, d) = halve_until_jvp(x, limit, 1.0, 0.0);
        assert_eq!(v, halve_until(x, limit));
        assert_close("while jvp", d, gx, EXACT);
    }
    // Zero iterations: the derivative of y * y.
    assert_eq!(halve_until_grad(0.25, 1.0), (0.5, 0.0));
    for a in [0.3, 2.0, 9.0, 100.0] {
        let g = newton_sqrt_grad(a);
        let (r, d) = newton_sqrt_jvp(a, 1.0);
        assert_close(
            "newton value",
            r,
            a.sqrt(),
            Tolerance {
                rel: 1e-3,
                abs: 1e-3,
            },
        );
        assert_close("newton jvp vs vjp", d, g, EXACT);
        check::gradient(|p: &[f64]| newton_sqrt(p[0]), &[g], &[a], FD).unwrap();
    }
}

#[differentiable]
fn bump(a: f64, b: f64) -> f64 {
    (a * b).sin() + a
}

#[differentiable]
fn polar2(r: f64, t: f64) -> (f64, f64) {
    (r * t.cos(), r * t.sin())
}

struct Weights {
    scale: f64,
    stride: usize,
}

impl Weights {
    /// Calls, methods, `self` fields and a carried index in loops and
    /// branches, with a `while` inside a `for`.
    #[differentiable]
    fn mixed(&self, x: &[f64], c: f64) -> f64 {
        let mut s = 0.0;
        let mut k = 0;
        for i in 0..x.len() {
            let (u, w) = polar2(x[i], c);
            if u > 0.0 {
                s += bump(u, w) * self.scale;
            } else {
                s -= self.twice(w);
            }
            // A carried integer used as an index.
            s += x[k] * 0.1;
            k = (k + self.stride) % x.len();
            let mut y = x[i];
            let mut n = 0;
            while n < i % 3 {
                y = y * c + bump(y, 0.5);
                n += 1;
            }
            s += y;
        }
        s
    }

    #[differentiable]
    fn twice(&self, w: f64) -> f64 {
        2.0 * w * self.scale
    }
}

#[test]
fn calls_methods_and_nested_while_in_loops() {
    let weights = Weights {
        scale: 0.7,
        stride: 2,
    };
    let mut rng = Rng::new(123);
    for n in [1, 2, 5] {
        for _ in 0..20 {
            let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let c = rng.uniform(-1.0, 1.0);
            let (gx, gc) = weights.mixed_grad(&x, c);
            let mut point = x.clone();
            point.push(c);
            let mut grad = gx.clone();
            grad.push(gc);
            let f = |p: &[f64]| weights.mixed(&p[..n], p[n]);
            if let Err(e) = check::gradient(f, &grad, &point, FD) {
                panic!("mixed at {point:?}: {e}");
            }
            let mut v = vec![0.0; n];
            v[0] = 1.0;
            let (y, d) = weights.mixed_jvp(&x, c, &v, 0.5);
            assert_eq!(y, weights.mixed(&x, c));
            assert_close("mixed jvp", d, gx[0] + 0.5 * gc, EXACT);
        }
    }
}

twin!(exits, exits_g, c, |x| {
    // `continue`, `break`, and an early `return` from inside a loop.
    let mut s = c(0.0);
    for i in 0..x.len() {
        if x[i] < c(-0.5) {
            continue;
        }
        s += x[i] * x[i];
        if s > c(2.0) {
            break;
        }
        s = s.sin() + x[i];
    }
    let mut k = 0;
    while k < x.len() {
        if x[k] > c(0.9) {
            return s * x[k];
        }
        k += 1;
    }
    s * c(0.5)
});

#[test]
fn break_continue_and_early_return() {
    for n in [1, 3, 8] {
        check_twin!(exits, exits_g, exits_jvp, exits_grad, n, -1.0, 1.2);
    }
}

/// `loop` with `break value`, and `return` from a nested loop.
#[differentiable]
fn first_crossing(x: &[f64], level: f64) -> (f64, f64) {
    let mut i = 0;
    let hit = loop {
        if i == x.len() {
            break level;
        }
        if x[i] > level {
            break x[i] * 2.0;
        }
        i += 1;
    };
    for a in 0..x.len() {
        for b in 0..a {
            if x[a] * x[b] > 0.8 {
                return (hit, x[a] * x[b]);
            }
        }
    }
    (hit, level * level)
}

#[test]
fn loop_with_break_value_and_return_from_nested_loops() {
    let mut rng = Rng::new(2024);
    for n in [1, 4, 9] {
        for _ in 0..30 {
            let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.2)).collect();
            let level = rng.uniform(0.0, 1.0);
            let ((h, p), (dh, dp)) = first_crossing_jvp(&x, level, &vec![0.0; n], 1.0);
            assert_eq!((h, p), first_crossing(&x, level));
            for (k, w) in [(0, (1.0, 0.0)), (1, (0.0, 1.0))] {
                let (_, (gx, gl)) = first_crossing_vjp(&x, level, w);
                let mut point = x.clone();
                point.push(level);
                let mut grad = gx.clone();
                grad.push(gl);
                let f = |p: &[f64]| {
                    let (a, b) = first_crossing(&p[..n], p[n]);
                    if k == 0 { a } else { b }
                };
                // Away from the points where the path changes.
                let fd = check::central_difference(f, &point);
                if fd.iter().all(|d| d.abs() < 1e3) {
                    check::compare("first_crossing", &grad, &fd, FD)
                        .unwrap_or_else(|e| panic!("{x:?} {level}: {e}"));
                }
                assert_close(
                    "jvp along the level",
                    if k == 0 { dh } else { dp },
                    gl,
                    EXACT,
                );
            }
        }
    }
}

/// Returns in every shape: an early one, then a final `return x;`.
#[differentiable]
fn returns_everywhere(x: f64) -> f64 {
    if x > 1.0 {
        return x * x;
    }
    let y = if x < -1.0 { return -x } else { x * 2.0 };
    return y.sin();
}

/// A loop body that ends by leaving.
#[differentiable]
fn first_big(x: &[f64]) -> f64 {
    let mut i = 0;
    let mut found = 0.0;
    loop {
        if i == x.len() {
            break;
        }
        found = x[i] * 3.0;
        i += 1;
        if found > 1.0 {
            break;
        }
        continue;
    }
    found
}

#[test]
fn statements_that_leave_at_the_end_of_a_block() {
    for (x, expected) in [(2.0, 4.0), (-3.0, -1.0), (0.5, 2.0 * 1f64.cos())] {
        assert_eq!(returns_everywhere_grad(x), expected);
        assert_eq!(
            returns_everywhere_jvp(x, 1.0),
            (returns_everywhere(x), expected)
        );
    }
    let x = [0.1, 0.5, -1.0];
    // 0.3, then 1.5 > 1: the second element decides.
    assert_eq!(first_big(&x), 1.5);
    assert_eq!(first_big_grad(&x), vec![0.0, 3.0, 0.0]);
    assert_eq!(first_big_grad(&[0.1]), vec![3.0]);
}
