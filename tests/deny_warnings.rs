//! Generated code compiles without warnings in a crate that denies them
//! (clippy, run by CI with `-D warnings` over all targets, checks this file
//! too). The functions cover each kind of generated code: unused
//! parameters, inactive arguments, tuples, calls, methods, constants, casts,
//! `wrt`, generic functions, structs of parameters (also under
//! `missing_docs`), the branches that skip derivatives scaled by stored
//! zeros, iterator chains, closures, slice methods, checks and output,
//! `Result` outputs, trait impls, rows of arrays, generic custom rules, type aliases. Only some siblings are used: the others
//! must not warn either.
#![deny(warnings)]
#![deny(clippy::all)]
#![deny(missing_docs)]

use autodiff::prelude::*;

const K: f64 = 1.5;

#[differentiable]
fn unused_parameter(x: f64, _y: f64, _n: usize) -> f64 {
    x * K
}

/// Differentiated with respect to `x` only.
#[differentiable(wrt(x))]
pub fn restricted(x: f64, y: f64, flag: bool) -> f64 {
    let s = if_then(flag);
    (x * y).sin() * s
}

fn if_then(flag: bool) -> f64 {
    if flag { 1.0 } else { -1.0 }
}

#[differentiable]
fn tuple_out(a: f32, b: f32) -> (f32, f32) {
    let mut s = a;
    s += b * 2.0;
    (s, (a as f64 * 0.5) as f32)
}

#[differentiable]
fn calls(x: f64) -> f64 {
    let (p, q) = tuple_out(x as f32, 1.0);
    let r = unused_parameter(x, x, 3);
    r + p as f64 * q as f64
}

/// A model.
pub struct Model {
    /// A weight.
    pub w: f64,
}

impl Model {
    /// A prediction.
    #[differentiable]
    pub fn predict(&self, x: f64) -> f64 {
        (self.w * x).tanh()
    }

    #[differentiable]
    fn loss(&self, x: f64, target: f64) -> f64 {
        let e = self.predict(x) - target;
        e * e
    }
}

#[differentiable]
fn constant_output(x: f64) -> f64 {
    let _ = x;
    2.0
}

#[test]
fn generated_code_is_warning_free_and_usable() {
    // The originals are called here too; the functions below are used
    // only through their siblings.
    assert_eq!(unused_parameter(2.0, 3.0, 1), 3.0);
    assert_eq!(tuple_out(1.0, 2.0), (5.0, 0.5));
    assert!(calls(0.3).is_finite());
    assert_eq!(constant_output(1.0), 2.0);
    assert_eq!(unused_parameter_grad(2.0, 3.0, 1), (1.5, 0.0));
    assert!(restricted_grad(0.5, 2.0, true).is_finite());
    let ((s, _), _) = tuple_out_jvp(1.0, 2.0, 1.0, 0.0);
    assert_eq!(s, 5.0);
    assert!(calls_grad(0.3).is_finite());
    let m = Model { w: 0.7 };
    let (l, (gx, gt)) = m.loss_value_and_grad(0.2, 1.0);
    assert_eq!(l, m.loss(0.2, 1.0));
    let e = (0.7f64 * 0.2).tanh() - 1.0;
    let sech2 = 1.0 - (0.7f64 * 0.2).tanh().powi(2);
    assert!((gx - 2.0 * e * 0.7 * sech2).abs() < 1e-15);
    assert!((gt + 2.0 * e).abs() < 1e-15);
    assert_eq!(constant_output_jvp(1.0, 1.0), (2.0, 0.0));
}

#[differentiable]
fn loops_and_branches(x: &[f64], c: &[f64], p: [f64; 2], k: f64) -> f64 {
    let mut s = 0.0;
    let mut y = 0.0;
    for i in (0..x.len()).rev() {
        y = y * k + x[i];
        if x[i] > 0.0 {
            s += x[i].exp();
        } else {
            s -= y * p[0];
        }
    }
    for (&a, &b) in x.iter().zip(c.iter()) {
        s += a * b;
    }
    let t: f64 = c.iter().map(|v| v * v).sum();
    let unchanged = p[1];
    for _ in 0..3 {
        s *= unchanged;
    }
    s + y + t
}

#[test]
fn loops_are_warning_free_and_usable() {
    let x = [0.5, -1.0, 2.0];
    let c = [1.0, 2.0, 3.0, 4.0];
    let (gx, gc, gp, gk) = loops_and_branches_grad(&x, &c, [0.3, 1.1], 0.7);
    assert_eq!((gx.len(), gc.len(), gp.len()), (3, 4, 2));
    assert!(gk.is_finite());
    let (v, d) = loops_and_branches_jvp(
        &x,
        &c,
        [0.3, 1.1],
        0.7,
        &[1.0, 0.0, 0.0],
        &[0.0; 4],
        [0.0; 2],
        0.0,
    );
    assert_eq!(v, loops_and_branches(&x, &c, [0.3, 1.1], 0.7));
    assert!((d - gx[0]).abs() < 1e-12 * gx[0].abs().max(1.0));
}

