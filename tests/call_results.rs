//! What calls return, used as users use it: only some results of a call
//! (`let (_, q) = pol(a, c)`, one field of a struct, nothing of a stepper's
//! value), array values carried by loops and chosen by branches
//! (`let mut v = h(a, c); for _ in 0..3 { v = h(v, c); }`), an early
//! `return [..]` of an array, and a local `[f64; N]` the function writes
//! passed by value (bundle adjustment's `rodrigues_rotate_point` as
//! published). Each at `f64` and `f32`, against central differences, and
//! forward mode against reverse mode.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;

use autodiff::check;
use common::*;

macro_rules! programs {
    ($t:ident) => {
        use autodiff::prelude::*;

        #[differentiable]
        pub fn pol(r: $t, t: $t) -> ($t, $t) {
            (r * t.cos(), r * t.sin())
        }

        /// Only the second result of a call.
        #[differentiable]
        pub fn second_only(a: $t, c: $t) -> $t {
            let (_, q) = pol(a, c);
            q * a
        }

        #[differentiable]
        pub fn scale_first(c: $t, w: &mut [$t]) -> $t {
            w[0] = c * w[0];
            c * 2.0
        }

        /// A stepper's value unused: only what it wrote is read.
        #[differentiable]
        pub fn value_unused(a: $t, c: $t) -> $t {
            let mut w = vec![0.0; 2];
            w[0] = a;
            w[1] = a * a;
            let _t = scale_first(c, &mut w);
            w[0] + w[1]
        }

        /// The same with the value dropped by the statement (found by the
        /// fuzzer: the call was taken to return `()`).
        #[differentiable]
        pub fn value_dropped(a: $t, c: $t) -> $t {
            let mut w = vec![0.0; 2];
            w[0] = a;
            w[1] = a * a;
            scale_first(c, &mut w);
            w[0] + w[1]
        }

        #[differentiable]
        pub fn h(a: [$t; 3], c: $t) -> [$t; 3] {
            [a[0] * c, a[1] + c * a[2], a[2] * a[0].sin()]
        }

        /// An array value carried by a loop, from calls.
        #[differentiable]
        pub fn carried(a: [$t; 3], c: $t) -> $t {
            let mut v = h(a, c);
            for _ in 0..3 {
                v = h(v, c);
            }
            v[0] + v[1] * v[2]
        }

        /// Read by element inside the loop that reassigns it (found by
        /// the fuzzer: the loop's carried value was taken for a float).
        #[differentiable]
        pub fn carried_read_inside(a: [$t; 3], c: $t) -> $t {
            let mut v = h(a, c);
            for _ in 0..3 {
                v = [v[1] * c.tanh(), v[0] + 0.5, v[2] * v[0]];
            }
            v[0] + v[2]
        }

        /// Given an array literal in nested loops with a `break` (found by
        /// the fuzzer: the loop's carried value was taken for a float).
        #[differentiable]
        pub fn carried_through_nested_loops(a: [$t; 3], c: $t) -> $t {
            let mut v = h(a, c);
            let mut k = 0;
            while k < 2 {
                k += 1;
                for _ in 0..3 {
                    v = [a[0] * c, a[1] * a[2], a[2] + c];
                    if c > 1.0 {
                        break;
                    }
                }
            }
            v[0] + v[1] * v[2]
        }

        /// Given an array parameter, or a call in one arm, inside loops
        /// (neighbours of the above, which no syntactic scan of the body
        /// sees: the loop's carried value and its initial value are one
        /// variable while the body is lowered).
        #[differentiable]
        pub fn carried_from_parameter(a: [$t; 3], c: $t) -> $t {
            let mut v = h(a, c);
            for _ in 0..3 {
                if c > 0.0 {
                    v = h(v, c);
                } else {
                    v = a;
                }
                if c > 1.0 {
                    break;
                }
            }
            let mut k = 0;
            while k < 2 {
                k += 1;
                v = a;
                if c < -1.0 {
                    break;
                }
            }
            v[0] * v[2] + v[1]
        }

        /// The same, then an element updated in place.
        #[differentiable]
        pub fn carried_then_divided(a: [$t; 3], c: $t) -> $t {
            let mut v = h(a, c);
            for _ in 0..3 {
                v = h(v, c);
            }
            v[1] /= 2.5;
            v[1] * v[2]
        }

        /// Chosen by a branch between two calls.
        #[differentiable]
        pub fn chosen(a: [$t; 3], c: $t) -> $t {
            let v = if c > 0.0 { h(a, c) } else { h(a, 2.0) };
            v[2] + v[0]
        }

        /// Chosen by a branch between a call and a parameter.
        #[differentiable]
        pub fn chosen_or_kept(a: [$t; 3], c: $t) -> $t {
            let v = if c > 0.0 { h(a, c) } else { a };
            v[2] * v[1]
        }

        /// An early `return` of an array literal.
        #[differentiable]
        pub fn early(s: $t, a: [$t; 2]) -> [$t; 2] {
            if s > 0.0 {
                return [s, a[0] * s];
            }
            [a[1], s * s]
        }

        #[differentiable]
        pub fn early_sum(s: $t, a: [$t; 2]) -> $t {
            let r = early(s, a);
            r[0] * r[1] + r[1]
        }

        #[differentiable]
        pub fn cross(a: [$t; 3], b: [$t; 3]) -> [$t; 3] {
            [
                a[1] * b[2] - a[2] * b[1],
                a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0],
            ]
        }

        #[differentiable]
        pub fn dot(a: [$t; 3], b: [$t; 3]) -> $t {
            a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
        }

        #[differentiable]
        pub fn sqsum(a: [$t; 3]) -> $t {
            a[0] * a[0] + a[1] * a[1] + a[2] * a[2]
        }

        /// ADBench's `rodrigues_rotate_point`, as its C++ reference writes
        /// it: `w` is a local array written element by element, then
        /// passed by value to `cross` and `dot`.
        #[differentiable]
        pub fn rodrigues_rotate_point(rot: [$t; 3], pt: [$t; 3]) -> [$t; 3] {
            let sqtheta = sqsum(rot);
            if sqtheta != 0.0 {
                let theta = sqtheta.sqrt();
                let costheta = theta.cos();
                let sintheta = theta.sin();
                let theta_inverse = 1.0 / theta;
                let mut w = [0.0; 3];
                for i in 0..3 {
                    w[i] = rot[i] * theta_inverse;
                }
                let w_cross_pt = cross(w, pt);
                let tmp = dot(w, pt) * (1.0 - costheta);
                [
                    pt[0] * costheta + w_cross_pt[0] * sintheta + w[0] * tmp,
                    pt[1] * costheta + w_cross_pt[1] * sintheta + w[1] * tmp,
                    pt[2] * costheta + w_cross_pt[2] * sintheta + w[2] * tmp,
                ]
            } else {
                let rot_cross_pt = cross(rot, pt);
                [
                    pt[0] + rot_cross_pt[0],
                    pt[1] + rot_cross_pt[1],
                    pt[2] + rot_cross_pt[2],
                ]
            }
        }

        #[differentiable]
        pub fn rotated_sum(rot: [$t; 3], pt: [$t; 3]) -> $t {
            let p = rodrigues_rotate_point(rot, pt);
            p[0] + 2.0 * p[1] - p[2] * p[2]
        }
    };
}

