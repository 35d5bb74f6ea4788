//! Compile-time automatic differentiation of ordinary Rust functions.
//!
//! Put `#[differentiable]` on a numerical function and its derivatives are
//! generated next to it, as plain Rust that `cargo expand` shows:
//!
//! ```
//! use autodiff::prelude::*;
//!
//! #[differentiable]
//! fn f(x: f64, y: f64) -> f64 {
//!     let a = x * y + (x / y).sin();
//!     let b = a.exp() - 3.0 * y.powi(2);
//!     a.mul_add(b, x.sqrt())
//! }
//!
//! let (v, dv) = f_jvp(1.5, 2.0, 1.0, 0.0); // value and df/dx
//! let (gx, gy) = f_grad(1.5, 2.0); // gradient by reverse mode
//! assert!((dv - gx).abs() < 1e-12 * gx.abs());
//! # let _ = (v, gy);
//! ```
//!
//! For `#[differentiable] fn f(a: A, b: B, n: usize) -> R` the siblings are:
//!
//! | function | signature | meaning |
//! |---|---|---|
//! | `f_jvp` | `(a, b, n, da, db) -> (R, dR)` | forward mode: value and directional derivative |
//! | `f_vjp` | `(a, b, n, dr) -> (R, grads)` | reverse mode: value and the cotangents of the active arguments |
//! | `f_pullback` | `(a, b, n) -> (R, impl FnOnce(R) -> grads)` | reverse mode split in two: value, then the reverse sweep |
//! | `f_grad` | `(a, b, n) -> grads` | scalar `R` only: `f_vjp` seeded with 1 |
//! | `f_value_and_grad` | `(a, b, n) -> (R, grads)` | scalar `R` only |
//!
//! A function generic over its scalar (`fn f<T: Float>`) has generic
//! siblings, so dual numbers flow through its gradient: [`hvp`],
//! [`hessian`] and [`jacfwd`] take such functions at [`Dual`]`<f64>`, and
//! [`jacrev`] a VJP:
//!
//! ```
//! use autodiff::prelude::*;
//!
//! #[differentiable]
//! fn g<T: Float>(x: &[T]) -> T {
//!     x[0] * x[0] * x[1] + x[1].sin()
//! }
//!
//! let x = [1.5, 0.5];
//! let hv = hvp(g_grad, &x, &[1.0, 0.0]); // H e0, one pass
//! assert!((hv[0] - 2.0 * x[1]).abs() < 1e-12);
//! assert!((hv[1] - 2.0 * x[0]).abs() < 1e-12);
//! let h = hessian(g_grad, &x);
//! assert!((h[1][1] + x[1].sin()).abs() < 1e-12);
//! ```
//!
//! The active arguments are the `f32`/`f64` ones, or those named by
//! `#[differentiable(wrt(a))]`; `grads` is the bare cotangent for one active
//! argument and a tuple in argument order for several. See `docs/` for the
//! supported Rust subset and the conventions at singular points.

#[doc(hidden)]
pub use autodiff_macros::__differentiable_with_fields;
pub use autodiff_macros::{Differentiable, custom_jvp, custom_vjp, differentiable};
#[doc(hidden)]
pub use autodiff_runtime::{
    __annotate_stop_gradient_with_differentiable_or_custom_vjp, __stop_gradient_jvp,
    __stop_gradient_jvp_lanes, __stop_gradient_pullback, __stop_gradient_wrt,
};
pub use autodiff_runtime::{Dual, DualVec, Float, Lanes, check, stop_gradient};
pub use autodiff_runtime::{
    hessian, hessian_diagonal, hessian_lanes, hvp, jacfwd, jacfwd_lanes, jacobian_lanes, jacrev,
};

/// Everything a user needs: `use autodiff::prelude::*;` (what the crate
/// root exports).
pub mod prelude {
    #[doc(hidden)]
    pub use crate::{
        __annotate_stop_gradient_with_differentiable_or_custom_vjp, __stop_gradient_jvp,
        __stop_gradient_jvp_lanes, __stop_gradient_pullback, __stop_gradient_wrt,
    };
    pub use crate::{
        Differentiable, Dual, DualVec, Float, Lanes, check, custom_jvp, custom_vjp, differentiable,
        hessian, hessian_diagonal, hessian_lanes, hvp, jacfwd, jacfwd_lanes, jacobian_lanes,
        jacrev, stop_gradient,
    };
}

/// GPU kernels (feature `gpu`): the context, device buffers, the kernels
/// with their derivatives, and the runtime of the host functions that
/// `#[differentiable(gpu)]` generates. See `docs/gpu.md`.
#[cfg(feature = "gpu")]
pub mod gpu {
    pub use autodiff_gpu::*;
}

/// `#[differentiable(gpu)]` expands to a call of this macro, which says
/// what to do when the `gpu` feature is off.
#[doc(hidden)]
#[cfg(feature = "gpu")]
#[macro_export]
macro_rules! __require_gpu {
    () => {};
}

#[doc(hidden)]
#[cfg(not(feature = "gpu"))]
#[macro_export]
macro_rules! __require_gpu {
    () => {
        ::core::compile_error!(
            "#[differentiable(gpu)] needs the `gpu` feature of autodiff: \
             autodiff = { version = \"0.1\", features = [\"gpu\"] }"
        );
    };
}

/// What generated code calls. Not a public API: it changes with the macro.
#[doc(hidden)]
pub mod __private {
    pub use autodiff_runtime::lanes::{
        gather_array, gather_scalar, gather_vec, lane_of_array, lane_of_slice, lanes_cast,
        lanes_dot, lanes_like, lanes_zeros, set_lane_of_slice,
    };
    pub use autodiff_runtime::{
        DerivesDifferentiable, DifferentiableStruct, FloatArray, FloatElems, Lanes, Saves, Tape,
        add_assign, add_cotangents, cast_like, check_wrt, derives_differentiable, dot, lit,
        partials, regroup, returns, to_float, zeros_like,
    };
}

/// The README's example, compiled and run as a doctest so that it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