#[differentiable]
fn builds_arrays(x: &[f64], scale: f64) -> (Vec<f64>, [f64; 2], f64) {
    let mut copy = vec![0.0; x.len()];
    for (i, &v) in x.iter().enumerate() {
        copy[i] = v * v;
    }
    let mut pair = [0.0; 2];
    pair[0] = scale * x[0];
    pair[1] -= scale;
    let mut pushed = Vec::with_capacity(x.len());
    for &v in x.iter() {
        pushed.push(v * scale);
    }
    (copy, pair, pushed.len() as f64)
}

#[test]
fn arrays_are_warning_free_and_usable() {
    let x = [1.0, 2.0];
    let ((copy, pair, len), (dcopy, dpair, dlen)) = builds_arrays_jvp(&x, 2.0, &[1.0, 0.0], 1.0);
    assert_eq!((copy.clone(), pair, len), builds_arrays(&x, 2.0));
    assert_eq!((dcopy, dpair, dlen), (vec![2.0, 0.0], [3.0, -1.0], 0.0));
    let (_, (gx, gs)) = builds_arrays_vjp(&x, 2.0, (vec![1.0, 1.0], [1.0, 1.0], 1.0));
    assert_eq!((gx, gs), (vec![4.0, 4.0], 0.0));
}

#[differentiable]
fn writes_output(x: &[f64], out: &mut [f64]) {
    for (i, &v) in x.iter().enumerate() {
        out[i] = v.exp();
    }
}

#[test]
fn output_parameters_are_warning_free_and_usable() {
    let x = [0.0, 1.0];
    let (mut out, mut dout) = ([0.0; 2], [0.0; 2]);
    writes_output_jvp(&x, &mut out, &[1.0, 1.0], &mut dout);
    assert_eq!(out, dout);
    let mut again = [0.0; 2];
    writes_output(&x, &mut again);
    assert_eq!(again, out);
    let g = writes_output_vjp(&x, &mut out, &[1.0, 0.0]);
    assert_eq!(g, vec![1.0, 0.0]);
}

#[differentiable]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[differentiable]
fn total(x: &[f64]) -> f64 {
    x.iter().sum()
}

#[differentiable]
fn step(x: &[f64], y: &mut [f64]) {
    for i in 0..y.len() {
        y[i] += x[i] * y[i];
    }
}

#[differentiable]
fn depth(x: &[f64], n: usize) -> f64 {
    if n == 0 {
        return x[0];
    }
    depth(&x[1..], n - 1) * x[0]
}

/// Array values, buffers lent to callees (read and written), parts of
/// slices, data, recursion.
#[differentiable]
fn uses_buffers(x: &[f64], idx: &[usize], cfg: &Model) -> f64 {
    let [a, b, c] = cross([x[0], x[1], x[2]], [1.0, 2.0, cfg.w]);
    let mut y = vec![0.0; x.len()];
    for k in 0..idx.len() {
        y[k] = x[idx[k]];
    }
    step(x, &mut y);
    step(&x[1..], &mut y[1..]);
    a * b + c + total(&y) + total(&x[..2]) + depth(x, 2)
}

#[test]
fn buffers_are_warning_free_and_usable() {
    let x = [0.5, -1.0, 2.0];
    let m = Model { w: 3.0 };
    let (v, g) = uses_buffers_value_and_grad(&x, &[2, 0, 1], &m);
    assert_eq!(v, uses_buffers(&x, &[2, 0, 1], &m));
    let (_, d) = uses_buffers_jvp(&x, &[2, 0, 1], &m, &[1.0, 0.0, 0.0]);
    assert!((d - g[0]).abs() < 1e-12 * g[0].abs().max(1.0));
}

/// Parameters.
#[derive(Differentiable, Clone)]
pub struct Params {
    /// Weights.
    pub w: Vec<f64>,
    /// A bias.
    pub b: f64,
    /// A label.
    #[no_diff]
    pub n: usize,
}

/// A loss over a struct of parameters.
#[differentiable(wrt(p))]
pub fn struct_loss(p: &Params, x: &[f64]) -> f64 {
    let mut s = p.b;
    for (&w, &v) in p.w.iter().zip(x) {
        s += w * v;
    }
    s * s
}

/// A function generic over its scalar.
#[differentiable]
pub fn generic_norm<T: Float>(x: &[T]) -> T {
    let mut s = T::zero();
    for &v in x {
        s = s + v * v;
    }
    s.sqrt()
}