mod f64s {
    programs!(f64);
}

mod f32s {
    programs!(f32);
}

/// Gradient against central differences, the JVP against the gradient,
/// and the `f32` gradient against the `f64` one, at `count` random points.
fn check<const N: usize>(
    name: &str,
    f: impl Fn([f64; N]) -> f64,
    grad: impl Fn([f64; N]) -> [f64; N],
    jvp: impl Fn([f64; N], [f64; N]) -> (f64, f64),
    grad32: impl Fn([f32; N]) -> [f32; N],
    lo: f64,
    hi: f64,
) {
    let mut rng = Rng::new(name.len() as u64);
    for _ in 0..40 {
        let x: [f64; N] = std::array::from_fn(|_| rng.uniform(lo, hi));
        let g = grad(x);
        check::gradient(|p: &[f64]| f(p.try_into().unwrap()), &g, &x, FD)
            .unwrap_or_else(|e| panic!("{name} at {x:?}: {e}"));
        let v: [f64; N] = std::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        let (y, d) = jvp(x, v);
        assert_eq!(y, f(x), "{name}: JVP value");
        let expected: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close(&format!("{name} at {x:?}: JVP"), d, expected, EXACT);
        let g32 = grad32(x.map(|v| v as f32));
        for i in 0..N {
            let tol = common::F32;
            assert_close(&format!("{name}: f32 [{i}]"), g32[i] as f64, g[i], tol);
        }
    }
}

