//! `#[differentiable(gpu)]`: the function's value, JVP and VJP as WGSL, from
//! the same IR as the Rust siblings, and host functions that run them as map
//! kernels over slices or device buffers (through `autodiff::gpu`).
//!
//! The IR goes through the same phases as for Rust (lower, activity, jvp,
//! vjp, simplify) with one more before differentiating: loops with constant
//! bounds are unrolled ([`crate::unroll`]), so the VJP is straight-line code with
//! branches, one fused function with no tape. [`wgsl`] is the second
//! emitter; [`prims`] says how Rust's float methods are computed in WGSL;
//! [`rules`] translates the derivative rules of `rules/partials.rs`.

pub mod prims;
pub mod rules;
mod wgsl;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use crate::ir::Callee;
use crate::parse::{self, Parsed};
use crate::{activity, jvp, lower, pipeline, vjp};

pub use wgsl::Mode;

/// The WGSL of one function: its own functions (value, JVP, VJP), the
/// pieces they need (rules, helpers), and the functions it calls.
pub struct Kernels {
    pub inputs: usize,
    /// The rules and their helpers, each once, then the function's own.
    pub pieces: Vec<String>,
    pub callees: Vec<Callee>,
}

/// The GPU items of `#[differentiable(gpu)] item`.
pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let item: syn::ItemFn = syn::parse2(item)?;
    let parsed = parse::parse(args, &item)?;
    check_signature(&parsed, &item)?;
    let kernels = kernels(&parsed)?;
    Ok(host(&parsed.sig, &kernels))
}

