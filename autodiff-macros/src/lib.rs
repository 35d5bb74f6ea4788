//! The `#[differentiable]` attribute: compile-time automatic differentiation
//! of ordinary Rust functions. Use it through the `autodiff` crate.
//!
//! The macro is a pipeline of phases, one file each, listed in order in
//! [`pipeline`].

mod activity;
mod aliases;
mod builder;
mod custom;
mod emit;
mod error;
mod gpu;
mod ir;
mod jvp;
mod lanes;
mod layout;
mod lower;
mod parse;
mod pipeline;
mod primitives;
mod results;
mod scratch;
mod simplify;
mod structs;
mod unroll;
mod verify;
mod vjp;
mod zeros;

#[cfg(test)]
mod tests;

/// Generates the derivatives of a function, next to it: `f_jvp` (forward
/// mode), `f_vjp` (reverse mode), `f_pullback` (reverse mode in split form),
/// and for a scalar output `f_grad` and `f_value_and_grad`.
///
/// `#[differentiable(wrt(x, y))]` differentiates with respect to some of the
/// float parameters only. See the `autodiff` crate for the whole contract.
#[proc_macro_attribute]
pub fn differentiable(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    pipeline::expand(args.into(), item.into()).into()
}

/// The derivatives of a function from a rule instead of its body:
/// `#[custom_vjp(f_rule)]` with `fn f_rule(inputs.., output, output
/// cotangent) -> input cotangents`. The same siblings as
/// `#[differentiable]` (forward mode too, from the rule), so that
/// differentiable callers go through the rule; the body may be any Rust.
#[proc_macro_attribute]
pub fn custom_vjp(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    custom::expand(custom::Kind::Vjp, args.into(), item.into()).into()
}

/// The derivatives of a function from a forward rule instead of its body:
/// `#[custom_jvp(f_rule)]` with `fn f_rule(inputs.., tangents..) ->
/// (output, output tangent)`, the signature of `f_jvp`. Reverse mode comes
/// from the same rule, one call per input component.
#[proc_macro_attribute]
pub fn custom_jvp(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    custom::expand(custom::Kind::Jvp, args.into(), item.into()).into()
}

/// The derivative rules of the primitives (`rules/partials.rs`), as items:
/// `autodiff_runtime::partials` is this expansion. The same file is
/// translated to WGSL for the GPU kernels, so there is one table of rules.
#[doc(hidden)]
#[proc_macro]
pub fn __partials(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    gpu::rules::expand_rust(input.into()).into()
}

/// The element-wise primitive kernels of `autodiff-gpu`: for each float
/// method and operator, its WGSL value, JVP and VJP map kernels, generated
/// through the same pipeline and WGSL emitter as `#[differentiable(gpu)]`.
#[doc(hidden)]
#[proc_macro]
pub fn __gpu_primitives(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    gpu::primitives(input.into()).into()
}

/// A struct of parameters: its tangent type `NameTangent` (the float
/// fields, with `zero_like`, `add`, `scale`, `dot`), `step` on the struct,
/// and what `#[differentiable(wrt(p))]` needs to differentiate with respect
/// to a parameter of this type. Fields: `f64`, `Vec<f64>`, `[f64; N]`, and
/// `#[no_diff]` anything.
#[proc_macro_derive(Differentiable, attributes(no_diff))]
pub fn derive_differentiable(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    structs::derive(input.into()).into()
}

/// The siblings of a function with a struct parameter, once the struct's
/// fields are known (called by the macro `#[derive(Differentiable)]` makes).
#[doc(hidden)]
#[proc_macro]
pub fn __differentiable_with_fields(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    structs::expand_with_fields(input.into()).into()
}
