// The derivative rules of the primitives, one function per primitive: the
// one table of rules. `autodiff_macros::__partials!()` expands to this
// file's items in `autodiff_runtime::partials` (the functions generated CPU
// code and `Dual` call), and `autodiff-macros/src/gpu/rules.rs` translates
// the same functions to WGSL for the GPU kernels. Keep to what both
// understand: `T` arithmetic, comparisons, `if`/`else`, `let`, tuples, and
// the float methods that translation lists; its tests fail on anything
// else.

use num_traits::Float;

/// A constant of `core::f64::consts` as `T` (rules need only `Float`,
/// so that a function generic over `T: Float` can call them).
#[inline(always)]
fn constant<T: Float>(x: f64) -> T {
    T::from(x).unwrap_or_else(T::nan)
}

#[inline(always)]
fn two<T: Float>() -> T {
    T::one() + T::one()
}

/// `x.sin()`: `cos x`.
#[inline(always)]
pub fn sin<T: Float>(x: T, _out: T) -> T {
    x.cos()
}

/// `x.cos()`: `-sin x`.
#[inline(always)]
pub fn cos<T: Float>(x: T, _out: T) -> T {
    -x.sin()
}

/// `x.tan()`: `1 + tan² x`.
#[inline(always)]
pub fn tan<T: Float>(_x: T, out: T) -> T {
    T::one() + out * out
}

/// `x.asin()`: `1 / sqrt(1 - x²)`; `+inf` at `x = ±1`.
#[inline(always)]
pub fn asin<T: Float>(x: T, _out: T) -> T {
    (T::one() - x * x).sqrt().recip()
}

/// `x.acos()`: `-1 / sqrt(1 - x²)`; `-inf` at `x = ±1`.
#[inline(always)]
pub fn acos<T: Float>(x: T, _out: T) -> T {
    -(T::one() - x * x).sqrt().recip()
}

/// `x.atan()`: `1 / (1 + x²)`.
#[inline(always)]
pub fn atan<T: Float>(x: T, _out: T) -> T {
    (T::one() + x * x).recip()
}

/// `x.sinh()`: `cosh x`.
#[inline(always)]
pub fn sinh<T: Float>(x: T, _out: T) -> T {
    x.cosh()
}

/// `x.cosh()`: `sinh x`.
#[inline(always)]
pub fn cosh<T: Float>(x: T, _out: T) -> T {
    x.sinh()
}

/// `x.tanh()`: `1 - tanh² x`.
#[inline(always)]
pub fn tanh<T: Float>(_x: T, out: T) -> T {
    T::one() - out * out
}

/// `x.asinh()`: `1 / sqrt(x² + 1)`, computed as `1 / hypot(x, 1)` so that it
/// does not overflow for large `|x|`.
#[inline(always)]
pub fn asinh<T: Float>(x: T, _out: T) -> T {
    x.hypot(T::one()).recip()
}

/// `x.acosh()`: `1 / sqrt(x² - 1)`, computed as `1 / (sqrt(x - 1) sqrt(x + 1))`;
/// `+inf` at `x = 1`.
#[inline(always)]
pub fn acosh<T: Float>(x: T, _out: T) -> T {
    ((x - T::one()).sqrt() * (x + T::one()).sqrt()).recip()
}

/// `x.atanh()`: `1 / (1 - x²)`; `+inf` at `x = ±1`.
#[inline(always)]
pub fn atanh<T: Float>(x: T, _out: T) -> T {
    (T::one() - x * x).recip()
}

/// `x.exp()`: `exp x`, the result itself.
#[inline(always)]
pub fn exp<T: Float>(_x: T, out: T) -> T {
    out
}

/// `x.exp2()`: `2^x ln 2`.
#[inline(always)]
pub fn exp2<T: Float>(_x: T, out: T) -> T {
    out * constant::<T>(core::f64::consts::LN_2)
}

/// `x.exp_m1()`: `exp x`, computed as `out + 1`.
#[inline(always)]
pub fn exp_m1<T: Float>(_x: T, out: T) -> T {
    out + T::one()
}

/// `x.ln()`: `1 / x`; `+inf` at `x = +0`.
#[inline(always)]
pub fn ln<T: Float>(x: T, _out: T) -> T {
    x.recip()
}

/// `x.ln_1p()`: `1 / (1 + x)`.
#[inline(always)]
pub fn ln_1p<T: Float>(x: T, _out: T) -> T {
    (T::one() + x).recip()
}

/// `x.log2()`: `1 / (x ln 2)`.
#[inline(always)]
pub fn log2<T: Float>(x: T, _out: T) -> T {
    (x * constant::<T>(core::f64::consts::LN_2)).recip()
}

/// `x.log10()`: `1 / (x ln 10)`.
#[inline(always)]
pub fn log10<T: Float>(x: T, _out: T) -> T {
    (x * constant::<T>(core::f64::consts::LN_10)).recip()
}

/// `x.log(base)`: `(1 / (x ln b), -log_b(x) / (b ln b))`.
#[inline(always)]
pub fn log<T: Float>(x: T, base: T, out: T) -> (T, T) {
    let ln_b = base.ln();
    ((x * ln_b).recip(), -out / (base * ln_b))
}

/// `x.sqrt()`: `1 / (2 sqrt x)`; `+inf` at `x = 0`.
#[inline(always)]
pub fn sqrt<T: Float>(_x: T, out: T) -> T {
    (two::<T>() * out).recip()
}

/// `x.cbrt()`: `1 / (3 cbrt² x)`; `+inf` at `x = 0`.
#[inline(always)]
pub fn cbrt<T: Float>(_x: T, out: T) -> T {
    ((two::<T>() + T::one()) * out * out).recip()
}

