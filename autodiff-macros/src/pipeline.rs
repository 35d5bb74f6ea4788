//! The phases of `#[differentiable]`, in order. Each is a function from one
//! representation to the next:
//!
//! 1. [`parse`]: attribute arguments and signature.
//! 2. [`lower`]: the body to the IR; nothing reads syn afterwards.
//! 3. [`verify`]: the IR's invariants, after every transform.
//! 4. [`activity`]: which values carry derivatives.
//! 5. [`jvp`] and [`vjp`]: the derivative functions, as IR.
//! 6. [`simplify`]: identities, common subexpressions, dead code; then
//!    [`zeros`]: the derivatives skip the work that only a product by a
//!    stored zero needs.
//! 7. [`emit`]: IR to Rust; with `gpu`, [`crate::gpu`] also emits WGSL
//!    from the same IR and the host functions that run it.
//!
//! On any error the user's function is emitted unchanged next to the
//! `compile_error!`s, so that one mistake does not turn into "cannot find
//! function" errors elsewhere.

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::Derivatives;
use crate::ir::{Function, Value};
use crate::{activity, emit, jvp, lower, parse, scratch, simplify, verify, vjp, zeros};

/// Expands `#[differentiable(args)] item`. Never panics: a bug of the macro
/// becomes a compile error that asks to report it.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    // Type names the macro cannot see through: their meaning from use.
    let Ok(f) = syn::parse2::<syn::ItemFn>(item.clone()) else {
        return expand_item(args, item);
    };
    match crate::aliases::with_aliases_of(&f, || expand_item(args, item.clone())) {
        Ok(out) => out,
        Err(e) => {
            let e = e.to_compile_error();
            quote!(#item #e)
        }
    }
}

fn expand_item(args: TokenStream, item: TokenStream) -> TokenStream {
    // On an `impl` block: its methods' attributes learn the type.
    if let Ok(block) = syn::parse2::<syn::ItemImpl>(item.clone()) {
        return crate::structs::expand_impl(args, block);
    }
    let (args_here, _) = crate::structs::take_self_methods(args.clone());
    let (plain_args, self_type) = parse::take_self_type(args_here);
    // `-> Result<T, E>`: the siblings of its success path, wrapped.
    if let Ok(f) = syn::parse2::<syn::ItemFn>(item.clone())
        && let Some((t, e)) = crate::results::result_output(&f)
    {
        return guarded("#[differentiable]", item, || {
            crate::results::derivatives(plain_args, &f, t, e)
        });
    }
    if let Ok(f) = syn::parse2::<syn::ItemFn>(item.clone()) {
        // A struct parameter, or `self`: its fields come back through its
        // macro.
        // A struct variable (a literal in the body) too.
        let (named, passed) = crate::structs::local_struct_types(&f);
        match crate::structs::struct_params(&plain_args, &f, self_type.as_ref()) {
            Ok(params) if !params.is_empty() || !named.is_empty() => {
                // (And the struct types of parameters not differentiated,
                // which struct variables may copy.)
                let data = crate::structs::data_struct_types(&f);
                let mut locals: Vec<_> = named.into_iter().chain(passed).collect();
                for t in data {
                    if !locals.contains(&t) {
                        locals.push(t);
                    }
                }
                let output = crate::structs::struct_output(&f, self_type.as_ref());
                return crate::structs::via_struct_macro(
                    &params,
                    output.as_ref(),
                    &locals,
                    self_type.is_some(),
                    args,
                    item,
                );
            }
            Ok(_) if crate::layout::has_rows(&f) => {
                // Rows of arrays: differentiated flat, the public siblings
                // converting.
                return guarded("#[differentiable]", item, || {
                    parse::with_self_type(self_type, || crate::layout::derivatives(plain_args, &f))
                });
            }
            Ok(_) => {}
            Err(e) => {
                let e = e.to_compile_error();
                return quote!(#item #e);
            }
        }
    }
    let input = item.clone();
    parse::with_self_type(self_type, || {
        guarded("#[differentiable]", item, || derivatives(plain_args, input))
    })
}

/// `item` and what `generate` makes of it; on an error, `item` unchanged
/// next to the error, so that one mistake does not turn into "cannot find"
/// errors elsewhere; on a panic, an error that asks to report it.
pub fn guarded(
    attribute: &str,
    item: TokenStream,
    generate: impl FnOnce() -> syn::Result<TokenStream>,
) -> TokenStream {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(generate)) {
        Ok(Ok(generated)) => quote!(#item #generated),
        Ok(Err(error)) => {
            let error = error.to_compile_error();
            quote!(#item #error)
        }
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                format!("internal error in {attribute} (it panicked); please report this function"),
            )
            .to_compile_error();
            quote!(#item #error)
        }
    }
}

/// The generated siblings of the function `item`.
pub fn derivatives(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    derivatives_and_signature(args, item).map(|(out, _)| out)
}

/// [`derivatives`], and the signature they were made for (whose active
/// parameters a wrapper of the siblings needs).
pub fn derivatives_and_signature(
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<(TokenStream, parse::Signature)> {
    // A generic function's scalar type parameter is a float type throughout.
    let generics = syn::parse2::<syn::ItemFn>(item.clone())
        .map(|f| f.sig.generics)
        .unwrap_or_default();
    parse::with_scalar_of(&generics, || {
        let (sig, d) = differentiate(args.clone(), item.clone())?;
        let mut out = emit::emit(&sig, &d);
        if sig.gpu {
            out.extend(crate::gpu::expand(args, item)?);
        }
        Ok((out, sig))
    })
}

/// Phases 1 to 6: the derivative functions as IR.
pub fn differentiate(
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<(parse::Signature, Derivatives)> {
    let item: syn::ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("#[differentiable] applies to a function with a body ({e})"),
        )
    })?;
    let mut parsed = parse::parse(args, &item)?;
    let primal = lower::lower(&parsed)?;
    check(&primal, "lower")?;
    // One instruction per distinct computation before differentiating, so
    // that `x[i]` read three times gets one adjoint, accumulated once.
    let primal = optimized(primal, "lower")?;
    // Small loops of constant bounds as straight-line code: no tapes.
    let primal = optimized(crate::unroll::unroll_small(&primal)?, "unroll")?;
    let active = active_params(&parsed.sig, &primal);
    let act = activity::activity(&primal, &active);
    // Output parameters the body reads are inputs too (decided on the IR
    // that is differentiated, so that the signature and the sweeps agree).
    let read_back = vjp::read_arrays(&primal);
    let offset = usize::from(parsed.sig.receiver.is_some());
    let params = &primal.block(primal.entry).params[offset..];
    let reads: Vec<bool> = params.iter().map(|p| act.in_out.contains(p)).collect();
    let restores: Vec<bool> = params.iter().map(|p| read_back.contains(p)).collect();
    parsed.sig.mark_in_out(&reads, &restores);
    if parsed.sig.strict {
        strict(&parsed.sig, &primal, &act)?;
    }

    let mut jvp = optimized(jvp::jvp(&primal, &active, &act)?, "jvp")?;
    zeros::jvp(&mut jvp, &parsed.sig);
    check(&jvp, "zeros (jvp)")?;
    let array_lens: Vec<Option<TokenStream>> = parsed
        .sig
        .params
        .iter()
        .filter(|p| p.active)
        .map(|p| p.array_len.clone())
        .collect();
    let vjp_raw = vjp::vjp(&primal, &active, &array_lens, &act)?;
    check(&vjp_raw, "vjp")?;
    let vjp = zero_guarded(optimized(vjp_raw.clone(), "vjp")?, &parsed.sig)?;
    let (value_and_grad, grad) = match parsed.sig.scalar_output {
        true => {
            let mut seeded = vjp_raw;
            simplify::seed_with_one(&mut seeded);
            let mut no_value = seeded.clone();
            let entry = no_value.entry;
            no_value.block_mut(entry).ret.clear();
            (
                Some(zero_guarded(
                    optimized(seeded, "value_and_grad")?,
                    &parsed.sig,
                )?),
                Some(zero_guarded(optimized(no_value, "grad")?, &parsed.sig)?),
            )
        }
        false => (None, None),
    };
    let fills = scratch::fills(&primal, parsed.sig.receiver.is_some());
    Ok((
        parsed.sig,
        Derivatives {
            jvp,
            vjp,
            value_and_grad,
            grad,
            fills,
        },
    ))
}