/// The signature a map kernel can have: `f32` parameters, all
/// differentiated, and one `f32` output.
fn check_signature(parsed: &Parsed, item: &syn::ItemFn) -> syn::Result<()> {
    let sig = &parsed.sig;
    let fail = |tokens: &dyn quote::ToTokens, what: &str| -> syn::Result<()> {
        Err(syn::Error::new_spanned(
            tokens,
            format!("#[differentiable(gpu)] {what}"),
        ))
    };
    if sig.receiver.is_some() {
        return fail(
            &item.sig.inputs,
            "does not support methods; write a free function",
        );
    }
    if !sig.generics.params.is_empty() {
        return fail(&item.sig.generics, "does not support generic functions");
    }
    if sig.wrt_given {
        return fail(
            &item.sig.inputs,
            "differentiates with respect to every parameter; remove `wrt(...)`",
        );
    }
    if sig.params.len() > prims::MAX_TUPLE {
        return fail(
            &item.sig.inputs,
            &format!("takes at most {} parameters", prims::MAX_TUPLE),
        );
    }
    for (p, input) in sig.params.iter().zip(&item.sig.inputs) {
        if p.ty.to_string() != "f32" {
            return fail(
                input,
                "takes `f32` parameters only (GPU kernels run in f32; see docs/gpu.md)",
            );
        }
    }
    match &item.sig.output {
        syn::ReturnType::Type(_, t) if quote!(#t).to_string() == "f32" => Ok(()),
        output => fail(output, "returns one `f32`"),
    }
}

/// The value, JVP and VJP of the function as WGSL.
pub fn kernels(parsed: &Parsed) -> syn::Result<Kernels> {
    let primal = lower::lower(parsed)?;
    let primal = crate::unroll::unroll(&primal)?;
    let primal = pipeline::optimized(primal, "unroll")?;
    let active = pipeline::active_params(&parsed.sig, &primal);
    let act = activity::activity(&primal, &active);
    let jvp = pipeline::optimized(jvp::jvp(&primal, &active, &act)?, "jvp")?;
    let lens = vec![None; active.len()];
    let vjp = pipeline::optimized(vjp::vjp(&primal, &active, &lens, &act)?, "vjp")?;

    let name = syn::ext::IdentExt::unraw(&parsed.sig.ident).to_string();
    let mut emitter = wgsl::Emitter::default();
    let own = [
        emitter.function(&primal, &name, Mode::Value)?,
        emitter.function(&jvp, &name, Mode::Jvp)?,
        emitter.function(&vjp, &name, Mode::Vjp)?,
    ];
    let mut pieces = Vec::new();
    for rule in &emitter.rules {
        let rule_pieces = rules::wgsl_rule(rule).map_err(|e| {
            syn::Error::new(
                Span::call_site(),
                format!("internal error in #[differentiable(gpu)]: {e}; please report this"),
            )
        })?;
        for piece in rule_pieces {
            if !pieces.contains(&piece) {
                pieces.push(piece);
            }
        }
    }
    pieces.extend(own);
    Ok(Kernels {
        inputs: parsed.sig.params.len(),
        pieces,
        callees: emitter.callees,
    })
}

/// The name of the constant describing `f`'s kernels; a call of `f` from
/// another GPU function names it, so calling a function without `gpu`
/// fails with this name in the error.
pub fn kernel_const(name: &syn::Ident) -> syn::Ident {
    format_ident!("__annotate_{}_with_differentiable_gpu", name)
}

/// The hidden kernel constant and the host functions.
fn host(sig: &parse::Signature, k: &Kernels) -> TokenStream {
    let gpu = quote!(::autodiff::gpu);
    let rt = quote!(::autodiff::gpu::__private);
    let vis = &sig.vis;
    let attrs = &sig.attrs;
    let name = &sig.ident;
    let konst = kernel_const(name);
    let name_text = syn::ext::IdentExt::unraw(name).to_string();
    let inputs = k.inputs;
    let pieces = &k.pieces;
    // Named at the call, so that calling a function without `gpu` is an
    // error there.
    let callees = k.callees.iter().map(|c| {
        let prefix = &c.prefix.tokens;
        let mut konst = kernel_const(&c.name);
        konst.set_span(c.name.span());
        quote!(&#prefix #konst)
    });
    let params: Vec<syn::Ident> = sig.params.iter().map(|p| p.name.clone()).collect();
    let tangents: Vec<syn::Ident> = params.iter().map(|p| format_ident!("d{}", p)).collect();
    let cotangent = format_ident!("dr");
    let arg = quote!(impl ::core::convert::Into<#gpu::MapArg<'a>>);
    let value_args = quote!(#(#params: #arg),*);
    let jvp_args = quote!(#(#params: #arg,)* #(#tangents: #arg),*);
    let vjp_args = quote!(#(#params: #arg,)* #cotangent: #arg);
    let run = |mode: TokenStream, args: &[&syn::Ident]| quote!(#rt::run(gpu, &#konst, #rt::Mode::#mode, ::std::vec![#(::core::convert::Into::into(#args)),*]));
    let value_list: Vec<&syn::Ident> = params.iter().collect();
    let jvp_list: Vec<&syn::Ident> = params.iter().chain(&tangents).collect();
    let vjp_list: Vec<&syn::Ident> = params.iter().chain(std::iter::once(&cotangent)).collect();
    let run_value = run(quote!(Value), &value_list);
    let run_jvp = run(quote!(Jvp), &jvp_list);
    let run_vjp = run(quote!(Vjp), &vjp_list);
    let f_gpu = format_ident!("{}_gpu", name);
    let f_gpu_kernel = format_ident!("{}_gpu_kernel", name);
    let f_gpu_buffer = format_ident!("{}_gpu_buffer", name);
    let f_jvp_gpu = format_ident!("{}_jvp_gpu", name);
    let f_jvp_gpu_buffer = format_ident!("{}_jvp_gpu_buffer", name);
    let f_vjp_gpu = format_ident!("{}_vjp_gpu", name);
    let f_vjp_gpu_buffer = format_ident!("{}_vjp_gpu_buffer", name);
    let grads: Vec<syn::Ident> = (0..inputs).map(|i| format_ident!("__g{}", i)).collect();
    let (grad_vec_ty, grad_buf_ty, grad_vecs, grad_bufs) = if inputs == 1 {
        (
            quote!(::std::vec::Vec<f32>),
            quote!(#gpu::GpuBuffer),
            quote!(gpu.read(&__g0)),
            quote!(::core::result::Result::Ok(__g0)),
        )
    } else {
        let vecs = grads.iter().map(|_| quote!(::std::vec::Vec<f32>));
        let bufs = grads.iter().map(|_| quote!(#gpu::GpuBuffer));
        (
            quote!((#(#vecs),*)),
            quote!((#(#bufs),*)),
            quote!(::core::result::Result::Ok((#(gpu.read(&#grads)?),*))),
            quote!(::core::result::Result::Ok((#(#grads),*))),
        )
    };
    let doc_kernel = format!(
        " The WGSL kernels of `{name_text}`: run them into buffers you keep with `Kernel::run_into`."
    );
    let doc_value = format!(" `{name_text}` at each element, on the GPU.");
    let doc_jvp = format!(
        " `{name_text}` and its directional derivative at each element, on the GPU (`{name_text}_jvp` per element)."
    );
    let doc_vjp = format!(
        " The cotangents of `{name_text}`'s parameters for the output cotangent `dr`, on the GPU: per element, \
         summed for a parameter given as one value (length 1)."
    );
    quote! {
        ::autodiff::__require_gpu!();

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #(#attrs)*
        #vis const #konst: #rt::Kernel = #rt::Kernel {
            name: #name_text,
            inputs: #inputs,
            pieces: &[#(#pieces),*],
            callees: &[#(#callees),*],
        };

        #[doc = #doc_kernel]
        #(#attrs)*
        #vis fn #f_gpu_kernel() -> &'static #gpu::Kernel {
            &#konst
        }

        #[doc = #doc_value]
        #[allow(clippy::too_many_arguments)]
        #(#attrs)*
        #vis fn #f_gpu<'a>(gpu: &#gpu::Gpu, #value_args) -> ::core::result::Result<::std::vec::Vec<f32>, #gpu::GpuError> {
            let [__r] = #rt::outputs(#run_value?);
            gpu.read(&__r)
        }

        #[doc = #doc_value]
        #[allow(clippy::too_many_arguments)]
        #(#attrs)*
        #vis fn #f_gpu_buffer<'a>(gpu: &#gpu::Gpu, #value_args) -> ::core::result::Result<#gpu::GpuBuffer, #gpu::GpuError> {
            let [__r] = #rt::outputs(#run_value?);
            ::core::result::Result::Ok(__r)
        }

        #[doc = #doc_jvp]
        #[allow(clippy::too_many_arguments)]
        #(#attrs)*
        #vis fn #f_jvp_gpu<'a>(gpu: &#gpu::Gpu, #jvp_args) -> ::core::result::Result<(::std::vec::Vec<f32>, ::std::vec::Vec<f32>), #gpu::GpuError> {
            let [__r, __dr] = #rt::outputs(#run_jvp?);
            ::core::result::Result::Ok((gpu.read(&__r)?, gpu.read(&__dr)?))
        }

        #[doc = #doc_jvp]
        #[allow(clippy::too_many_arguments)]
        #(#attrs)*
        #vis fn #f_jvp_gpu_buffer<'a>(gpu: &#gpu::Gpu, #jvp_args) -> ::core::result::Result<(#gpu::GpuBuffer, #gpu::GpuBuffer), #gpu::GpuError> {
            let [__r, __dr] = #rt::outputs(#run_jvp?);
            ::core::result::Result::Ok((__r, __dr))
        }

        #[doc = #doc_vjp]
        #[allow(clippy::too_many_arguments)]
        #(#attrs)*
        #vis fn #f_vjp_gpu<'a>(gpu: &#gpu::Gpu, #vjp_args) -> ::core::result::Result<#grad_vec_ty, #gpu::GpuError> {
            let [#(#grads),*] = #rt::outputs(#run_vjp?);
            #grad_vecs
        }

        #[doc = #doc_vjp]
        #[allow(clippy::too_many_arguments)]
        #(#attrs)*
        #vis fn #f_vjp_gpu_buffer<'a>(gpu: &#gpu::Gpu, #vjp_args) -> ::core::result::Result<#grad_buf_ty, #gpu::GpuError> {
            let [#(#grads),*] = #rt::outputs(#run_vjp?);
            #grad_bufs
        }
    }
}

/// `__gpu_primitives!()`: for each float method whose arguments are all
/// floats, and for the arithmetic operators, a kernel constant made by the
/// same path as a user's `#[differentiable(gpu)] fn sin(x: f32) -> f32 {
/// x.sin() }`.
pub fn primitives(input: TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new_spanned(input, "__gpu_primitives!() takes no arguments")
            .to_compile_error();
    }
    let mut entries = Vec::new();
    let mut errors = TokenStream::new();
    for (name, arity, body) in primitive_bodies() {
        let ident = format_ident!("{}", name);
        let params: Vec<syn::Ident> = (0..arity).map(|i| format_ident!("x{}", i)).collect();
        let item = quote!(fn #ident(#(#params: f32),*) -> f32 { #body });
        let made = syn::parse2::<syn::ItemFn>(item)
            .and_then(|item| parse::parse(quote!(gpu), &item))
            .and_then(|parsed| kernels(&parsed));
        match made {
            Ok(k) => {
                let pieces = &k.pieces;
                entries.push(quote! {
                    (#name, crate::__private::Kernel {
                        name: #name,
                        inputs: #arity,
                        pieces: &[#(#pieces),*],
                        callees: &[],
                    })
                });
            }
            Err(e) => errors.extend(e.to_compile_error()),
        }
    }
    let prelude = prims::prelude();
    quote! {
        #errors
        /// What every kernel module starts with: tuple structs and Rust's
        /// float methods in WGSL.
        pub(crate) const PRELUDE: &str = #prelude;
        /// The element-wise primitives: name and kernels.
        pub(crate) static PRIMITIVES: &[(&str, crate::__private::Kernel)] = &[#(#entries),*];
    }
}

/// The primitives as bodies of functions of `x0, x1, ..`.
fn primitive_bodies() -> Vec<(String, usize, TokenStream)> {
    let mut out: Vec<(String, usize, TokenStream)> = vec![
        ("add".into(), 2, quote!(x0 + x1)),
        ("sub".into(), 2, quote!(x0 - x1)),
        ("mul".into(), 2, quote!(x0 * x1)),
        ("div".into(), 2, quote!(x0 / x1)),
        ("rem".into(), 2, quote!(x0 % x1)),
        ("neg".into(), 1, quote!(-x0)),
    ];
    for p in crate::primitives::PRIMS {
        if !p.method || p.args.iter().any(|&a| a != crate::primitives::Arg::Float) {
            continue;
        }
        let method = format_ident!("{}", p.name);
        let args: Vec<syn::Ident> = (1..p.args.len()).map(|i| format_ident!("x{}", i)).collect();
        out.push((
            p.name.to_string(),
            p.args.len(),
            quote!(x0.#method(#(#args),*)),
        ));
    }
    out
}