/// `f(a, c)` of an array and a scalar as one point `[a0, a1, a2, c]`.
macro_rules! array_and_scalar {
    ($name:ident, $grad:ident, $jvp:ident) => {
        check(
            stringify!($name),
            |x: [f64; 4]| f64s::$name([x[0], x[1], x[2]], x[3]),
            |x| {
                let (ga, gc) = f64s::$grad([x[0], x[1], x[2]], x[3]);
                [ga[0], ga[1], ga[2], gc]
            },
            |x, v| f64s::$jvp([x[0], x[1], x[2]], x[3], [v[0], v[1], v[2]], v[3]),
            |x| {
                let (ga, gc) = f32s::$grad([x[0], x[1], x[2]], x[3]);
                [ga[0], ga[1], ga[2], gc]
            },
            -1.2,
            1.2,
        )
    };
}

#[test]
fn results_partly_used() {
    check(
        "second_only",
        |x: [f64; 2]| f64s::second_only(x[0], x[1]),
        |x| f64s::second_only_grad(x[0], x[1]).into(),
        |x, v| f64s::second_only_jvp(x[0], x[1], v[0], v[1]),
        |x| f32s::second_only_grad(x[0], x[1]).into(),
        -2.0,
        2.0,
    );
    // d/da [a² sin c] = 2a sin c.
    let (ga, _) = f64s::second_only_grad(1.5, 0.3);
    assert_close("second_only", ga, 3.0 * 0.3f64.sin(), EXACT);
    check(
        "value_unused",
        |x: [f64; 2]| f64s::value_unused(x[0], x[1]),
        |x| f64s::value_unused_grad(x[0], x[1]).into(),
        |x, v| f64s::value_unused_jvp(x[0], x[1], v[0], v[1]),
        |x| f32s::value_unused_grad(x[0], x[1]).into(),
        -2.0,
        2.0,
    );
    // d/da [c a + a²] = c + 2a, d/dc = a.
    assert_eq!(f64s::value_unused_grad(1.5, 0.3), (0.3 + 3.0, 1.5));
    check(
        "value_dropped",
        |x: [f64; 2]| f64s::value_dropped(x[0], x[1]),
        |x| f64s::value_dropped_grad(x[0], x[1]).into(),
        |x, v| f64s::value_dropped_jvp(x[0], x[1], v[0], v[1]),
        |x| f32s::value_dropped_grad(x[0], x[1]).into(),
        -2.0,
        2.0,
    );
}

#[test]
fn array_values_through_loops_and_branches() {
    array_and_scalar!(carried, carried_grad, carried_jvp);
    array_and_scalar!(
        carried_read_inside,
        carried_read_inside_grad,
        carried_read_inside_jvp
    );
    array_and_scalar!(
        carried_through_nested_loops,
        carried_through_nested_loops_grad,
        carried_through_nested_loops_jvp
    );
    array_and_scalar!(
        carried_from_parameter,
        carried_from_parameter_grad,
        carried_from_parameter_jvp
    );
    array_and_scalar!(
        carried_then_divided,
        carried_then_divided_grad,
        carried_then_divided_jvp
    );
    array_and_scalar!(chosen, chosen_grad, chosen_jvp);
    array_and_scalar!(chosen_or_kept, chosen_or_kept_grad, chosen_or_kept_jvp);
    // Both arms, at fixed points: v = a where c <= 0.
    let (ga, gc) = f64s::chosen_or_kept_grad([1.0, 2.0, 3.0], -1.0);
    assert_eq!((ga, gc), ([0.0, 3.0, 2.0], 0.0));
}

