//! `#[custom_vjp(rule)]` and `#[custom_jvp(rule)]`: a function's
//! derivatives from a rule instead of its body, which may then be any Rust.
//!
//! A forward rule has the signature of `f_jvp`: `fn(inputs.., tangents..)
//! -> (output, tangent)`. Reverse mode comes from it one call per input
//! component (a unit tangent each), which suits functions of a few inputs.
//!
//! The rule takes the function's inputs, its output and the output's
//! cotangent, and returns the cotangents of the inputs that carry
//! derivatives (floats, slices, arrays; in order, a tuple for several) in
//! the shapes of `f_vjp`: `fn(x: &[f64], y: f64, dy: f64) -> Vec<f64>` for
//! `fn f(x: &[f64]) -> f64`. Every sibling of `#[differentiable]` is
//! generated from it (the hidden ones too, so that differentiable callers
//! go through the rule), including forward mode: for a scalar output the
//! directional derivative is the rule's gradient (the rule seeded with 1)
//! dotted with the tangents, one rule call. The rule's type is checked
//! where it is named: a mismatch is an error there that shows the expected
//! function pointer type.
//!
//! It takes free functions, for `f64`, `f32` or generic over the scalar
//! (`fn f<T: Float>`, the rule generic too: then second order goes through
//! the rule, as `hvp` runs the siblings at dual numbers), with float
//! outputs and parameters that are floats, slices, arrays of floats, or
//! data without floats (integers, `&[usize]`, references).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::emit::{tuple_or_single, without_lifetime};
use crate::ir::Class;
use crate::parse::{self, Output};

/// Which rule a function comes with.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// `#[custom_vjp(rule)]`: `rule(inputs.., output, cotangent) -> input
    /// cotangents`.
    Vjp,
    /// `#[custom_jvp(rule)]`: `rule(inputs.., tangents..) -> (output,
    /// tangent)`, the signature of `f_jvp`.
    Jvp,
}

impl Kind {
    fn attribute(self) -> &'static str {
        match self {
            Kind::Vjp => "#[custom_vjp]",
            Kind::Jvp => "#[custom_jvp]",
        }
    }
}

pub fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let input = item.clone();
    crate::pipeline::guarded(kind.attribute(), item, || siblings(kind, args, input))
}

fn siblings(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let attribute = kind.attribute();
    let item_fn: syn::ItemFn = syn::parse2(item)
        .map_err(|e| syn::Error::new(e.span(), format!("{attribute} applies to a function")))?;
    // A function generic over its scalar (`fn f<T: Float>`): `T` is a
    // float type throughout, as in `#[differentiable]`.
    let generics = item_fn.sig.generics.clone();
    let f = item_fn.clone();
    crate::aliases::with_aliases_of(&f, || {
        parse::with_scalar_of(&generics, || generated(kind, args, item_fn))
    })?
}