/// `#[differentiable(strict)]`: each parameter differentiated with respect
/// to must be able to influence an output, or its gradient is a structural
/// zero the user probably did not mean.
fn strict(sig: &parse::Signature, primal: &Function, act: &activity::Activity) -> syn::Result<()> {
    let params = &primal.block(primal.entry).params;
    let offset = usize::from(sig.receiver.is_some());
    let mut errors: Option<syn::Error> = None;
    for (p, &v) in sig.params.iter().zip(params.iter().skip(offset)) {
        if p.active && !act.is_useful(v) {
            let e = syn::Error::new(
                p.name.span(),
                format!(
                    "`{}` cannot influence the output of `{}`: its gradient is always zero \
                     (#[differentiable(strict)]); use it, or leave it out of `wrt(...)`",
                    p.name, sig.ident
                ),
            );
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// The entry parameters of `primal` that are active: the receiver, if any,
/// comes first and never is.
pub fn active_params(sig: &parse::Signature, primal: &Function) -> Vec<Value> {
    let params = &primal.block(primal.entry).params;
    let offset = usize::from(sig.receiver.is_some());
    sig.params
        .iter()
        .zip(params.iter().skip(offset))
        .filter(|(p, _)| p.active)
        .map(|(_, &v)| v)
        .collect()
}

/// `f`, a simplified VJP, with its adjoints scaled by stored zeros
/// skipped ([`zeros`]).
fn zero_guarded(mut f: Function, sig: &parse::Signature) -> syn::Result<Function> {
    zeros::vjp(&mut f, sig);
    check(&f, "zeros (vjp)")?;
    Ok(f)
}

/// Simplifies `f`, verifying before and after.
pub fn optimized(mut f: Function, what: &str) -> syn::Result<Function> {
    check(&f, what)?;
    simplify::simplify(&mut f);
    check(&f, &format!("simplify ({what})"))?;
    Ok(f)
}

fn check(f: &Function, after: &str) -> syn::Result<()> {
    verify::verify(f).map_err(|e| {
        syn::Error::new(
            proc_macro2::Span::call_site(),
            format!("internal error in #[differentiable]: invalid IR after {after}: {e}; please report this function"),
        )
    })
}
