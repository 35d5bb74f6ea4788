//! Checks a user can run on their own derivatives: a gradient against
//! central finite differences, and forward mode against reverse mode by the
//! dot-product test.
//!
//! ```
//! use autodiff_runtime::check;
//!
//! let f = |x: &[f64]| x[0] * x[1].sin();
//! let grad = |x: &[f64]| vec![x[1].sin(), x[0] * x[1].cos()];
//! let x = [1.5, 0.3];
//! check::gradient(f, &grad(&x), &x, check::Tolerance::default()).unwrap();
//! ```

use core::fmt;

/// When two numbers agree: `|a - b| <= abs + rel * max(|a|, |b|)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Relative part.
    pub rel: f64,
    /// Absolute part, for values near zero.
    pub abs: f64,
}

impl Default for Tolerance {
    /// `rel = 1e-6, abs = 1e-8`: what central differences with the step of
    /// [`central_difference`] reach on well-scaled smooth functions.
    fn default() -> Self {
        Tolerance {
            rel: 1e-6,
            abs: 1e-8,
        }
    }
}

impl Tolerance {
    /// Whether `a` and `b` agree.
    pub fn accepts(&self, a: f64, b: f64) -> bool {
        if a == b {
            return true; // also equal infinities
        }
        (a - b).abs() <= self.abs + self.rel * a.abs().max(b.abs())
    }
}

/// A failed check: the first component that disagrees.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// What was compared.
    pub what: &'static str,
    /// The component that disagrees.
    pub index: usize,
    /// The derivative under test.
    pub got: f64,
    /// The reference value.
    pub expected: f64,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: component {}: got {:e}, expected {:e} (difference {:e})",
            self.what,
            self.index,
            self.got,
            self.expected,
            (self.got - self.expected).abs()
        )
    }
}

impl std::error::Error for Mismatch {}

/// The step of the central difference in component `x`: `ε^(1/3) max(1, |x|)`,
/// which balances truncation error (`O(h²)`) against rounding (`O(ε/h)`).
pub fn step(x: f64) -> f64 {
    f64::EPSILON.cbrt() * x.abs().max(1.0)
}

