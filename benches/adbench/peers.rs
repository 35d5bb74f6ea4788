//! The same objectives for the peers from crates.io, which need the scalar
//! type as a parameter: `num-dual` (forward mode, one pass per input with
//! `Dual64`, eight per pass with `DualSVec64<8>`) and `echidna` (a
//! reverse-mode tape of `Reverse<f64>`). Written once, generic over
//! [`Real`], from the same definitions as `tests/objectives`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use echidna::Reverse;
use num_dual::{Dual64, DualNum, DualSVec64};

/// What the objectives need of a number.
pub trait Real:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    fn cst(x: f64) -> Self;
    fn re(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
}

impl Real for f64 {
    fn cst(x: f64) -> Self {
        x
    }
    fn re(self) -> f64 {
        self
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
}

/// `num-dual`'s numbers: the same methods through `DualNum`.
macro_rules! real_for_dual {
    ($($t:ty),*) => {$(
        impl Real for $t {
            fn cst(x: f64) -> Self {
                <$t>::from_re(x)
            }
            fn re(self) -> f64 {
                self.re
            }
            fn exp(self) -> Self {
                DualNum::exp(&self)
            }
            fn ln(self) -> Self {
                DualNum::ln(&self)
            }
        }
    )*};
}

real_for_dual!(Dual64, DualSVec64<8>);

impl Real for Reverse<f64> {
    fn cst(x: f64) -> Self {
        Reverse::constant(x)
    }
    fn re(self) -> f64 {
        float_value(self)
    }
    fn exp(self) -> Self {
        autodiff_runtime::Float::exp(self)
    }
    fn ln(self) -> Self {
        autodiff_runtime::Float::ln(self)
    }
}

/// The value of a number of `num_traits`.
fn float_value<T: autodiff_runtime::Float>(x: T) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

pub fn logsumexp<T: Real>(x: &[T]) -> T {
    let mut mx = x[0];
    for &v in &x[1..] {
        if v.re() > mx.re() {
            mx = v;
        }
    }
    let mut s = T::cst(0.0);
    for &v in x {
        s = s + (v - mx).exp();
    }
    s.ln() + mx
}

pub fn llsq<T: Real>(w: &[T], x: &[f64], y: &[f64]) -> T {
    let m = w.len();
    let mut s = T::cst(0.0);
    for (i, &yi) in y.iter().enumerate() {
        let mut p = T::cst(0.0);
        for j in 0..m {
            p = p + w[j] * T::cst(x[i * m + j]);
        }
        let r = T::cst(yi) - p;
        s = s + r * r;
    }
    T::cst(0.5) * s
}

/// GMM with the Wishart prior; `params` is `alphas`, `means`, `icf`
/// concatenated.
pub fn gmm<T: Real>(d: usize, k: usize, params: &[T], x: &[f64], gamma: f64, m: usize) -> T {
    let icf_sz = d * (d + 1) / 2;
    let (alphas, rest) = params.split_at(k);
    let (means, icf) = rest.split_at(d * k);
    let n = x.len() / d;
    let mut slse = T::cst(0.0);
    let mut main = vec![T::cst(0.0); k];
    let mut qxc = vec![T::cst(0.0); d];
    for ix in 0..n {
        for ik in 0..k {
            let q = &icf[ik * icf_sz..ik * icf_sz + d];
            let l = &icf[ik * icf_sz + d..(ik + 1) * icf_sz];
            let mut sum_q = T::cst(0.0);
            for id in 0..d {
                let xc = T::cst(x[ix * d + id]) - means[ik * d + id];
                qxc[id] = q[id].exp() * xc;
                sum_q = sum_q + q[id];
            }
            let mut idx = 0;
            for i in 0..d {
                let xci = T::cst(x[ix * d + i]) - means[ik * d + i];
                for j in i + 1..d {
                    qxc[j] = qxc[j] + l[idx] * xci;
                    idx += 1;
                }
            }
            let mut sq = T::cst(0.0);
            for &v in &qxc {
                sq = sq + v * v;
            }
            main[ik] = alphas[ik] + sum_q - T::cst(0.5) * sq;
        }
        slse = slse + logsumexp(&main);
    }
    let mut prior = T::cst(0.0);
    for ik in 0..k {
        let q = &icf[ik * icf_sz..ik * icf_sz + d];
        let l = &icf[ik * icf_sz + d..(ik + 1) * icf_sz];
        let mut fro = T::cst(0.0);
        let mut sum_q = T::cst(0.0);
        for &qi in q {
            let e = qi.exp();
            fro = fro + e * e;
            sum_q = sum_q + qi;
        }
        for &li in l {
            fro = fro + li * li;
        }
        prior = prior + T::cst(0.5 * gamma * gamma) * fro - T::cst(m as f64) * sum_q;
    }
    slse - T::cst(n as f64) * logsumexp(alphas) + prior
}

/// The gradient by `num-dual`, one forward pass per input.
pub fn dual_gradient(f: impl Fn(&[Dual64]) -> Dual64, x: &[f64]) -> Vec<f64> {
    let mut xs: Vec<Dual64> = x.iter().map(|&v| Dual64::from_re(v)).collect();
    (0..x.len())
        .map(|i| {
            xs[i].eps = 1.0;
            let e = f(&xs).eps;
            xs[i].eps = 0.0;
            e
        })
        .collect()
}

/// The gradient by `num-dual`'s vector duals, eight inputs per pass.
pub fn dual_vec_gradient(f: impl Fn(&[DualSVec64<8>]) -> DualSVec64<8>, x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for start in (0..x.len()).step_by(8) {
        let xs: Vec<DualSVec64<8>> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let d = DualSVec64::from_re(v);
                if (start..start + 8).contains(&i) {
                    d.derivative(i - start)
                } else {
                    d
                }
            })
            .collect();
        let eps = f(&xs)
            .eps
            .unwrap_generic(nalgebra::Const::<8>, nalgebra::U1);
        for (k, gi) in g[start..(start + 8).min(x.len())].iter_mut().enumerate() {
            *gi = eps[k];
        }
    }
    g
}

/// The gradient by `echidna`'s tape.
pub fn tape_gradient(f: impl FnOnce(&[Reverse<f64>]) -> Reverse<f64>, x: &[f64]) -> Vec<f64> {
    echidna::grad(f, x)
}
