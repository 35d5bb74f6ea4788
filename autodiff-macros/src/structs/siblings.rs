//! The siblings of a function differentiated with respect to a struct:
//! `f_grad`, `f_value_and_grad`, `f_vjp`, `f_jvp` with the struct's tangent
//! type, through the inner function's, which take and give the leaves.

use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident, quote};

use super::fields::{Leaf, Output, WithFields, has_data, has_no_diff, leaf_ident, literal};
use super::{Field, Kind, tangent_ty, wrt_names};

/// A struct parameter's name, struct, tangent type and fields.
fn struct_param<'a>(
    params: &'a [Field],
    name: &Ident,
) -> Option<(Ident, TokenStream, &'a [Field])> {
    let f = params.iter().find(|f| &f.name == name)?;
    match &f.kind {
        Some(Kind::Nested(ty, Some(fields))) => Some((ty.clone(), tangent_ty(ty), fields)),
        _ => None,
    }
}

/// What the outer siblings gather, parameter by parameter.
#[derive(Default)]
struct Gathered {
    /// The inner call's arguments, and tangents.
    call_args: Vec<TokenStream>,
    tangent_args: Vec<TokenStream>,
    /// The outer JVP's tangent parameters.
    tangent_params: Vec<TokenStream>,
    /// Cotangents returned by the inner function, in its order, and how
    /// the outer one returns them, with their types.
    grads_in: Vec<Ident>,
    grads_out: Vec<TokenStream>,
    grad_tys: Vec<TokenStream>,
}

