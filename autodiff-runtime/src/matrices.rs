//! Jacobians, Hessians and Hessian-vector products from generated
//! functions.
//!
//! The second-order helpers take a gradient evaluated at dual numbers: a
//! function generic over its scalar (`fn f<T: Float>`) has generic siblings,
//! so `|x| f_grad(x)` at `Dual<f64>` is the gradient with a tangent carried
//! through it (forward over reverse). One such pass gives `H v`, for a small
//! constant times the cost of a gradient.
//!
//! With the `autodiff` crate (where this example runs as a doctest):
//!
//! ```ignore
//! use autodiff::prelude::*;
//!
//! #[differentiable]
//! fn f<T: Float>(x: &[T]) -> T {
//!     x[0] * x[0] * x[1] + x[1].sin()
//! }
//!
//! let x = [1.5, 0.5];
//! let hv = hvp(|x| f_grad(x), &x, &[1.0, 0.0]);
//! assert!((hv[0] - 2.0 * x[1]).abs() < 1e-12); // d²f/dx0²
//! assert!((hv[1] - 2.0 * x[0]).abs() < 1e-12); // d²f/dx1 dx0
//! let h = hessian(|x| f_grad(x), &x);
//! assert!((h[1][1] + x[1].sin()).abs() < 1e-12);
//! ```

use crate::{Dual, DualVec, Lanes};

/// The Hessian-vector product `H(x) v` of a scalar function, from its
/// gradient evaluated at dual numbers (`|x| f_grad(x)` for a generic `f`):
/// one pass of the gradient with `x + ε v`, whose tangents are `H v`.
pub fn hvp(grad: impl Fn(&[Dual<f64>]) -> Vec<Dual<f64>>, x: &[f64], v: &[f64]) -> Vec<f64> {
    assert_eq!(x.len(), v.len(), "hvp: x and v of different lengths");
    let xd: Vec<Dual<f64>> = x.iter().zip(v).map(|(&x, &v)| Dual::new(x, v)).collect();
    grad(&xd).iter().map(|g| g.eps).collect()
}

/// The Hessian of a scalar function, row by row, from its gradient
/// evaluated at dual numbers: the Jacobian of the gradient ([`jacfwd`]), one
/// [`hvp`] per coordinate (`n` gradient passes). Symmetric up to rounding.
pub fn hessian(grad: impl Fn(&[Dual<f64>]) -> Vec<Dual<f64>>, x: &[f64]) -> Vec<Vec<f64>> {
    jacfwd(grad, x)
}

/// [`hessian`] with `K` directions per gradient pass (`⌈n / K⌉` passes),
/// the gradient evaluated at [`DualVec`]`<f64, K>`.
pub fn hessian_lanes<const K: usize>(
    grad: impl Fn(&[DualVec<f64, K>]) -> Vec<DualVec<f64, K>>,
    x: &[f64],
) -> Vec<Vec<f64>> {
    jacfwd_lanes::<K>(grad, x)
}

/// The diagonal of the Hessian: `n` [`hvp`]s along the unit vectors,
/// keeping one entry of each.
pub fn hessian_diagonal(grad: impl Fn(&[Dual<f64>]) -> Vec<Dual<f64>>, x: &[f64]) -> Vec<f64> {
    hessian(grad, x)
        .into_iter()
        .enumerate()
        .map(|(j, row)| row[j])
        .collect()
}

/// The Jacobian (`m` rows of `n`) of a vector function, by forward mode:
/// the function at dual numbers (`|x| f(x)` for a generic `f`), once per
/// input direction.
pub fn jacfwd(f: impl Fn(&[Dual<f64>]) -> Vec<Dual<f64>>, x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut xd: Vec<Dual<f64>> = x.iter().map(|&x| Dual::constant(x)).collect();
    let mut columns = Vec::with_capacity(n);
    for j in 0..n {
        xd[j].eps = 1.0;
        columns.push(f(&xd).iter().map(|y| y.eps).collect::<Vec<f64>>());
        xd[j].eps = 0.0;
    }
    let m = columns.first().map_or(0, Vec::len);
    (0..m)
        .map(|i| columns.iter().map(|c| c[i]).collect())
        .collect()
}

/// The Jacobian (`m` rows of `n`) of a vector function by vector forward
/// mode: the function at [`DualVec`]`<f64, K>` (`|x| f(x)` for a generic
/// `f`), `K` input directions per evaluation, so `⌈n / K⌉` evaluations
/// instead of `n`; each operation applies its partial derivatives to the
/// `K` lanes at once. Equal to [`jacfwd`], lane for lane.
pub fn jacfwd_lanes<const K: usize>(
    f: impl Fn(&[DualVec<f64, K>]) -> Vec<DualVec<f64, K>>,
    x: &[f64],
) -> Vec<Vec<f64>> {
    assert!(K > 0, "jacfwd_lanes: K must be at least 1");
    let n = x.len();
    let mut xd: Vec<DualVec<f64, K>> = x.iter().map(|&x| Dual::new(x, [0.0; K])).collect();
    let mut jac: Vec<Vec<f64>> = Vec::new();
    for start in (0..n).step_by(K) {
        let end = (start + K).min(n);
        for (k, d) in xd[start..end].iter_mut().enumerate() {
            d.eps[k] = 1.0;
        }
        let y = f(&xd);
        if jac.is_empty() {
            jac = vec![vec![0.0; n]; y.len()];
        }
        for (row, yi) in jac.iter_mut().zip(&y) {
            row[start..end].copy_from_slice(&yi.eps[..end - start]);
        }
        for (k, d) in xd[start..end].iter_mut().enumerate() {
            d.eps[k] = 0.0;
        }
    }
    jac
}

/// The Jacobian (`m` rows of `n`) of a vector function from its generated
/// vector JVP (`|dx| f_jvp_lanes(x, dx).1`): `⌈n / K⌉` calls, each seeded
/// with `K` columns of the identity ([`Lanes::seed`]). Unlike
/// [`jacfwd_lanes`], whose constants are dual numbers too, the generated
/// code knows what is constant: only the tangents carry lanes.
pub fn jacobian_lanes<const K: usize>(
    mut jvp: impl FnMut(&[Lanes<f64, K>]) -> Vec<Lanes<f64, K>>,
    n: usize,
) -> Vec<Vec<f64>> {
    let mut jac: Vec<Vec<f64>> = Vec::new();
    let mut seeds = vec![Lanes::zero(); n];
    for start in (0..n).step_by(K.max(1)) {
        for (i, s) in seeds.iter_mut().enumerate() {
            *s = Lanes::seed(i, start);
        }
        let cols = jvp(&seeds);
        if jac.is_empty() {
            jac = vec![vec![0.0; n]; cols.len()];
        }
        for (row, l) in jac.iter_mut().zip(&cols) {
            let width = K.min(n - start);
            row[start..start + width].copy_from_slice(&l.0[..width]);
        }
    }
    jac
}

/// The Jacobian (`m` rows of `n`) of a vector function with `m` outputs,
/// by reverse mode: its VJP (`|x, dy| f_vjp(x, dy).1`), once per output
/// row, seeded with the unit cotangent of that row.
pub fn jacrev(vjp: impl Fn(&[f64], &[f64]) -> Vec<f64>, x: &[f64], m: usize) -> Vec<Vec<f64>> {
    let mut dy = vec![0.0; m];
    (0..m)
        .map(|i| {
            dy[i] = 1.0;
            let row = vjp(x, &dy);
            dy[i] = 0.0;
            row
        })
        .collect()
}
