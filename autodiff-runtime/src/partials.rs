//! The derivative rules of the primitives, one function per primitive.
//!
//! `partials::p(args..., out)` returns the partial derivatives of the float
//! method `p` at `args`, given its result `out = p(args...)` (several rules
//! reuse it: `exp`, `tanh`, `sqrt`, ...). A primitive with one float argument
//! returns the derivative itself; one with several float arguments returns a
//! tuple, one partial per float argument in argument order (the receiver
//! first). Integer arguments (`powi`'s exponent) get no partial.
//!
//! These rules are the only place where the derivative of a primitive is
//! written (`autodiff-macros/rules/partials.rs`, expanded here by
//! `autodiff_macros::__partials!` and translated from the same file to WGSL
//! for the GPU kernels): code emitted by `#[differentiable]` calls them in forward and
//! reverse mode, and [`Dual`](crate::Dual) calls them too, so the three can
//! never disagree.
//!
//! Points where a primitive is not differentiable follow the conventions of
//! `docs/conventions.md`; each is stated on the rule below.

autodiff_macros::__partials!();