impl Gathered {
    /// A struct parameter `n` (named `name`, its tangent parameter `dn`):
    /// the leaves as the inner call's arguments (`&n.w`, `n.b`) and
    /// tangents, their cotangents, and the tangent struct made of them.
    fn struct_param(
        &mut self,
        n: &TokenStream,
        dn: &Ident,
        name: &Ident,
        struct_params: &[Field],
        all: &[Leaf],
    ) -> Option<()> {
        let (strukt, tangent, fields) = struct_param(struct_params, name)?;
        self.tangent_params.push(quote!(#dn: &#tangent));
        for l in all.iter().filter(|l| &l.path[0] == name) {
            let path = &l.path[1..];
            match &l.kind {
                Kind::Vec(_) => {
                    self.call_args.push(quote!(&#n #(. #path)*));
                    self.tangent_args.push(quote!(&#dn #(. #path)*));
                }
                _ => {
                    self.call_args.push(quote!(#n #(. #path)*));
                    self.tangent_args.push(quote!(#dn #(. #path)*));
                }
            }
            self.grads_in.push(leaf_ident(&l.path));
        }
        self.grads_out.push(literal(
            &strukt,
            fields,
            std::slice::from_ref(name),
            true,
            &|p| leaf_ident(p).to_token_stream(),
        ));
        self.grad_tys.push(quote!(#tangent));
        Some(())
    }
}

/// `f_grad`, `f_value_and_grad`, `f_vjp`, `f_jvp` of the function with
/// struct parameters, through the inner function's.
pub(super) fn outer_siblings(
    w: &WithFields,
    struct_params: &[Field],
    all: &[Leaf],
    inner: &Ident,
    output: Option<&(Output, Vec<Leaf>)>,
) -> syn::Result<TokenStream> {
    let item = &w.item;
    let sig = &item.sig;
    let vis = &item.vis;
    let name = &sig.ident;
    let wrt = wrt_names(&w.args);
    let (cfgs, ret) = cfgs_and_output(item);
    let (generics, _, where_clause) = sig.generics.split_for_impl();
    // The outer parameters, and what the inner call takes and gives.
    let mut params = Vec::new();
    let mut g = Gathered::default();
    let missing = |at: &dyn ToTokens| syn::Error::new_spanned(at, "internal error: no fields");
    let self_name = Ident::new("self", proc_macro2::Span::call_site());
    let method = struct_params.iter().any(|f| f.name == "self");
    for input in &sig.inputs {
        let pt = match input {
            syn::FnArg::Typed(pt) => pt,
            syn::FnArg::Receiver(r) if method => {
                // `self` with the receiver's own span (hygiene).
                let this = &r.self_token;
                params.push(quote!(#r));
                if has_data(struct_params, &self_name) {
                    g.call_args.push(match r.reference {
                        Some(_) => quote!(#this),
                        None => quote!(&#this),
                    });
                }
                let dself = format_ident!("dself");
                g.struct_param(&quote!(#this), &dself, &self_name, struct_params, all)
                    .ok_or_else(|| missing(r))?;
                continue;
            }
            syn::FnArg::Receiver(_) => {
                return Err(syn::Error::new_spanned(
                    input,
                    "#[differentiable] with a struct parameter does not support methods yet; \
                     differentiate with respect to `self` (`wrt(self)`) or make it a function",
                ));
            }
        };
        let syn::Pat::Ident(pi) = &*pt.pat else {
            return Err(syn::Error::new_spanned(
                &pt.pat,
                "a parameter needs a plain name",
            ));
        };
        let n = &pi.ident;
        let ty = &pt.ty;
        params.push(quote!(#n: #ty));
        if struct_param(struct_params, n).is_some() {
            let by_ref = matches!(&**ty, syn::Type::Reference(_));
            if has_data(struct_params, n) {
                g.call_args
                    .push(if by_ref { quote!(#n) } else { quote!(&#n) });
            }
            let dn = format_ident!("d{}", n);
            g.struct_param(&quote!(#n), &dn, n, struct_params, all)
                .ok_or_else(|| missing(n))?;
        } else {
            g.call_args.push(quote!(#n));
            if wrt.contains(&n.to_string()) {
                let dn = format_ident!("d{}", n);
                let (tt, gt) = match crate::parse::class_of_type(ty) {
                    Some(_) => (quote!(#ty), quote!(#ty)),
                    None => match &**ty {
                        syn::Type::Reference(r) => match &*r.elem {
                            syn::Type::Slice(s) => {
                                let e = &s.elem;
                                (quote!(&[#e]), quote!(::std::vec::Vec<#e>))
                            }
                            other => (quote!(&#other), quote!(#other)),
                        },
                        other => (quote!(#other), quote!(#other)),
                    },
                };
                g.tangent_params.push(quote!(#dn: #tt));
                g.tangent_args.push(quote!(#dn));
                let grad = format_ident!("__g_{}", n);
                g.grads_in.push(grad.clone());
                g.grads_out.push(quote!(#grad));
                g.grad_tys.push(gt);
            }
        }
    }
    let Gathered {
        call_args,
        tangent_args,
        tangent_params,
        grads_in,
        grads_out,
        grad_tys,
    } = g;
    let tuple = |items: &[TokenStream]| -> TokenStream {
        if items.len() == 1 {
            items[0].clone()
        } else {
            quote!((#(#items),*))
        }
    };
    let grads_pat = tuple(&grads_in.iter().map(|g| quote!(#g)).collect::<Vec<_>>());
    let grads_val = tuple(&grads_out);
    let grads_ty = tuple(&grad_tys);
    let f_grad = format_ident!("{}_grad", name);
    let f_vg = format_ident!("{}_value_and_grad", name);
    let f_vjp = format_ident!("{}_vjp", name);
    let f_jvp = format_ident!("{}_jvp", name);
    let i_grad = format_ident!("{}_grad", inner);
    let i_vg = format_ident!("{}_value_and_grad", inner);
    let i_vjp = format_ident!("{}_vjp", inner);
    let i_jvp = format_ident!("{}_jvp", inner);
    // The inner function of a method is an associated function.
    let (i_grad, i_vg, i_vjp, i_jvp) = match method {
        true => (
            quote!(Self::#i_grad),
            quote!(Self::#i_vg),
            quote!(Self::#i_vjp),
            quote!(Self::#i_jvp),
        ),
        false => (
            quote!(#i_grad),
            quote!(#i_vg),
            quote!(#i_vjp),
            quote!(#i_jvp),
        ),
    };
    if let Some(output) = output {
        return Ok(struct_output_siblings(
            w,
            output,
            &params,
            &call_args,
            &tangent_params,
            &tangent_args,
            &grads_pat,
            &grads_val,
            &grads_ty,
            (&i_vjp, &i_jvp),
        ));
    }
    let scalar = is_float_ty(&ret);
    let grad_fns = if scalar {
        quote! {
            /// The gradient, with the struct parameter's as its tangent
            /// type. Generated by `#[differentiable]`.
            #[allow(dead_code, clippy::too_many_arguments)]
            #(#cfgs)*
            #vis fn #f_grad #generics(#(#params),*) -> #grads_ty #where_clause {
                let #grads_pat = #i_grad(#(#call_args),*);
                #grads_val
            }

            /// The value and the gradient. Generated by `#[differentiable]`.
            #[allow(dead_code, clippy::too_many_arguments)]
            #(#cfgs)*
            #vis fn #f_vg #generics(#(#params),*) -> (#ret, #grads_ty) #where_clause {
                let (__value, #grads_pat) = #i_vg(#(#call_args),*);
                (__value, #grads_val)
            }
        }
    } else {
        quote!()
    };
    Ok(quote! {
        #grad_fns

        /// Reverse mode: the value and the cotangents for the output
        /// cotangent `dr`. Generated by `#[differentiable]`.
        #[allow(dead_code, clippy::too_many_arguments)]
        #(#cfgs)*
            #vis fn #f_vjp #generics(#(#params,)* dr: #ret) -> (#ret, #grads_ty) #where_clause {
            let (__value, #grads_pat) = #i_vjp(#(#call_args,)* dr);
            (__value, #grads_val)
        }

        /// Forward mode: the value and its derivative along the tangents
        /// (a struct parameter's as its tangent type). Generated by
        /// `#[differentiable]`.
        #[allow(dead_code, clippy::too_many_arguments)]
        #(#cfgs)*
            #vis fn #f_jvp #generics(#(#params,)* #(#tangent_params),*) -> (#ret, #ret) #where_clause {
            #i_jvp(#(#call_args,)* #(#tangent_args),*)
        }
    })
}

/// `f_vjp` and `f_jvp` of a function returning the struct it
/// differentiates with respect to: the output's tangent and cotangent are
/// the struct's tangent type; the inner function gives the leaves.
#[allow(clippy::too_many_arguments)]
fn struct_output_siblings(
    w: &WithFields,
    (out, all): &(Output, Vec<Leaf>),
    params: &[TokenStream],
    call_args: &[TokenStream],
    tangent_params: &[TokenStream],
    tangent_args: &[TokenStream],
    grads_pat: &TokenStream,
    grads_val: &TokenStream,
    grads_ty: &TokenStream,
    (i_vjp, i_jvp): (&TokenStream, &TokenStream),
) -> TokenStream {
    let item = &w.item;
    let sig = &item.sig;
    let vis = &item.vis;
    let name = &sig.ident;
    let tangent = tangent_ty(&out.ty);
    let (cfgs, ret) = cfgs_and_output(item);
    let (generics, _, where_clause) = sig.generics.split_for_impl();
    let f_vjp = format_ident!("{}_vjp", name);
    let f_jvp = format_ident!("{}_jvp", name);
    let idents = |prefix: &str| -> Vec<Ident> {
        (0..all.len())
            .map(|k| format_ident!("{}{}", prefix, k))
            .collect()
    };
    let (values, tangents) = (idents("__v"), idents("__t"));
    let recompute = has_no_diff(&out.fields);
    let value_pat = match recompute {
        true => quote!(_),
        false => crate::emit::tuple_or_single(&values),
    };
    let tangent_pat = crate::emit::tuple_or_single(&tangents);
    let by_path = |names: &[Ident]| {
        let names = names.to_vec();
        move |p: &[Ident]| -> TokenStream {
            let k = all.iter().position(|l| l.path == p).unwrap_or(0);
            names[k].to_token_stream()
        }
    };
    // The value: rebuilt from the leaves, or, where the struct has fields
    // without derivatives, the function itself called once more.
    let value = if recompute {
        let args: Vec<TokenStream> = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(pt) => Some(pt.pat.to_token_stream()),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        match sig.inputs.first() {
            Some(syn::FnArg::Receiver(r)) => {
                let this = &r.self_token;
                quote!(#this.#name(#(#args),*))
            }
            _ => quote!(#name(#(#args),*)),
        }
    } else {
        literal(&out.ty, &out.fields, &[], false, &by_path(&values))
    };
    let tangent_value = literal(&out.ty, &out.fields, &[], true, &by_path(&tangents));
    // The output cotangent as the inner function's: its leaves.
    let dr_leaves: Vec<TokenStream> = all
        .iter()
        .map(|l| {
            let path = &l.path;
            quote!(dr #(. #path)*)
        })
        .collect();
    let dr_tuple = crate::emit::tuple_or_single(&dr_leaves);
    quote! {
        /// Reverse mode: the value and the cotangents for the output
        /// cotangent `dr` (the output struct's tangent type). Generated by
        /// `#[differentiable]`.
        #[allow(dead_code, clippy::too_many_arguments)]
        #(#cfgs)*
        #vis fn #f_vjp #generics(#(#params,)* dr: #tangent) -> (#ret, #grads_ty) #where_clause {
            let (#value_pat, #grads_pat) = #i_vjp(#(#call_args,)* #dr_tuple);
            (#value, #grads_val)
        }

        /// Forward mode: the value and its tangent (the struct's tangent
        /// type) along the tangents. Generated by `#[differentiable]`.
        #[allow(dead_code, clippy::too_many_arguments)]
        #(#cfgs)*
        #vis fn #f_jvp #generics(#(#params,)* #(#tangent_params),*) -> (#ret, #tangent) #where_clause {
            let (#value_pat, #tangent_pat) = #i_jvp(#(#call_args,)* #(#tangent_args),*);
            (#value, #tangent_value)
        }
    }
}

/// The function's `#[cfg]`s, which the siblings copy, and its output type.
fn cfgs_and_output(item: &syn::ItemFn) -> (Vec<&syn::Attribute>, TokenStream) {
    let cfgs = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let ret = match &item.sig.output {
        syn::ReturnType::Type(_, t) => t.to_token_stream(),
        syn::ReturnType::Default => quote!(()),
    };
    (cfgs, ret)
}

fn is_float_ty(t: &TokenStream) -> bool {
    matches!(t.to_string().as_str(), "f64" | "f32")
}