#[test]
fn structs_and_generic_functions() {
    let mut p = Params {
        w: vec![1.0, 2.0],
        b: 0.5,
        n: 2,
    };
    let g = struct_loss_grad(&p, &[3.0, 4.0]);
    assert_eq!((g.w, g.b), (vec![69.0, 92.0], 23.0));
    p.step(&struct_loss_grad(&p, &[3.0, 4.0]), -0.01);
    assert!(struct_loss(&p, &[3.0, 4.0]) < 132.25);
    let g = generic_norm_grad(&[3.0f64, 4.0][..]);
    assert!((g[0] - 0.6).abs() < 1e-15 && (g[1] - 0.8).abs() < 1e-15);
}

/// Parameters nesting another struct, with `f32` fields.
#[derive(Differentiable, Clone)]
pub struct Outer {
    /// Inner parameters.
    pub inner: Params,
    /// A single-precision scale.
    pub scale: f32,
}

/// Methods differentiated with respect to `self`.
#[differentiable]
impl Outer {
    /// A loss passing the nested struct on.
    #[differentiable(wrt(self))]
    pub fn loss(&self, x: &[f64]) -> f64 {
        struct_loss(&self.inner, x) * self.scale as f64
    }

    /// An associated function.
    #[differentiable]
    pub fn square(x: f64) -> f64 {
        x * x
    }
}

#[test]
fn nested_structs_and_methods() {
    let o = Outer {
        inner: Params {
            w: vec![1.0, 2.0],
            b: 0.5,
            n: 2,
        },
        scale: 2.0,
    };
    let g = o.loss_grad(&[3.0, 4.0]);
    assert_eq!(
        (g.inner.w, g.inner.b, g.scale),
        (vec![138.0, 184.0], 46.0, 132.25)
    );
    assert_eq!(Outer::square_grad(3.0), 6.0);
    let (_, lanes) = Outer::square_jvp_lanes(3.0, Lanes([1.0, 2.0]));
    assert_eq!(lanes, Lanes([6.0, 12.0]));
}

/// A point in the plane.
#[derive(Differentiable, Clone)]
pub struct Point {
    /// Abscissa.
    pub x: f64,
    /// Ordinate.
    pub y: f64,
}

/// A point moved: a struct returned.
#[differentiable(wrt(p))]
pub fn moved(p: &Point, d: f64) -> Point {
    Point {
        x: p.x + d,
        y: p.y * d,
    }
}

/// Struct variables: a call's result, a copy with one field changed
/// (`mut` with one leaf written), a literal, a loop, one returned.
#[differentiable(wrt(p))]
pub fn walk(p: &Point, n: usize) -> Point {
    let first = moved(p, 0.5);
    let mut copy = first.clone();
    copy.x += first.y;
    let mut cur = Point {
        x: copy.x,
        y: copy.y,
    };
    for _ in 0..n {
        cur = moved(&cur, 1.5);
    }
    cur
}

#[test]
fn struct_variables_are_warning_free_and_usable() {
    let p = Point { x: 1.0, y: 2.0 };
    let (v, t) = walk_jvp(&p, 2, &PointTangent { x: 1.0, y: 0.0 });
    // x: (1 + 0.5 + 2 * 0.5) + 3, y: 2 * 0.5 * 1.5 * 1.5.
    assert_eq!((v.x, v.y), (5.5, 2.25));
    assert_eq!((t.x, t.y), (1.0, 0.0));
    let (_, g) = walk_vjp(&p, 2, PointTangent { x: 0.0, y: 1.0 });
    // d(v.y)/dy = 0.5 * 2.25, and v.x depends on y through first.y.
    assert_eq!((g.x, g.y), (0.0, 1.125));
}

/// Weights read from an array, the tangents and adjoints they scale
/// skipped where they are zero (a branch in every derivative).
#[differentiable(wrt(x))]
pub fn weighted(x: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += w[i] * (x[i].sin() + x[i] * x[i] + x[i].exp() + x[i].cos());
    }
    s
}

#[test]
fn zero_weight_branches_are_warning_free() {
    let (x, w) = ([0.5, 1.0], [0.0, 2.0]);
    let g = weighted_grad(&x, &w);
    let d = |x: f64| x.cos() + 2.0 * x + x.exp() - x.sin();
    assert_eq!(g, vec![0.0, 2.0 * d(1.0)]);
    assert_eq!(weighted_jvp(&x, &w, &[1.0, 1.0]).1, 2.0 * d(1.0));
}

/// Called only through its gradient: each sibling names the function, so
/// that using a sibling uses it. (Since rustc takes an item that allows
/// `dead_code`, as each sibling must, for used, a function whose siblings
/// are all unused is not reported either: docs/api.md.)
#[differentiable]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a;
    for _ in 0..6 {
        x = 0.5 * (x + a / x);
    }
    x
}