/// `x.powi(n)`: `n x^(n-1)`; exactly `0` when `n = 0` (also at `x = 0`).
#[inline(always)]
pub fn powi<T: Float>(x: T, n: i32, _out: T) -> T {
    if n == 0 {
        T::zero()
    } else {
        T::from(n).unwrap_or_else(T::nan) * x.powi(n - 1)
    }
}

/// `x.powf(p)`: `(p x^(p-1), x^p ln x)`. The first partial is exactly `0`
/// when `p = 0`; the second is exactly `0` when `x = 0` (where `x^p` is
/// constant in `p` for `p > 0`).
#[inline(always)]
pub fn powf<T: Float>(x: T, p: T, out: T) -> (T, T) {
    let dx = if p == T::zero() {
        T::zero()
    } else {
        p * x.powf(p - T::one())
    };
    let dp = if x == T::zero() {
        T::zero()
    } else {
        out * x.ln()
    };
    (dx, dp)
}

/// `x.hypot(y)`: `(x / h, y / h)`; `(0, 0)` at the origin.
#[inline(always)]
pub fn hypot<T: Float>(x: T, y: T, out: T) -> (T, T) {
    if out == T::zero() {
        (T::zero(), T::zero())
    } else {
        (x / out, y / out)
    }
}

/// `y.atan2(x)`: `(x / (x² + y²), -y / (x² + y²))`; `(0, 0)` at the origin.
#[inline(always)]
pub fn atan2<T: Float>(y: T, x: T, _out: T) -> (T, T) {
    let r2 = x * x + y * y;
    if r2 == T::zero() {
        (T::zero(), T::zero())
    } else {
        (x / r2, -y / r2)
    }
}

/// `x.abs()`: the sign of `x`, and `0` at `x = ±0`.
#[inline(always)]
pub fn abs<T: Float>(x: T, _out: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        // 0 at ±0 (the middle of the subdifferential), NaN stays NaN.
        x
    }
}

/// `x.signum()`: `0` (piecewise constant).
#[inline(always)]
pub fn signum<T: Float>(_x: T, _out: T) -> T {
    T::zero()
}

/// `x.floor()`: `0` (piecewise constant).
#[inline(always)]
pub fn floor<T: Float>(_x: T, _out: T) -> T {
    T::zero()
}

/// `x.ceil()`: `0` (piecewise constant).
#[inline(always)]
pub fn ceil<T: Float>(_x: T, _out: T) -> T {
    T::zero()
}

/// `x.round()`: `0` (piecewise constant).
#[inline(always)]
pub fn round<T: Float>(_x: T, _out: T) -> T {
    T::zero()
}

/// `x.trunc()`: `0` (piecewise constant).
#[inline(always)]
pub fn trunc<T: Float>(_x: T, _out: T) -> T {
    T::zero()
}

/// `x.fract()`: `1` (between the jumps at integers).
#[inline(always)]
pub fn fract<T: Float>(_x: T, _out: T) -> T {
    T::one()
}

/// `a % b`: `(1, -trunc(a / b))`.
#[inline(always)]
pub fn rem<T: Float>(a: T, b: T, _out: T) -> (T, T) {
    (T::one(), -(a / b).trunc())
}

/// `x.max(y)`: the derivative flows to the larger argument; at a tie it is
/// split equally, `(0.5, 0.5)`; if one argument is NaN it flows to the other,
/// which is the one `max` returns.
#[inline(always)]
pub fn max<T: Float>(x: T, y: T, _out: T) -> (T, T) {
    select2(x, y, x > y || y.is_nan(), x < y || x.is_nan())
}

/// `x.min(y)`: the derivative flows to the smaller argument; ties and NaN as
/// for [`max`].
#[inline(always)]
pub fn min<T: Float>(x: T, y: T, _out: T) -> (T, T) {
    select2(x, y, x < y || y.is_nan(), x > y || x.is_nan())
}

#[inline(always)]
fn select2<T: Float>(_x: T, _y: T, first: bool, second: bool) -> (T, T) {
    if first {
        (T::one(), T::zero())
    } else if second {
        (T::zero(), T::one())
    } else {
        let half = two::<T>().recip();
        (half, half)
    }
}

/// `x.clamp(lo, hi)`: `(1, 0, 0)` for `lo <= x <= hi` (the bounds included,
/// and for NaN `x`, which `clamp` returns), `(0, 1, 0)` below, `(0, 0, 1)`
/// above.
#[inline(always)]
pub fn clamp<T: Float>(x: T, lo: T, hi: T, _out: T) -> (T, T, T) {
    if x < lo {
        (T::zero(), T::one(), T::zero())
    } else if x > hi {
        (T::zero(), T::zero(), T::one())
    } else {
        (T::one(), T::zero(), T::zero())
    }
}

/// `a.mul_add(b, c)`: `(b, a, 1)`.
#[inline(always)]
pub fn mul_add<T: Float>(a: T, b: T, _c: T, _out: T) -> (T, T, T) {
    (b, a, T::one())
}

/// `x.recip()`: `-1 / x²`, computed as `-out²`.
#[inline(always)]
pub fn recip<T: Float>(_x: T, out: T) -> T {
    -(out * out)
}

/// `x.to_degrees()`: `180 / π`.
#[inline(always)]
pub fn to_degrees<T: Float>(_x: T, _out: T) -> T {
    T::one().to_degrees()
}

/// `x.to_radians()`: `π / 180`.
#[inline(always)]
pub fn to_radians<T: Float>(_x: T, _out: T) -> T {
    T::one().to_radians()
}