fn generated(kind: Kind, args: TokenStream, item_fn: syn::ItemFn) -> syn::Result<TokenStream> {
    let attribute = kind.attribute();
    let rule: syn::Path = syn::parse2(args.clone()).map_err(|_| {
        let (what, example) = match kind {
            Kind::Vjp => (
                "a function from the inputs, the output and its cotangent to the inputs' cotangents",
                "#[custom_vjp(f_rule)]",
            ),
            Kind::Jvp => (
                "a function from the inputs and their tangents to the output and its tangent",
                "#[custom_jvp(f_rule)]",
            ),
        };
        let span = if args.is_empty() {
            item_fn.sig.ident.span()
        } else {
            args.span()
        };
        syn::Error::new(span, format!("{attribute} names its rule, {what}: `{example}`"))
    })?;
    let scalar = parse::scalar_param();
    if let Some(param) = item_fn.sig.generics.params.iter().find(|p| match p {
        syn::GenericParam::Lifetime(_) => false,
        syn::GenericParam::Type(t) => Some(&t.ident) != scalar.as_ref(),
        syn::GenericParam::Const(_) => true,
    }) {
        return Err(syn::Error::new_spanned(
            param,
            format!(
                "{attribute} takes one type parameter, the scalar bounded by `Float` \
                 (`fn f<T: Float>`), and no others yet; bound it by `Float`, or write the \
                 function for `f64`"
            ),
        ));
    }
    if scalar.is_some() {
        converts_to_primitive(&item_fn, attribute)?;
    }
    // The signature's errors, worded for this attribute.
    let sig = parse::parse(TokenStream::new(), &item_fn)
        .map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    syn::Error::new(
                        e.span(),
                        e.to_string().replace("#[differentiable]", attribute),
                    )
                })
                .reduce(|mut all, e| {
                    all.combine(e);
                    all
                })
                .unwrap_or(errors_fallback(attribute))
        })?
        .sig;
    let name = &sig.ident;
    let unsupported = |what: &str| {
        Err(syn::Error::new(
            name.span(),
            format!("{attribute} does not support {what} yet; write the rule for a free function"),
        ))
    };
    if sig.receiver.is_some() {
        return unsupported("methods");
    }
    for p in &sig.params {
        if matches!(p.class, Class::Array | Class::SliceMut | Class::Other)
            || (p.class == Class::Ref && p.ty.to_string().contains("mut"))
        {
            return Err(syn::Error::new(
                p.name.span(),
                format!(
                    "{attribute} takes floats, slices, arrays of floats and data without floats \
                     by value or shared reference; pass this parameter so"
                ),
            ));
        }
    }

    // One float, or a tuple of floats.
    let (out_ty, outputs) = match &sig.output {
        Output::Scalar(t) if sig.scalar_output => (t.clone(), 1),
        Output::Tuple(ts)
            if !ts.is_empty()
                && sig.out_params().next().is_none()
                && ts.iter().all(|t| {
                    syn::parse2::<syn::Type>(t.clone())
                        .ok()
                        .and_then(|t| parse::class_of_type(&t))
                        == Some(Class::Float)
                }) =>
        {
            (quote!((#(#ts),*)), ts.len())
        }
        _ => return unsupported("outputs other than a float or a tuple of floats"),
    };
    // `dy · t`, output by output.
    let contract = |dy: &TokenStream, t: TokenStream| -> TokenStream {
        if outputs == 1 {
            return quote!(#dy * #t);
        }
        let terms = (0..outputs).map(|j| {
            let j = syn::Index::from(j);
            quote!(#dy.#j * __t.#j)
        });
        quote!({ let __t = #t; #(#terms)+* })
    };
    // Constants: `lit::<T>(1.0)` in a function generic over `T`.
    let (one, zero) = (
        crate::emit::float_lit(quote!(1.0)),
        crate::emit::float_lit(quote!(0.0)),
    );
    // The unit cotangent of output `j`.
    let unit = |j: usize| -> TokenStream {
        if outputs == 1 {
            return one.clone();
        }
        let items = (0..outputs).map(|k| if k == j { one.clone() } else { zero.clone() });
        quote!((#(#items),*))
    };
    let params: Vec<TokenStream> = sig
        .params
        .iter()
        .map(|p| {
            let (n, t) = (&p.name, &p.ty);
            quote!(#n: #t)
        })
        .collect();
    let args: Vec<&syn::Ident> = sig.params.iter().map(|p| &p.name).collect();
    let derivative: Vec<&parse::Param> = sig
        .params
        .iter()
        .filter(|p| p.class.has_derivative_in_calls())
        .collect();
    let grad_tys: Vec<&TokenStream> = derivative.iter().map(|p| &p.grad_ty).collect();
    let grads_ty = tuple_or_single(&grad_tys);
    let grads: Vec<syn::Ident> = derivative
        .iter()
        .map(|p| format_ident!("__g_{}", p.name))
        .collect();
    let grads_pattern = tuple_or_single(&grads);
    let tangents: Vec<syn::Ident> = derivative
        .iter()
        .map(|p| format_ident!("d{}", p.name))
        .collect();
    let tangent_params: Vec<TokenStream> = derivative
        .iter()
        .zip(&tangents)
        .map(|(p, t)| {
            let ty = &p.tangent_ty;
            quote!(#t: #ty)
        })
        .collect();
    let vis = &item_fn.vis;
    let attrs: Vec<&syn::Attribute> = sig.attrs.iter().collect();
    let rt = quote!(::autodiff::__private);

    // The rule's type, checked where it is named; the siblings call it
    // through this constant, so a mismatch is one error.
    let param_tys = sig.params.iter().map(|p| &p.ty);
    let rule_const = format_ident!("__{}_rule", name);
    let rule_ty = match kind {
        Kind::Vjp => quote!(fn(#(#param_tys,)* #out_ty, #out_ty) -> #grads_ty),
        Kind::Jvp => {
            let tangent_tys = derivative.iter().map(|p| &p.tangent_ty);
            quote!(fn(#(#param_tys,)* #(#tangent_tys),*) -> (#out_ty, #out_ty))
        }
    };
    let (impl_generics, _, where_clause) = sig.generics.split_for_impl();
    // A generic rule is checked in a generic function (a constant cannot
    // be generic) and called by its own name.
    let (check, rule_fn) = match &scalar {
        None => (
            quote_spanned! {rule.span()=>
                #[doc(hidden)]
                #[allow(non_upper_case_globals)]
                const #rule_const: #rule_ty = #rule;
            },
            quote!(#rule_const),
        ),
        Some(_) => (
            quote_spanned! {rule.span()=>
                #[doc(hidden)]
                #[allow(non_snake_case, dead_code)]
                fn #rule_const #impl_generics () #where_clause {
                    let _: #rule_ty = #rule;
                }
            },
            quote!(#rule),
        ),
    };
    // The cotangents of the inputs for the output cotangent `dy` (the
    // output is `__y` where this is used): the reverse rule, or, from a
    // forward rule, one call per input component with a unit tangent.
    let cotangents = |dy: TokenStream| -> TokenStream {
        match kind {
            Kind::Vjp => quote!(#rule_fn(#(#args,)* __y, #dy)),
            Kind::Jvp => {
                let zeros: Vec<TokenStream> = derivative
                    .iter()
                    .map(|p| match (&p.sink_ty, &p.array_len) {
                        (Some(_), _) => {
                            let n = &p.name;
                            quote!(&::std::vec![#zero; #n.len()][..])
                        }
                        (None, Some(len)) => quote!([#zero; #len]),
                        (None, None) => zero.clone(),
                    })
                    .collect();
                let each = derivative.iter().enumerate().map(|(k, p)| {
                    let n = &p.name;
                    let mut with = zeros.clone();
                    let g = &grads[k];
                    match (&p.sink_ty, &p.array_len) {
                        (Some(_), _) => {
                            with[k] = quote!(&__e[..]);
                            let call = contract(&dy, quote!(#rule_fn(#(#args,)* #(#with),*).1));
                            quote! {
                                let #g: ::std::vec::Vec<_> = (0..#n.len())
                                    .map(|__i| {
                                        let mut __e = ::std::vec![#zero; #n.len()];
                                        __e[__i] = #one;
                                        #call
                                    })
                                    .collect();
                            }
                        }
                        (None, Some(_)) => {
                            let zero = &zeros[k];
                            with[k] = quote!(__e);
                            let call = contract(&dy, quote!(#rule_fn(#(#args,)* #(#with),*).1));
                            quote! {
                                let #g = ::core::array::from_fn(|__i| {
                                    let mut __e = #zero;
                                    __e[__i] = #one;
                                    #call
                                });
                            }
                        }
                        (None, None) => {
                            with[k] = one.clone();
                            let call = contract(&dy, quote!(#rule_fn(#(#args,)* #(#with),*).1));
                            quote!(let #g = #call;)
                        }
                    }
                });
                quote!({ #(#each)* #grads_pattern })
            }
        }
    };

    // The directional derivative: the reverse rule's gradient dotted with
    // the tangents, or the forward rule itself.
    let dots: Vec<TokenStream> = derivative
        .iter()
        .zip(&grads)
        .zip(&tangents)
        .map(|((p, g), t)| match p.class {
            Class::Float | Class::Unknown => quote!(#g * #t),
            _ => quote!(#rt::dot(&#g[..], &#t[..])),
        })
        .collect();
    let one_rule = cotangents(one.clone());
    let jvp_body = match kind {
        // One rule call per output, its unit cotangent.
        Kind::Vjp => {
            let per_output = (0..outputs).map(|j| {
                let rule = cotangents(unit(j));
                quote!({ let #grads_pattern = #rule; #(#dots)+* })
            });
            let tangent = if outputs == 1 {
                quote!(#(#per_output)*)
            } else {
                quote!((#(#per_output),*))
            };
            quote! {
                let __y = #name(#(#args),*);
                (__y, #tangent)
            }
        }
        Kind::Jvp => quote!(#rule_fn(#(#args,)* #(#tangents),*)),
    };

    // The hidden pullback: slices take their cotangents into the caller's
    // buffers, the rest are returned; slices and references are lent again.
    let lent: Vec<&parse::Param> = sig.params.iter().filter(|p| p.class.is_lent()).collect();
    let lent_params: Vec<TokenStream> = lent
        .iter()
        .map(|p| {
            let (n, t) = (&p.name, without_lifetime(&p.ty));
            quote!(#n: #t)
        })
        .collect();
    let lent_tys: Vec<TokenStream> = lent.iter().map(|p| without_lifetime(&p.ty)).collect();
    let mut sinks = Vec::new();
    let mut sink_tys = Vec::new();
    let mut adds = TokenStream::new();
    let mut returned = Vec::new();
    let mut returned_tys = Vec::new();
    for (p, g) in derivative.iter().zip(&grads) {
        match &p.sink_ty {
            Some(ty) => {
                let sink = format_ident!("__sink_{}", p.name);
                sinks.push(quote!(#sink: #ty));
                sink_tys.push(ty.clone());
                adds.extend(quote!(#rt::add_assign(#sink, &#g);));
            }
            None => {
                returned.push(quote!(#g));
                returned_tys.push(p.grad_ty.clone());
            }
        }
    }
    let returned = match returned.is_empty() {
        true => quote!(()),
        false => tuple_or_single(&returned),
    };
    let returned_ty = match returned_tys.is_empty() {
        true => quote!(()),
        false => tuple_or_single(&returned_tys),
    };
    let pb_rule = cotangents(quote!(__dy));
    let all_true = derivative.iter().map(|_| quote!(true));
    let k = derivative.len();
    let p_count = sig.params.len();
    let nones = sig
        .params
        .iter()
        .map(|_| quote!(::core::option::Option::None));
    let falses = sig.params.iter().map(|_| quote!(false));

    let jvp = format_ident!("{}_jvp", name);
    let vjp = format_ident!("{}_vjp", name);
    let pullback = format_ident!("{}_pullback", name);
    let grad = format_ident!("{}_grad", name);
    let value_and_grad = format_ident!("{}_value_and_grad", name);
    let h_jvp = format_ident!("__{}_jvp", name);
    let jvp_lanes = format_ident!("{}_jvp_lanes", name);
    let h_jvp_lanes = format_ident!("__{}_jvp_lanes", name);
    let h_pullback = format_ident!("__{}_pullback", name);
    let h_wrt = format_ident!("__{}_wrt", name);
    let h_fills = format_ident!("__{}_fills", name);
    let h_restores = format_ident!("__{}_restores", name);
    let h_marker = format_ident!("__annotate_{}_with_differentiable_or_custom_vjp", name);
    let doc = |what: &str| {
        format!(
            " {what} of [`{name}`]({name}), from its rule `{}`.\n\n Generated by `#[custom_vjp]`.",
            quote!(#rule).to_string().replace(' ', "")
        )
    };
    // `K` directions: the forward sibling once per lane.
    let lane_name = |n: &syn::Ident| format_ident!("__d_{}", n);
    let lane_names: Vec<syn::Ident> = derivative.iter().map(|p| lane_name(&p.name)).collect();
    let lane_params: Vec<TokenStream> = derivative
        .iter()
        .zip(&lane_names)
        .map(|(p, n)| {
            let ty = crate::lanes::lane_ty(&p.tangent_ty, scalar.as_ref());
            quote!(#n: #ty)
        })
        .collect();
    let lane_out = crate::lanes::lane_ty(&out_ty, scalar.as_ref());
    let k_lanes = crate::lanes::k();
    // A reverse rule of a scalar output gives the gradient in one call,
    // which every lane is dotted with; otherwise the forward sibling runs
    // once per lane.
    let per_lane = if kind == Kind::Vjp && outputs == 1 {
        let lane_dots = derivative
            .iter()
            .zip(&grads)
            .zip(&lane_names)
            .map(|((p, g), d)| match p.class {
                Class::Float | Class::Unknown => quote!(#d * #g),
                _ => quote!(#rt::lanes_dot(&#g[..], &#d[..])),
            });
        quote! {
            let __y = #name(#(#args),*);
            let #grads_pattern = #one_rule;
            (__y, #rt::Lanes::zero() #(+ #lane_dots)*)
        }
    } else {
        crate::lanes::per_lane(&sig, lane_name, |a| quote!(#h_jvp(#(#a),*)))
            .ok_or_else(|| syn::Error::new(name.span(), "unsupported output"))?
    };
    let d_jvp_lanes = doc("Forward mode with `K` directions at once (one JVP per lane)");
    let (d_jvp, d_vjp, d_pb, d_grad, d_vg) = (
        doc("Forward mode (JVP)"),
        doc("Reverse mode (VJP)"),
        doc("The value and the pullback"),
        doc("The gradient"),
        doc("The value and the gradient"),
    );
    let allow = quote!(#[allow(dead_code, clippy::all)]);
    // The lanes siblings take the number of lanes after the scalar.
    let mut lane_generics = sig.generics.clone();
    lane_generics
        .params
        .push(syn::parse_quote!(const #k_lanes: usize));
    let (lane_generics, _, _) = lane_generics.split_for_impl();
    let captures = match &scalar {
        Some(t) => quote!(use<#t>),
        None => quote!(use<>),
    };
    // The gradient, for a scalar output only.
    let gradients = if outputs == 1 {
        quote! {
            #[doc = #d_vg] #(#attrs)* #allow #[inline]
            #vis fn #value_and_grad #impl_generics (#(#params),*) -> (#out_ty, #grads_ty) #where_clause {
                let __y = #name(#(#args),*);
                (__y, #one_rule)
            }

            #[doc = #d_grad] #(#attrs)* #allow #[inline]
            #vis fn #grad #impl_generics (#(#params),*) -> #grads_ty #where_clause {
                #value_and_grad(#(#args),*).1
            }

        }
    } else {
        TokenStream::new()
    };
    Ok(quote! {
        #check

        #[doc = #d_jvp] #(#attrs)* #allow #[inline]
        #vis fn #jvp #impl_generics (#(#params,)* #(#tangent_params),*) -> (#out_ty, #out_ty) #where_clause { #jvp_body }

        #[doc(hidden)] #(#attrs)* #allow #[inline]
        #vis fn #h_jvp #impl_generics (#(#params,)* #(#tangent_params),*) -> (#out_ty, #out_ty) #where_clause { #jvp_body }

        #[doc = #d_jvp_lanes] #(#attrs)* #allow #[inline]
        #vis fn #jvp_lanes #lane_generics (#(#params,)* #(#lane_params),*) -> (#out_ty, #lane_out) #where_clause {
            #h_jvp_lanes(#(#args,)* #(#lane_names),*)
        }

        #[doc(hidden)] #(#attrs)* #allow #[inline]
        #vis fn #h_jvp_lanes #lane_generics (#(#params,)* #(#lane_params),*) -> (#out_ty, #lane_out) #where_clause {
            #per_lane
        }

        #[doc = #d_vjp] #(#attrs)* #allow #[inline]
        #vis fn #vjp #impl_generics (#(#params,)* __dy: #out_ty) -> (#out_ty, #grads_ty) #where_clause {
            let __y = #name(#(#args),*);
            (__y, #pb_rule)
        }

        #[doc = #d_pb] #(#attrs)* #allow #[inline]
        #vis fn #pullback #impl_generics (#(#params),*) -> (#out_ty, impl ::core::ops::FnOnce(#out_ty) -> #grads_ty) #where_clause {
            let __y = #name(#(#args),*);
            (__y, move |__dy: #out_ty| #pb_rule)
        }

        #gradients

        #[doc(hidden)] #(#attrs)* #allow #[inline]
        #vis fn #h_pullback #impl_generics (#(#params),*) -> (
            #out_ty,
            impl ::core::ops::FnOnce(#out_ty #(, #lent_tys)* #(, #sink_tys)*) -> #returned_ty + #captures,
        ) #where_clause {
            let __y = #name(#(#args),*);
            (__y, move |__dy: #out_ty #(, #lent_params)* #(, #sinks)*| {
                let #grads_pattern = #pb_rule;
                #adds
                #returned
            })
        }

        #[doc(hidden)] #(#attrs)* #[allow(non_upper_case_globals, dead_code)]
        #vis const #h_wrt: [bool; #k] = [#(#all_true),*];
        #[doc(hidden)] #(#attrs)* #[allow(non_upper_case_globals, dead_code)]
        #vis const #h_fills: [::core::option::Option<usize>; #p_count] = [#(#nones),*];
        #[doc(hidden)] #(#attrs)* #[allow(non_upper_case_globals, dead_code)]
        #vis const #h_restores: [bool; #p_count] = [#(#falses),*];
        #[doc(hidden)] #(#attrs)* #[allow(non_upper_case_globals, dead_code)]
        #vis const #h_marker: () = ();
    })
}

fn errors_fallback(attribute: &str) -> syn::Error {
    syn::Error::new(
        proc_macro2::Span::call_site(),
        format!("{attribute}: the signature is not supported"),
    )
}

/// A generic function's body runs at the scalars its siblings run at: at a
/// dual number (second order), a conversion to a primitive float drops the
/// dual part, and with it the second derivative. Refused, rather than a
/// silently wrong Hessian.
fn converts_to_primitive(f: &syn::ItemFn, attribute: &str) -> syn::Result<()> {
    struct Find(Option<TokenStream>);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_expr(&mut self, e: &'ast syn::Expr) {
            if self.0.is_some() {
                return;
            }
            match e {
                syn::Expr::MethodCall(m)
                    if ["to_f64", "to_f32"].contains(&m.method.to_string().as_str()) =>
                {
                    self.0 = Some(quote::ToTokens::to_token_stream(m));
                }
                // `T::to_f64(&x)`, `ToPrimitive::to_f64(&x)`.
                syn::Expr::Call(c)
                    if matches!(&*c.func, syn::Expr::Path(p)
                        if p.path.segments.last().is_some_and(|l| l.ident == "to_f64" || l.ident == "to_f32")) =>
                {
                    self.0 = Some(quote::ToTokens::to_token_stream(c));
                }
                syn::Expr::Cast(c)
                    if matches!(&*c.ty, syn::Type::Path(p)
                        if p.path.is_ident("f64") || p.path.is_ident("f32")) =>
                {
                    self.0 = Some(quote::ToTokens::to_token_stream(c));
                }
                _ => syn::visit::visit_expr(self, e),
            }
        }
    }
    let mut find = Find(None);
    syn::visit::Visit::visit_block(&mut find, &f.block);
    match find.0 {
        Some(at) => Err(syn::Error::new_spanned(
            at,
            format!(
                "{attribute} on a function generic over its scalar runs its body at dual \
                 numbers too (second order), where converting to a primitive float drops the \
                 derivative; compute in the scalar type, or write the function for `f64`"
            ),
        )),
        None => Ok(()),
    }
}