/// The gradient of `f` at `x` by central differences, one pair of
/// evaluations per component.
pub fn central_difference(mut f: impl FnMut(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut xs = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = step(x[i]);
            xs[i] = x[i] + h;
            let up = f(&xs);
            xs[i] = x[i] - h;
            let down = f(&xs);
            xs[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Compares `grad`, a gradient of `f` at `x`, with central differences.
pub fn gradient(
    f: impl FnMut(&[f64]) -> f64,
    grad: &[f64],
    x: &[f64],
    tol: Tolerance,
) -> Result<(), Mismatch> {
    assert_eq!(grad.len(), x.len(), "gradient and point differ in length");
    let fd = central_difference(f, x);
    compare("gradient against central differences", grad, &fd, tol)
}

/// The dot-product test of a forward mode `jvp: v ↦ J v` against a reverse
/// mode `vjp: w ↦ Jᵀ w` at the same point: `<J v, w> = <v, Jᵀ w>`.
///
/// Exact up to rounding for correct derivatives, whatever `v` and `w` are; a
/// mismatch means forward and reverse mode disagree.
pub fn dot_product(
    mut jvp: impl FnMut(&[f64]) -> Vec<f64>,
    mut vjp: impl FnMut(&[f64]) -> Vec<f64>,
    v: &[f64],
    w: &[f64],
    tol: Tolerance,
) -> Result<(), Mismatch> {
    let jv = jvp(v);
    let jtw = vjp(w);
    assert_eq!(jv.len(), w.len(), "J v and w differ in length");
    assert_eq!(jtw.len(), v.len(), "Jᵀ w and v differ in length");
    let lhs: f64 = jv.iter().zip(w).map(|(a, b)| a * b).sum();
    let rhs: f64 = v.iter().zip(&jtw).map(|(a, b)| a * b).sum();
    compare("dot-product test <J v, w> = <v, Jᵀ w>", &[rhs], &[lhs], tol)
}

/// Checks a custom reverse rule of a scalar function, the way
/// `#[custom_vjp]` calls it: `rule(x, y, dy)` with `y = f(x)` must be `dy`
/// times the gradient. At `x` it compares
///
/// - `rule(x, y, 1)` with central differences of `f`;
/// - `rule(x, y, dy)` with `dy * rule(x, y, 1)` for a `dy` other than 1 (a
///   rule that forgets the cotangent is a classic silent bug);
/// - the dot-product test: `<rule(x, y, dy), v>` with `dy` times the
///   central difference of `f` along `v`, for a direction `v` mixing every
///   component.
///
/// A rule for several arguments is checked through a closure that packs
/// them into one slice (see `tests/custom_rules.rs`).
pub fn vjp_rule(
    mut f: impl FnMut(&[f64]) -> f64,
    mut rule: impl FnMut(&[f64], f64, f64) -> Vec<f64>,
    x: &[f64],
    tol: Tolerance,
) -> Result<(), Mismatch> {
    let y = f(x);
    let g = rule(x, y, 1.0);
    assert_eq!(
        g.len(),
        x.len(),
        "the rule's cotangent and the point differ in length"
    );
    let fd = central_difference(&mut f, x);
    compare("rule(x, f(x), 1) against central differences", &g, &fd, tol)?;
    let dy = -1.75;
    let scaled: Vec<f64> = g.iter().map(|v| dy * v).collect();
    compare(
        "rule(x, f(x), dy) against dy * rule(x, f(x), 1)",
        &rule(x, y, dy),
        &scaled,
        tol,
    )?;
    // A direction with every component, and a step along it.
    let v: Vec<f64> = (0..x.len()).map(|i| 1.0 - 0.37 * i as f64).collect();
    let scale = x.iter().fold(1.0f64, |m, xi| m.max(xi.abs()));
    let h = step(scale);
    let along = |t: f64| -> Vec<f64> { x.iter().zip(&v).map(|(xi, vi)| xi + t * vi).collect() };
    let directional = (f(&along(h)) - f(&along(-h))) / (2.0 * h);
    let lhs: f64 = rule(x, y, dy).iter().zip(&v).map(|(a, b)| a * b).sum();
    compare(
        "dot-product test <rule(x, f(x), dy), v> = dy <grad f, v>",
        &[lhs],
        &[dy * directional],
        tol,
    )
}

/// Checks a custom forward rule of a scalar function, the way
/// `#[custom_jvp]` calls it: `rule(x, dx)` must return `(f(x), ∇f · dx)`.
/// At `x` it compares the value with `f(x)`, the tangent along each unit
/// direction with central differences, and the tangent along a direction
/// mixing every component with the sum of those (linearity, the forward
/// counterpart of the dot-product test).
pub fn jvp_rule(
    mut f: impl FnMut(&[f64]) -> f64,
    mut rule: impl FnMut(&[f64], &[f64]) -> (f64, f64),
    x: &[f64],
    tol: Tolerance,
) -> Result<(), Mismatch> {
    let (y, _) = rule(x, &vec![0.0; x.len()]);
    compare("rule(x, dx).0 against f(x)", &[y], &[f(x)], tol)?;
    let columns: Vec<f64> = (0..x.len())
        .map(|i| {
            let mut e = vec![0.0; x.len()];
            e[i] = 1.0;
            rule(x, &e).1
        })
        .collect();
    let fd = central_difference(&mut f, x);
    compare(
        "rule(x, e_i).1 against central differences",
        &columns,
        &fd,
        tol,
    )?;
    let v: Vec<f64> = (0..x.len()).map(|i| 1.0 - 0.37 * i as f64).collect();
    let combined: f64 = columns.iter().zip(&v).map(|(c, vi)| c * vi).sum();
    compare(
        "rule(x, v).1 against the sum of v_i rule(x, e_i).1",
        &[rule(x, &v).1],
        &[combined],
        tol,
    )
}

/// Compares two vectors component by component.
pub fn compare(
    what: &'static str,
    got: &[f64],
    expected: &[f64],
    tol: Tolerance,
) -> Result<(), Mismatch> {
    assert_eq!(got.len(), expected.len(), "{what}: lengths differ");
    for (index, (&g, &e)) in got.iter().zip(expected).enumerate() {
        if !tol.accepts(g, e) {
            return Err(Mismatch {
                what,
                index,
                got: g,
                expected: e,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_differences_match_a_closed_form() {
        let f = |x: &[f64]| x[0].exp() * x[1].cos() + x[2] * x[2] * x[0];
        let x: [f64; 3] = [0.3, -1.2, 2.5];
        let exact = [
            x[0].exp() * x[1].cos() + x[2] * x[2],
            -x[0].exp() * x[1].sin(),
            2.0 * x[2] * x[0],
        ];
        let fd = central_difference(f, &x);
        compare("fd", &fd, &exact, Tolerance::default()).unwrap();
    }

    #[test]
    fn a_wrong_gradient_is_reported() {
        let f = |x: &[f64]| x[0] * x[1];
        let x = [2.0, 3.0];
        let err = gradient(f, &[3.0, 2.5], &x, Tolerance::default()).unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(err.got, 2.5);
        assert!((err.expected - 2.0).abs() < 1e-8);
    }

    #[test]
    fn dot_product_test_accepts_transpose_and_rejects_other() {
        // J = [[1, 2], [3, 4], [5, 6]]
        let jvp = |v: &[f64]| {
            vec![
                v[0] + 2.0 * v[1],
                3.0 * v[0] + 4.0 * v[1],
                5.0 * v[0] + 6.0 * v[1],
            ]
        };
        let vjp = |w: &[f64]| {
            vec![
                w[0] + 3.0 * w[1] + 5.0 * w[2],
                2.0 * w[0] + 4.0 * w[1] + 6.0 * w[2],
            ]
        };
        let wrong = |w: &[f64]| {
            vec![
                w[0] + 3.0 * w[1] + 5.0 * w[2],
                2.0 * w[0] + 4.0 * w[1] + 6.5 * w[2],
            ]
        };
        let (v, w) = ([0.7, -1.3], [0.2, 1.1, -0.4]);
        dot_product(jvp, vjp, &v, &w, Tolerance::default()).unwrap();
        assert!(dot_product(jvp, wrong, &v, &w, Tolerance::default()).is_err());
    }
}