#[test]
fn early_return_of_an_array() {
    check(
        "early_sum",
        |x: [f64; 3]| f64s::early_sum(x[0], [x[1], x[2]]),
        |x| {
            let (gs, ga) = f64s::early_sum_grad(x[0], [x[1], x[2]]);
            [gs, ga[0], ga[1]]
        },
        |x, v| f64s::early_sum_jvp(x[0], [x[1], x[2]], v[0], [v[1], v[2]]),
        |x| {
            let (gs, ga) = f32s::early_sum_grad(x[0], [x[1], x[2]]);
            [gs, ga[0], ga[1]]
        },
        -2.0,
        2.0,
    );
    // The array JVP of each exit.
    assert_eq!(
        f64s::early_jvp(2.0, [3.0, 5.0], 1.0, [0.0, 0.0]),
        ([2.0, 6.0], [1.0, 3.0])
    );
    assert_eq!(
        f64s::early_jvp(-2.0, [3.0, 5.0], 1.0, [0.0, 1.0]),
        ([5.0, 4.0], [1.0, -4.0])
    );
}

#[test]
fn local_array_passed_by_value() {
    check(
        "rotated_sum",
        |x: [f64; 6]| f64s::rotated_sum([x[0], x[1], x[2]], [x[3], x[4], x[5]]),
        |x| {
            let (gr, gp) = f64s::rotated_sum_grad([x[0], x[1], x[2]], [x[3], x[4], x[5]]);
            [gr[0], gr[1], gr[2], gp[0], gp[1], gp[2]]
        },
        |x, v| {
            f64s::rotated_sum_jvp(
                [x[0], x[1], x[2]],
                [x[3], x[4], x[5]],
                [v[0], v[1], v[2]],
                [v[3], v[4], v[5]],
            )
        },
        |x| {
            let (gr, gp) = f32s::rotated_sum_grad([x[0], x[1], x[2]], [x[3], x[4], x[5]]);
            [gr[0], gr[1], gr[2], gp[0], gp[1], gp[2]]
        },
        -1.5,
        1.5,
    );
    // A rotation by pi/2 about z takes x to y.
    let p = f64s::rodrigues_rotate_point([0.0, 0.0, std::f64::consts::FRAC_PI_2], [1.0, 0.0, 0.0]);
    assert_close("rotation", p[0], 0.0, EXACT);
    assert_close("rotation", p[1], 1.0, EXACT);
}

/// A struct a call returns, of which the caller reads one field.
mod structs {
    use autodiff::prelude::*;

    #[derive(Differentiable, Clone, Debug)]
    pub struct Point {
        pub x: f64,
        pub y: f64,
    }

    #[differentiable(wrt(s, c))]
    pub fn step(s: &Point, c: f64) -> Point {
        Point {
            x: s.x * c.cos() - s.y,
            y: s.y * c + s.x * s.x,
        }
    }

    #[differentiable(wrt(s0, c))]
    pub fn first_field(s0: &Point, c: f64) -> f64 {
        let q = step(s0, c);
        q.x
    }
}

#[test]
fn one_field_of_a_struct_result() {
    let mut rng = Rng::new(11);
    for _ in 0..30 {
        let x: [f64; 3] = std::array::from_fn(|_| rng.uniform(-2.0, 2.0));
        let f = |x: &[f64]| structs::first_field(&structs::Point { x: x[0], y: x[1] }, x[2]);
        let (gs, gc) = structs::first_field_grad(&structs::Point { x: x[0], y: x[1] }, x[2]);
        check::gradient(f, &[gs.x, gs.y, gc], &x, FD).unwrap_or_else(|e| panic!("{x:?}: {e}"));
        // Closed form: d/dx = cos c, d/dy = -1, d/dc = -x sin c.
        assert_close("x", gs.x, x[2].cos(), EXACT);
        assert_eq!(gs.y, -1.0);
        assert_close("c", gc, -x[0] * x[2].sin(), EXACT);
    }
}
