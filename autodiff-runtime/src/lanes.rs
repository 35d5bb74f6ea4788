//! `K` tangent directions at once: the tangents of `f_jvp_lanes`.
//!
//! A [`Lanes`] is what one float's tangent becomes when forward mode
//! carries `K` directions in one pass: `K` numbers, one per direction.
//! Generated code only ever adds lanes, negates them, and scales them by
//! a float (forward mode is linear in the tangents), so those are the
//! operations defined; each is a loop over `K` that LLVM vectorises.
//!
//! The helpers below split lanes into one direction and gather them back:
//! what a function whose lanes the macro cannot emit (or a custom rule)
//! does, one call of its JVP per lane.

use core::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};

use num_traits::Float;

/// `K` tangents of one float: lane `k` is its derivative along the `k`-th
/// direction.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Lanes<T, const K: usize>(pub [T; K]);

impl<T: Float, const K: usize> Lanes<T, K> {
    /// All lanes zero.
    #[inline(always)]
    pub fn zero() -> Self {
        Lanes([T::zero(); K])
    }

    /// Lane `k` one, the others zero: the `k`-th unit direction.
    #[inline(always)]
    pub fn unit(k: usize) -> Self {
        let mut l = Self::zero();
        l.0[k] = T::one();
        l
    }

    /// The `K` directions `start..start + K` of the identity: lane `k` is
    /// one in the parameter `start + k`. The seed of a Jacobian's columns
    /// `start..start + K` for a parameter `index`.
    #[inline(always)]
    pub fn seed(index: usize, start: usize) -> Self {
        match index.checked_sub(start) {
            Some(k) if k < K => Self::unit(k),
            _ => Self::zero(),
        }
    }
}

impl<T: Float, const K: usize> Default for Lanes<T, K> {
    fn default() -> Self {
        Self::zero()
    }
}

impl<T, const K: usize> From<[T; K]> for Lanes<T, K> {
    fn from(lanes: [T; K]) -> Self {
        Lanes(lanes)
    }
}

impl<T: Float, const K: usize> Add for Lanes<T, K> {
    type Output = Self;
    #[inline(always)]
    fn add(mut self, rhs: Self) -> Self {
        for k in 0..K {
            self.0[k] = self.0[k] + rhs.0[k];
        }
        self
    }
}

impl<T: Float, const K: usize> Sub for Lanes<T, K> {
    type Output = Self;
    #[inline(always)]
    fn sub(mut self, rhs: Self) -> Self {
        for k in 0..K {
            self.0[k] = self.0[k] - rhs.0[k];
        }
        self
    }
}

impl<T: Float, const K: usize> Neg for Lanes<T, K> {
    type Output = Self;
    #[inline(always)]
    fn neg(mut self) -> Self {
        for k in 0..K {
            self.0[k] = -self.0[k];
        }
        self
    }
}

/// Every lane times a float: the chain rule's `partial * tangent`.
impl<T: Float, const K: usize> Mul<T> for Lanes<T, K> {
    type Output = Self;
    #[inline(always)]
    fn mul(mut self, rhs: T) -> Self {
        for k in 0..K {
            self.0[k] = self.0[k] * rhs;
        }
        self
    }
}

impl<T: Float, const K: usize> Div<T> for Lanes<T, K> {
    type Output = Self;
    #[inline(always)]
    fn div(mut self, rhs: T) -> Self {
        for k in 0..K {
            self.0[k] = self.0[k] / rhs;
        }
        self
    }
}

