//! Forward-mode dual numbers.
//!
//! `Dual { re, eps }` stands for `re + eps·ε` with `ε² = 0`: evaluating a
//! function on `Dual::variable(x)` gives `f(x)` in `re` and `f'(x)` in `eps`.
//! `Dual<T>` implements [`num_traits::Float`], so any code generic over
//! `Float` runs on it; its float methods use the rules of
//! [`partials`](crate::partials), the same ones the generated code calls.
//!
//! The tangent may carry several directions at once: `Dual<T, [T; K]>`
//! ([`DualVec`]) is vector forward mode, `K` directional derivatives in one
//! evaluation, each operation applying its partial derivatives to all `K`
//! lanes (which LLVM vectorises). [`jacfwd_lanes`](crate::jacfwd_lanes)
//! uses it for Jacobians.

use core::cmp::Ordering;
use core::fmt;
use core::num::FpCategory;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use num_traits::{Float, FloatConst, Num, NumCast, One, ToPrimitive, Zero};

use crate::partials;

/// A dual number `re + eps·ε`, `ε² = 0`; `eps` one tangent (`E = T`) or
/// several (`E = [T; K]`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Dual<T, E = T> {
    /// The value.
    pub re: T,
    /// The derivative (tangent) carried along, or `K` of them.
    pub eps: E,
}

/// Vector forward mode: a value and `K` tangents.
pub type DualVec<T, const K: usize> = Dual<T, [T; K]>;

/// What a dual number's tangent is: a scalar, or lanes of scalars, scaled
/// by partial derivatives and added.
pub trait Tangent<T>: Copy {
    fn zero() -> Self;
    /// Every lane times `by`.
    fn scale(self, by: T) -> Self;
    /// Every lane divided by `by`.
    fn div(self, by: T) -> Self;
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    fn neg(self) -> Self;
}

impl<T: Float> Tangent<T> for T {
    #[inline(always)]
    fn zero() -> Self {
        T::zero()
    }
    #[inline(always)]
    fn scale(self, by: T) -> Self {
        by * self
    }
    #[inline(always)]
    fn div(self, by: T) -> Self {
        self / by
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self + other
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        self - other
    }
    #[inline(always)]
    fn neg(self) -> Self {
        -self
    }
}

impl<T: Float, const K: usize> Tangent<T> for [T; K] {
    #[inline(always)]
    fn zero() -> Self {
        [T::zero(); K]
    }
    #[inline(always)]
    fn scale(self, by: T) -> Self {
        self.map(|e| by * e)
    }
    #[inline(always)]
    fn div(self, by: T) -> Self {
        self.map(|e| e / by)
    }
    #[inline(always)]
    fn add(mut self, other: Self) -> Self {
        for k in 0..K {
            self[k] = self[k] + other[k];
        }
        self
    }
    #[inline(always)]
    fn sub(mut self, other: Self) -> Self {
        for k in 0..K {
            self[k] = self[k] - other[k];
        }
        self
    }
    #[inline(always)]
    fn neg(self) -> Self {
        self.map(|e| -e)
    }
}

impl<T: Float> Dual<T> {
    /// A constant: derivative zero.
    pub fn constant(re: T) -> Self {
        Dual { re, eps: T::zero() }
    }

    /// The variable of differentiation: derivative one.
    pub fn variable(re: T) -> Self {
        Dual { re, eps: T::one() }
    }
}

impl<T: Float, E: Tangent<T>> Dual<T, E> {
    /// `re + eps·ε`.
    pub fn new(re: T, eps: E) -> Self {
        Dual { re, eps }
    }

    /// A constant: every tangent zero.
    #[inline(always)]
    fn of(re: T) -> Self {
        Dual { re, eps: E::zero() }
    }

    #[inline(always)]
    fn chain(self, out: T, d: T) -> Self {
        Dual {
            re: out,
            eps: self.eps.scale(d),
        }
    }

    #[inline(always)]
    fn unary(self, f: impl Fn(T) -> T, df: impl Fn(T, T) -> T) -> Self {
        let out = f(self.re);
        self.chain(out, df(self.re, out))
    }

    #[inline(always)]
    fn binary(self, other: Self, out: T, (d0, d1): (T, T)) -> Self {
        Dual {
            re: out,
            eps: self.eps.scale(d0).add(other.eps.scale(d1)),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Dual<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} + {}ε", self.re, self.eps)
    }
}

/// Dual numbers compare by value: `eps` does not take part.
impl<T: PartialEq, E> PartialEq for Dual<T, E> {
    fn eq(&self, other: &Self) -> bool {
        self.re == other.re
    }
}

impl<T: PartialOrd, E> PartialOrd for Dual<T, E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

impl<T: Float, E: Tangent<T>> Add for Dual<T, E> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Dual::new(self.re + o.re, self.eps.add(o.eps))
    }
}

impl<T: Float, E: Tangent<T>> Sub for Dual<T, E> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Dual::new(self.re - o.re, self.eps.sub(o.eps))
    }
}

impl<T: Float, E: Tangent<T>> Mul for Dual<T, E> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Dual::new(
            self.re * o.re,
            self.eps.scale(o.re).add(o.eps.scale(self.re)),
        )
    }
}