#[differentiable]
fn generic_square<T: num_traits::Float>(x: T) -> T {
    x * x
}

#[differentiable]
fn scale_in_place(k: f64, y: &mut [f64]) {
    let mut i = 0;
    while i < y.len() {
        y[i] *= k + i as f64;
        i += 1;
    }
}

#[test]
fn functions_used_only_through_siblings_do_not_warn() {
    assert!((newton_sqrt_grad(4.0) - 0.25).abs() < 1e-9);
    assert_eq!(generic_square_jvp(3.0f32, 1.0), (9.0, 6.0));
    let (mut y, mut wy) = ([1.0, 2.0], [1.0, 1.0]);
    // y' = [2 y0, 3 y1]: d/dk = y0 + y1, the initial cotangent [2, 3].
    assert_eq!(scale_in_place_vjp(2.0, &mut y, &mut wy), 3.0);
    assert_eq!((y, wy), ([2.0, 6.0], [2.0, 3.0]));
}

/// Chains, a closure, slice methods and checks.
#[differentiable]
pub fn idiomatic(x: &[f64], w: f64) -> f64 {
    assert!(!x.is_empty(), "empty");
    let sq = |v: f64| v * v * w;
    let mut v = x.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.iter_mut().for_each(|e| *e *= 0.5);
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let kept: f64 = v.iter().filter(|&&t| t > 0.0).map(|&t| sq(t)).sum();
    let tv: f64 = x.windows(2).map(|p| (p[1] - p[0]).abs()).sum();
    debug_assert!(tv >= 0.0);
    m + kept + tv + *x.iter().max_by(|a, b| a.total_cmp(b)).unwrap()
}

/// A `Result` output.
#[differentiable]
pub fn fallible(x: f64) -> Result<f64, String> {
    if x < 0.0 {
        return Err(format!("negative {x}"));
    }
    Ok(x.sqrt())
}

/// A trait with a differentiable impl.
pub trait Shape {
    /// The value.
    fn value(&self, x: f64) -> f64;
}

/// A scaled square.
pub struct Scaled(pub f64);

#[differentiable]
impl Shape for Scaled {
    fn value(&self, x: f64) -> f64 {
        self.0 * x * x
    }
}

/// Rows of small arrays in, out and returned.
#[differentiable(wrt(pos))]
pub fn rows(pos: &[[f64; 3]], out: &mut [[f64; 3]], n: usize) -> Vec<[f64; 3]> {
    let mut moved = vec![[0.0; 3]; pos.len()];
    for (i, p) in pos.iter().enumerate() {
        out[i] = [p[0] * p[1], p[2], 1.0];
        for k in 0..3 {
            moved[i][k] = p[k] * n as f64 + rows_helper(&pos[i]);
        }
    }
    for f in out.iter_mut() {
        f[0] *= 2.0;
    }
    moved
}

#[differentiable]
fn rows_helper(p: &[f64; 3]) -> f64 {
    p[0] * p[1]
}

/// Calls a function over rows.
#[differentiable]
pub fn rows_caller(pos: &[[f64; 3]]) -> f64 {
    let mut out = vec![[0.0; 3]; pos.len()];
    let moved: Vec<[f64; 3]> = rows(pos, &mut out, 2);
    moved[0][0] + out[0][1]
}

fn soft_rule<T: Float>(x: T, _y: T, dy: T) -> T {
    dy / (T::one() + (-x).exp())
}

/// A generic function with a custom rule.
#[custom_vjp(soft_rule)]
pub fn soft<T: Float>(x: T) -> T {
    x.exp().ln_1p()
}

/// Calls it.
#[differentiable]
pub fn soft_caller<T: Float>(x: T) -> T {
    soft(x) * x
}

/// A point.
pub type Point2 = [f64; 2];

/// Type aliases in the signature.
#[differentiable]
pub fn aliased(p: Point2, pts: &[Point2], s: f64) -> Point2 {
    let mut out = [0.0; 2];
    for q in pts {
        out[0] += (q[0] - p[0]) * s;
        out[1] += (q[1] - p[1]) * s;
    }
    out
}

#[test]
fn idiomatic_code_does_not_warn() {
    assert_eq!(aliased([0.0; 2], &[[1.0, 2.0]], 1.0), [1.0, 2.0]);
    assert!(soft_caller_grad(0.5f64) > 0.0);
    assert_eq!(rows_caller_grad(&[[1.0, 2.0, 3.0]]).len(), 1);
    let g = idiomatic_grad(&[1.0, -2.0, 3.0], 2.0);
    assert_eq!(g.0.len(), 3);
    assert_eq!(fallible_grad(4.0), Ok(0.25));
    assert_eq!(Scaled(2.0).value_grad(3.0), 12.0);
}