impl<T: Float, const K: usize> AddAssign for Lanes<T, K> {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl<T: Float, const K: usize> SubAssign for Lanes<T, K> {
    #[inline(always)]
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}

/// Zero lanes shaped like a value a call returned, which may be a float or
/// an array of floats (the macro cannot see which).
pub trait LanesLike<const K: usize> {
    type Lanes;
    fn lanes_like(&self) -> Self::Lanes;
}

impl<const K: usize> LanesLike<K> for f64 {
    type Lanes = Lanes<f64, K>;
    #[inline(always)]
    fn lanes_like(&self) -> Self::Lanes {
        Lanes::zero()
    }
}

impl<const K: usize> LanesLike<K> for f32 {
    type Lanes = Lanes<f32, K>;
    #[inline(always)]
    fn lanes_like(&self) -> Self::Lanes {
        Lanes::zero()
    }
}

impl<T: Float, const N: usize, const K: usize> LanesLike<K> for [T; N] {
    type Lanes = [Lanes<T, K>; N];
    #[inline(always)]
    fn lanes_like(&self) -> Self::Lanes {
        [Lanes::zero(); N]
    }
}

/// Zero lanes shaped like `x` (see [`LanesLike`]).
#[inline(always)]
pub fn lanes_like<X: LanesLike<K>, const K: usize>(x: &X) -> X::Lanes {
    x.lanes_like()
}

/// `n` zero lanes: `vec![Lanes::zero(); n]` copies each element from a
/// template with a call of `memcpy`; written element by element instead,
/// LLVM makes it one `memset` (ADBench's hand Jacobian at 100 points, 26
/// lanes: 240 to 223 µs).
#[inline(always)]
pub fn lanes_zeros<T: Float, const K: usize>(n: usize) -> Vec<Lanes<T, K>> {
    (0..n).map(|_| Lanes::zero()).collect()
}

/// Every lane converted to another float type (a tangent's `x as f32`).
#[inline(always)]
pub fn lanes_cast<U: Float, T: Float, const K: usize>(x: Lanes<T, K>) -> Lanes<U, K> {
    Lanes(x.0.map(|v| U::from(v).unwrap_or_else(U::nan)))
}

/// `Σ_i g[i] · d[i]`: the lanes of a directional derivative from a
/// gradient (a custom reverse rule's) and the lanes of the tangents.
pub fn lanes_dot<T: Float, const K: usize>(g: &[T], d: &[Lanes<T, K>]) -> Lanes<T, K> {
    let mut out = Lanes::zero();
    for (&gi, &di) in g.iter().zip(d) {
        out += di * gi;
    }
    out
}

/// Lane `k` of the tangents of a slice.
pub fn lane_of_slice<T: Copy, const K: usize>(x: &[Lanes<T, K>], k: usize) -> Vec<T> {
    x.iter().map(|l| l.0[k]).collect()
}

/// Lane `k` of the tangents of an array.
pub fn lane_of_array<T: Copy, const N: usize, const K: usize>(
    x: &[Lanes<T, K>; N],
    k: usize,
) -> [T; N] {
    core::array::from_fn(|i| x[i].0[k])
}

/// Writes `values` into lane `k` of `x`.
pub fn set_lane_of_slice<T: Copy, const K: usize>(x: &mut [Lanes<T, K>], k: usize, values: &[T]) {
    for (l, &v) in x.iter_mut().zip(values) {
        l.0[k] = v;
    }
}

/// The lanes of a float from its `K` one-direction tangents.
pub fn gather_scalar<T: Copy, const K: usize>(parts: &[T; K]) -> Lanes<T, K> {
    Lanes(*parts)
}

/// The lanes of a `Vec` from its `K` one-direction tangents.
pub fn gather_vec<T: Float, const K: usize>(parts: &[Vec<T>; K]) -> Vec<Lanes<T, K>> {
    let n = parts.iter().map(Vec::len).min().unwrap_or(0);
    (0..n)
        .map(|i| Lanes(core::array::from_fn(|k| parts[k][i])))
        .collect()
}

/// The lanes of an array from its `K` one-direction tangents.
pub fn gather_array<T: Copy, const N: usize, const K: usize>(
    parts: &[[T; N]; K],
) -> [Lanes<T, K>; N] {
    core::array::from_fn(|i| Lanes(core::array::from_fn(|k| parts[k][i])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_act_lane_by_lane() {
        let a = Lanes([1.0, -2.0, 3.0]);
        let b = Lanes([0.5, 4.0, -1.0]);
        assert_eq!(a + b, Lanes([1.5, 2.0, 2.0]));
        assert_eq!(a - b, Lanes([0.5, -6.0, 4.0]));
        assert_eq!(-a, Lanes([-1.0, 2.0, -3.0]));
        assert_eq!(a * 2.0, Lanes([2.0, -4.0, 6.0]));
        assert_eq!(a / 2.0, Lanes([0.5, -1.0, 1.5]));
        let mut c = a;
        c += b;
        c -= a;
        assert_eq!(c, b);
        assert_eq!(Lanes::<f64, 3>::seed(5, 4), Lanes([0.0, 1.0, 0.0]));
        assert_eq!(Lanes::<f64, 3>::seed(7, 4), Lanes::zero());
        assert_eq!(Lanes::<f64, 3>::seed(3, 4), Lanes::zero());
    }

    #[test]
    fn split_and_gather_are_inverse() {
        let x = [Lanes([1.0, 2.0]), Lanes([3.0, 4.0]), Lanes([5.0, 6.0])];
        let parts = [lane_of_slice(&x, 0), lane_of_slice(&x, 1)];
        assert_eq!(parts[1], vec![2.0, 4.0, 6.0]);
        assert_eq!(gather_vec(&parts), x.to_vec());
        let arrays = [lane_of_array(&x, 0), lane_of_array(&x, 1)];
        assert_eq!(gather_array(&arrays), x);
        let mut y = x;
        set_lane_of_slice(&mut y, 1, &[0.0, 0.0, 0.0]);
        assert_eq!(y[2], Lanes([5.0, 0.0]));
        assert_eq!(gather_scalar(&[7.0, 8.0]), Lanes([7.0, 8.0]));
    }
}