impl<T: Float, E: Tangent<T>> Div for Dual<T, E> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let out = self.re / o.re;
        Dual::new(out, self.eps.sub(o.eps.scale(out)).div(o.re))
    }
}

impl<T: Float, E: Tangent<T>> Rem for Dual<T, E> {
    type Output = Self;
    fn rem(self, o: Self) -> Self {
        let out = self.re % o.re;
        self.binary(o, out, partials::rem(self.re, o.re, out))
    }
}

impl<T: Float, E: Tangent<T>> Neg for Dual<T, E> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Dual::new(-self.re, self.eps.neg())
    }
}

macro_rules! assign_ops {
    ($($trait:ident $method:ident $op:tt;)*) => {$(
        impl<T: Float, E: Tangent<T>> $trait for Dual<T, E> {
            fn $method(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
    )*};
}

assign_ops! {
    AddAssign add_assign +;
    SubAssign sub_assign -;
    MulAssign mul_assign *;
    DivAssign div_assign /;
}

impl<T: Float, E: Tangent<T>> Zero for Dual<T, E> {
    fn zero() -> Self {
        Dual::of(T::zero())
    }
    fn is_zero(&self) -> bool {
        self.re.is_zero()
    }
}

impl<T: Float, E: Tangent<T>> One for Dual<T, E> {
    fn one() -> Self {
        Dual::of(T::one())
    }
}

impl<T: Float, E: Tangent<T>> Num for Dual<T, E> {
    type FromStrRadixErr = T::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(Dual::of)
    }
}

impl<T: Float, E: Tangent<T>> ToPrimitive for Dual<T, E> {
    fn to_i64(&self) -> Option<i64> {
        self.re.to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.re.to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        self.re.to_f64()
    }
}

impl<T: Float, E: Tangent<T>> NumCast for Dual<T, E> {
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        T::from(n).map(Dual::of)
    }
}

macro_rules! unary_methods {
    ($($name:ident)*) => {$(
        fn $name(self) -> Self {
            self.unary(T::$name, partials::$name)
        }
    )*};
}

macro_rules! constants {
    ($($name:ident)*) => {$(
        fn $name() -> Self {
            Dual::of(T::$name())
        }
    )*};
}

impl<T: Float + FloatConst, E: Tangent<T>> Float for Dual<T, E> {
    constants!(nan infinity neg_infinity neg_zero min_value min_positive_value max_value epsilon);

    unary_methods!(
        sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh
        exp exp2 exp_m1 ln ln_1p log2 log10 sqrt cbrt abs signum recip
        floor ceil round trunc fract to_degrees to_radians
    );

    fn is_nan(self) -> bool {
        self.re.is_nan()
    }
    fn is_infinite(self) -> bool {
        self.re.is_infinite()
    }
    fn is_finite(self) -> bool {
        self.re.is_finite()
    }
    fn is_normal(self) -> bool {
        self.re.is_normal()
    }
    fn classify(self) -> FpCategory {
        self.re.classify()
    }
    fn is_sign_positive(self) -> bool {
        self.re.is_sign_positive()
    }
    fn is_sign_negative(self) -> bool {
        self.re.is_sign_negative()
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.re.integer_decode()
    }

    fn mul_add(self, a: Self, b: Self) -> Self {
        let out = self.re.mul_add(a.re, b.re);
        let (d0, d1, d2) = partials::mul_add(self.re, a.re, b.re, out);
        Dual::new(
            out,
            self.eps.scale(d0).add(a.eps.scale(d1)).add(b.eps.scale(d2)),
        )
    }
    fn powi(self, n: i32) -> Self {
        let out = self.re.powi(n);
        self.chain(out, partials::powi(self.re, n, out))
    }
    fn powf(self, p: Self) -> Self {
        let out = self.re.powf(p.re);
        self.binary(p, out, partials::powf(self.re, p.re, out))
    }
    fn log(self, base: Self) -> Self {
        let out = self.re.log(base.re);
        self.binary(base, out, partials::log(self.re, base.re, out))
    }
    fn max(self, o: Self) -> Self {
        let out = self.re.max(o.re);
        self.binary(o, out, partials::max(self.re, o.re, out))
    }
    fn min(self, o: Self) -> Self {
        let out = self.re.min(o.re);
        self.binary(o, out, partials::min(self.re, o.re, out))
    }
    fn clamp(self, lo: Self, hi: Self) -> Self {
        let out = self.re.clamp(lo.re, hi.re);
        let (d0, d1, d2) = partials::clamp(self.re, lo.re, hi.re, out);
        Dual::new(
            out,
            self.eps
                .scale(d0)
                .add(lo.eps.scale(d1))
                .add(hi.eps.scale(d2)),
        )
    }
    fn hypot(self, o: Self) -> Self {
        let out = self.re.hypot(o.re);
        self.binary(o, out, partials::hypot(self.re, o.re, out))
    }
    fn atan2(self, o: Self) -> Self {
        let out = self.re.atan2(o.re);
        self.binary(o, out, partials::atan2(self.re, o.re, out))
    }
    fn abs_sub(self, o: Self) -> Self {
        if self.re > o.re {
            self - o
        } else {
            <Self as Zero>::zero()
        }
    }
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    fn copysign(self, sign: Self) -> Self {
        if self.re.is_sign_negative() == sign.re.is_sign_negative() {
            self
        } else {
            -self
        }
    }
}
