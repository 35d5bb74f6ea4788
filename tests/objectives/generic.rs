//! Objectives written generically over the scalar, as a user who wants
//! second derivatives or Jacobians by vector forward mode writes them: the
//! same function runs at `f64`, at `Dual<f64>` and at `DualVec<f64, K>`
//! (`K` directions per evaluation). Rosenbrock, GradBench's k-means, and the
//! hand-tracking residuals (ADBench "hand", as in `super`).
#![allow(dead_code, clippy::needless_range_loop)]

use autodiff::prelude::*;

/// Extended Rosenbrock.
#[differentiable]
pub fn rosenbrock<T: Float>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let a = T::one() - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s = s + a * a + T::from(100.0).unwrap() * b * b;
    }
    s
}

/// GradBench's k-means cost: the squared distance of each point to its
/// nearest centre, summed.
#[differentiable(wrt(c))]
pub fn kmeans<T: Float>(x: &[T], c: &[T], d: usize) -> T {
    let n = x.len() / d;
    let k = c.len() / d;
    let mut total = T::zero();
    for i in 0..n {
        let mut best = T::infinity();
        for j in 0..k {
            let mut s = T::zero();
            for l in 0..d {
                let e = x[i * d + l] - c[j * d + l];
                s = s + e * e;
            }
            best = best.min(s);
        }
        total = total + best;
    }
    total
}

#[differentiable]
pub fn euler_rotation<T: Float>(t: [T; 3]) -> [T; 9] {
    let (cx, sx) = (t[0].cos(), t[0].sin());
    let (cy, sy) = (t[2].cos(), t[2].sin());
    let (cz, sz) = (t[1].cos(), t[1].sin());
    // rz * ry * rx, multiplied out.
    [
        cz * cy,
        cz * sy * sx - sz * cx,
        cz * sy * cx + sz * sx,
        sz * cy,
        sz * sy * sx + cz * cx,
        sz * sy * cx - cz * sx,
        -sy,
        cy * sx,
        cy * cx,
    ]
}

/// The skinned vertex positions minus the observed points: differentiable
/// (its VJP gives `jacrev`), and at `DualVec` its Jacobian by vector
/// forward mode (`jacfwd_lanes`).
#[differentiable(wrt(theta))]
pub fn hand_residuals_generic<T: Float>(
    theta: &[T],
    parents: &[i64],
    base_relatives: &[T],
    weights: &[T],
    base_positions: &[T],
    points: &[T],
) -> Vec<T> {
    let n_bones = parents.len();
    let n_verts = base_positions.len() / 3;
    let mut absolutes = vec![T::zero(); 12 * n_bones];
    for b in 0..n_bones {
        let rot = euler_rotation([theta[3 * b], theta[3 * b + 1], theta[3 * b + 2]]);
        let mut tr = [T::zero(); 12];
        for i in 0..3 {
            for j in 0..3 {
                let mut s = T::zero();
                for k in 0..3 {
                    s = s + base_relatives[12 * b + 4 * i + k] * rot[3 * k + j];
                }
                tr[4 * i + j] = s;
            }
            tr[4 * i + 3] = base_relatives[12 * b + 4 * i + 3];
        }
        if parents[b] < 0 {
            for i in 0..12 {
                absolutes[12 * b + i] = tr[i];
            }
        } else {
            let p = parents[b] as usize;
            for i in 0..3 {
                for j in 0..4 {
                    let mut s = if j == 3 {
                        absolutes[12 * p + 4 * i + 3]
                    } else {
                        T::zero()
                    };
                    for k in 0..3 {
                        s = s + absolutes[12 * p + 4 * i + k] * tr[4 * k + j];
                    }
                    absolutes[12 * b + 4 * i + j] = s;
                }
            }
        }
    }
    let mut err = vec![T::zero(); 3 * n_verts];
    for v in 0..n_verts {
        for i in 0..3 {
            let mut pos = T::zero();
            for b in 0..n_bones {
                let mut t = absolutes[12 * b + 4 * i + 3];
                for k in 0..3 {
                    t = t + absolutes[12 * b + 4 * i + k] * base_positions[3 * v + k];
                }
                pos = pos + weights[v * n_bones + b] * t;
            }
            err[3 * v + i] = points[3 * v + i] - pos;
        }
    }
    err
}
