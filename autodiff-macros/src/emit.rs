//! Phase 7, emit: IR to Rust tokens.
//!
//! Each instruction becomes one `let`, spanned with `quote_spanned!` at the
//! user's expression it comes from, so that a type error lands there.
//! Literals and outside constants are written inline where they are used.
//! Locals get the user's names (`a`, `a_1` after a reassignment) or derived
//! ones (`da` for a tangent, `ga` for an adjoint), chosen by a namer that
//! avoids keywords and every name the body refers to outside the function.
//! Everything from outside is reached by a fully qualified path, the runtime
//! through `::autodiff::__private`.

use std::collections::HashSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::activity;
use crate::ir::{Adapter, Block, Class, Function, Op, Range, UnOp, Value};
use crate::parse::{Output, Signature};

/// The suffixes of the siblings users call (`f_jvp`, ..), which the
/// wrappers of `results.rs` and `layout.rs` put in front of hidden ones.
pub(crate) const PUBLIC_SIBLINGS: &[&str] = &[
    "jvp",
    "jvp_lanes",
    "vjp",
    "grad",
    "value_and_grad",
    "pullback",
];

/// The path generated code reaches the runtime by.
fn runtime() -> TokenStream {
    quote!(::autodiff::__private)
}

/// The derivative functions of one differentiated function.
pub struct Derivatives {
    pub jvp: Function,
    pub vjp: Function,
    /// The VJP seeded with 1, when the output is a scalar: what
    /// `f_value_and_grad` computes.
    pub value_and_grad: Option<Function>,
    /// The same without the value: what `f_grad` computes.
    pub grad: Option<Function>,
    /// For each parameter, when a call overwrites it completely
    /// ([`crate::scratch::fills`]).
    pub fills: Vec<Option<usize>>,
}

pub fn emit(sig: &Signature, d: &Derivatives) -> TokenStream {
    let mut e = SigEmitter {
        sig,
        wrap: false,
        lanes: false,
    };
    e.wrap = e.wraps() && d.vjp.pullback.is_some();
    let mut out = TokenStream::new();
    out.extend(e.jvp(&d.jvp, false));
    out.extend(e.jvp(&d.jvp, true));
    let lanes = SigEmitter {
        sig,
        wrap: e.wrap,
        lanes: true,
    };
    out.extend(lanes.jvp_lanes(&d.jvp, false));
    out.extend(lanes.jvp_lanes(&d.jvp, true));
    out.extend(e.wrt_const());
    out.extend(e.fills_const(&d.fills));
    out.extend(e.restores_const());
    out.extend(e.marker());
    // A closure cannot take the cotangent of an output parameter as the
    // contract's pullback does: functions with one have no pullback.
    if sig.out_params().next().is_none() {
        out.extend(e.reverse(&d.vjp, Reverse::Pullback));
    }
    out.extend(e.call_pullback(&d.vjp));
    out.extend(e.reverse(&d.vjp, Reverse::Vjp));
    if let Some(f) = &d.value_and_grad {
        out.extend(e.reverse(f, Reverse::ValueAndGrad));
    }
    if let Some(f) = &d.grad {
        // The gradient without the value is emitted on its own only where
        // leaving the value out saves work at run time (a loop or a call
        // that only computes it).
        let saves_work = d
            .value_and_grad
            .as_ref()
            .is_some_and(|vg| work(f) < work(vg));
        if saves_work || !e.wrap {
            out.extend(e.reverse(f, Reverse::Grad));
        } else {
            out.extend(e.grad_wrapper(f));
        }
    }
    out
}

/// How much a function computes: its instructions, those in loops and
/// calls counting more.
fn work(f: &Function) -> usize {
    let mut total = 0;
    for region in f.regions() {
        f.walk(region, &mut |i| {
            total += match &f.inst(i).op {
                Op::For(..) | Op::While(..) | Op::Call(..) | Op::CallPullback(..) => 100,
                _ => 1,
            }
        });
    }
    total
}

enum Reverse {
    Pullback,
    Vjp,
    ValueAndGrad,
    Grad,
}

struct SigEmitter<'a> {
    sig: &'a Signature,
    /// Whether the public siblings call the hidden ones ([`Self::wraps`]).
    wrap: bool,
    /// Whether the items take the number of lanes `const __K: usize`.
    lanes: bool,
}

impl SigEmitter<'_> {
    fn sibling(&self, suffix: &str) -> Ident {
        format_ident!(
            "{}_{}",
            self.sig.ident,
            suffix,
            span = self.sig.ident.span()
        )
    }

    fn output_ty(&self) -> TokenStream {
        match &self.sig.output {
            Output::Scalar(t) => t.clone(),
            Output::Tuple(ts) => quote!((#(#ts),*)),
        }
    }

    fn grads_ty(&self) -> TokenStream {
        let tys: Vec<&TokenStream> = self.sig.active_params().map(|p| &p.grad_ty).collect();
        tuple_or_single(&tys)
    }

    fn active_names(&self) -> String {
        let names: Vec<String> = self
            .sig
            .active_params()
            .map(|p| format!("`{}`", p.name))
            .collect();
        names.join(", ")
    }

    /// The item: attributes, visibility, `fn name<generics>(params) -> ret where .. { body }`.
    fn item(
        &self,
        doc: String,
        name: Ident,
        params: TokenStream,
        ret: TokenStream,
        body: TokenStream,
    ) -> TokenStream {
        self.item_outliving(doc, name, params, ret, body, None)
    }

    /// [`Self::item`], with a lifetime parameter that the scalar type
    /// outlives (`<'a, T: Float> .. where T: 'a`) when one is given.
    fn item_outliving(
        &self,
        doc: String,
        name: Ident,
        params: TokenStream,
        ret: TokenStream,
        body: TokenStream,
        lifetime: Option<&syn::Lifetime>,
    ) -> TokenStream {
        let Signature {
            attrs,
            vis,
            generics,
            ..
        } = self.sig;
        let mut generics = generics.clone();
        if let (Some(l), Some(t)) = (lifetime, crate::parse::scalar_param()) {
            generics.params.insert(0, syn::parse_quote!(#l));
            generics
                .make_where_clause()
                .predicates
                .push(syn::parse_quote!(#t: #l));
        }
        if self.lanes {
            let k = crate::lanes::k();
            generics.params.push(syn::parse_quote!(const #k: usize));
        }
        let (impl_generics, _, where_clause) = generics.split_for_impl();
        // `-> ()` is left out, as a person writes it.
        let ret = if ret.to_string() == "()" {
            quote!()
        } else {
            quote!(-> #ret)
        };
        let doc = (!doc.is_empty()).then(|| quote!(#[doc = #doc]));
        let primal = self.primal_path();
        quote! {
            #doc
            #(#attrs)*
            #[allow(dead_code, clippy::all)]
            #vis fn #name #impl_generics (#params) #ret #where_clause {
                #primal
                #body
            }
        }
    }

    /// `let _ = f;`: each sibling names the function it derives from, so
    /// that a function used only through its derivatives (`f_grad(x)`,
    /// never `f(x)`) is not reported unused. (rustc takes an item that
    /// allows `dead_code`, as each sibling does, for used, so a function
    /// whose siblings are all unused is not reported either: docs/api.md.)
    /// Nothing where rustc could not name it: a function with `impl Trait`
    /// parameters takes no turbofish.
    fn primal_path(&self) -> TokenStream {
        let name = &self.sig.ident;
        let generics = &self.sig.generics;
        if self
            .sig
            .params
            .iter()
            .any(|p| p.ty.to_string().contains("impl "))
        {
            return TokenStream::new();
        }
        let args: Vec<Ident> = generics
            .params
            .iter()
            .filter_map(|p| match p {
                syn::GenericParam::Type(t) => Some(t.ident.clone()),
                syn::GenericParam::Const(c) => Some(c.ident.clone()),
                syn::GenericParam::Lifetime(_) => None,
            })
            .collect();
        let turbofish = match args.is_empty() {
            true => quote!(),
            false => quote!(::<#(#args),*>),
        };
        let path = match self.sig.receiver.is_some() || self.sig.in_impl {
            true => quote!(Self::#name #turbofish),
            false => quote!(#name #turbofish),
        };
        quote!(let _ = #path;)
    }

    /// The primal parameters: the entry block's first parameters.
    fn primal_params(&self, fe: &FnEmitter) -> Vec<TokenStream> {
        let params = &fe.f.block(fe.f.entry).params;
        let mut out = Vec::new();
        let mut ps = params.iter();
        if let Some(r) = &self.sig.receiver {
            ps.next();
            out.push(r.clone());
        }
        for (p, v) in self.sig.params.iter().zip(ps) {
            let name = fe.atom(*v);
            let ty = &p.ty;
            out.push(quote!(#name: #ty));
        }
        out
    }

    /// The JVP; `for_calls` makes the sibling callers use, which takes a
    /// tangent for every float or slice parameter (ignoring those outside
    /// `wrt`).
    fn jvp(&self, f: &Function, for_calls: bool) -> TokenStream {
        let fe = FnEmitter::new(f, self.sig);
        let mut params = self.primal_params(&fe);
        let entry = f.block(f.entry);
        // After the primal parameters: the tangents of the active ones, then
        // of the output parameters.
        let offset = self.sig.params.len() + usize::from(self.sig.receiver.is_some());
        let mut tangents = entry.params[offset..].iter();
        // What the public JVP passes the hidden one for each tangent.
        let mut passed = Vec::new();
        for p in &self.sig.params {
            let ty = &p.tangent_ty;
            if p.active {
                if let Some(&v) = tangents.next() {
                    let name = fe.atom(v);
                    params.push(quote!(#name: #ty));
                    passed.push(name);
                }
            } else if p.class.has_derivative_in_calls() {
                // Outside `wrt`: ignored by the hidden JVP.
                passed.push(match (&p.sink_ty, &p.array_len) {
                    (Some(_), _) => quote!(&[]),
                    (None, Some(n)) => {
                        let zero = float_lit(quote!(0.0));
                        quote!([#zero; #n])
                    }
                    (None, None) => float_lit(quote!(0.0)),
                });
            }
            if !p.active && for_calls && p.class.has_derivative_in_calls() {
                let name =
                    format_ident!("_{}_tangent", p.name.to_string().trim_start_matches("r#"));
                params.push(quote!(#name: #ty));
            }
        }
        for (p, &v) in self.sig.out_params().zip(tangents) {
            let name = fe.atom(v);
            let ty = &p.tangent_ty;
            params.push(quote!(#name: #ty));
        }
        let body = fe.block(f.entry);
        let outputs = entry.ret.len() / 2;
        let value = fe.shaped(&entry.ret[..outputs]);
        let tangent = fe.shaped(&entry.ret[outputs..]);
        let out_ty = self.output_ty();
        // A function returning `()` (it writes output parameters): so does
        // its JVP, which writes their tangents.
        let (ret, tail) = if outputs == 0 {
            (quote!(()), quote!())
        } else {
            (quote!((#out_ty, #out_ty)), quote!((#value, #tangent)))
        };
        let doc = format!(
            " Forward mode (JVP) of [`{0}`](Self::{0}): its value and its derivative along the tangents of {1}.\n\n Generated by `#[differentiable]`.",
            self.sig.ident,
            self.active_names()
        );
        if for_calls {
            return self.hidden_item(
                sibling_ident(&self.sig.ident, Sibling::CallJvp),
                quote!(#(#params),*),
                ret,
                quote!(#body #tail),
                None,
            );
        }
        let doc = self.fix_doc(doc);
        if self.wrap {
            // The hidden JVP with zero tangents outside `wrt`: the same
            // code once inlined.
            let hidden = sibling_ident(&self.sig.ident, Sibling::CallJvp);
            let args = self.arg_names(&fe, f);
            let item = self.item(
                doc,
                self.sibling("jvp"),
                quote!(#(#params),*),
                ret,
                quote!(#hidden(#(#args,)* #(#passed),*)),
            );
            return quote!(#[inline] #item);
        }
        self.item(
            doc,
            self.sibling("jvp"),
            quote!(#(#params),*),
            ret,
            quote!(#body #tail),
        )
    }

    /// `f_jvp_lanes` (or, `for_calls`, `__f_jvp_lanes`): the JVP with `K`
    /// tangent directions at once, each tangent `Lanes<T, K>`
    /// ([`crate::lanes`]). Where the lanes cannot be inferred, the scalar
    /// JVP's body as a closure called once per lane.
    fn jvp_lanes(&self, f: &Function, for_calls: bool) -> TokenStream {
        let scalar = crate::parse::scalar_param();
        let lane_ty = |t: &TokenStream| crate::lanes::lane_ty(t, scalar.as_ref());
        let mut fe = FnEmitter::new(f, self.sig);
        let entry = f.block(f.entry);
        let offset = self.sig.params.len() + usize::from(self.sig.receiver.is_some());
        let outputs = entry.ret.len() / 2;
        let seeds = crate::lanes::seeds(f, self.sig);
        let out_ty = self.output_ty();
        let lane_out = lane_ty(&out_ty);
        let ret = if outputs == 0 {
            quote!(())
        } else {
            quote!((#out_ty, #lane_out))
        };
        let name = if for_calls {
            sibling_ident(&self.sig.ident, Sibling::CallJvpLanes)
        } else {
            self.sibling("jvp_lanes")
        };
        let doc = self.fix_doc(format!(
            " Forward mode with `K` directions at once (vector JVP) of [`{0}`](Self::{0}): its value and its derivatives along `K` tangents of {1}, each tangent float a `Lanes<_, K>` of `K` lanes, one per direction. A Jacobian with `n` columns takes `n / K` calls.\n\n Generated by `#[differentiable]`.",
            self.sig.ident,
            self.active_names()
        ));
        let emit = |params: Vec<TokenStream>, body: TokenStream| {
            if for_calls {
                self.hidden_item(name.clone(), quote!(#(#params),*), ret.clone(), body, None)
            } else {
                let item = self.item(
                    doc.clone(),
                    name.clone(),
                    quote!(#(#params),*),
                    ret.clone(),
                    body,
                );
                quote!(#[allow(unused_variables)] #item)
            }
        };
        // The public sibling calls the hidden one where it can name it: in
        // a free function, or through `self`.
        let generic = self
            .sig
            .generics
            .params
            .iter()
            .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
        if !for_calls && (self.sig.receiver.is_some() || !generic) {
            let method = sibling_ident(&self.sig.ident, Sibling::CallJvpLanes);
            // An associated function names its sibling through `Self`.
            let hidden = match self.sig.in_impl {
                true => quote!(Self::#method),
                false => quote!(#method),
            };
            let mut params = self.primal_params(&fe);
            let mut args = self.arg_names(&fe, f);
            let mut tangents = entry.params[offset..].iter();
            for p in &self.sig.params {
                if !p.class.has_derivative_in_calls() {
                    continue;
                }
                if p.active {
                    let Some(&v) = tangents.next() else { continue };
                    let d = fe.atom(v);
                    let ty = lane_ty(&p.tangent_ty);
                    params.push(quote!(#d: #ty));
                    args.push(d);
                } else {
                    args.push(crate::lanes::zero_lanes(
                        p.array_len.as_ref(),
                        p.sink_ty.is_some(),
                    ));
                }
            }
            for (p, &v) in self.sig.out_params().zip(tangents) {
                let d = fe.atom(v);
                let ty = lane_ty(&p.tangent_ty);
                params.push(quote!(#d: #ty));
                args.push(d);
            }
            let call = match (&self.sig.receiver, args.split_first()) {
                (Some(_), Some((recv, rest))) => quote!(#recv.#method(#(#rest),*)),
                _ => quote!(#hidden(#(#args),*)),
            };
            let item = emit(params, call);
            return quote!(#[inline] #item);
        }
        match crate::lanes::infer(f, &seeds) {
            Some(lanes) => {
                fe.lanes = Some(lanes);
                let mut params = self.primal_params(&fe);
                params.extend(self.tangent_params(f, &fe, for_calls, lane_ty));
                let body = fe.block(f.entry);
                let tail = if outputs == 0 {
                    quote!()
                } else {
                    let value = fe.shaped(&entry.ret[..outputs]);
                    let tangents: Vec<TokenStream> = entry.ret[outputs..]
                        .iter()
                        .map(|&v| fe.atom_lane(v))
                        .collect();
                    let tangent = tuple_or_single(&tangents);
                    quote!((#value, #tangent))
                };
                emit(params, quote!(#body #tail))
            }
            None => match self.per_lane(f, &fe, for_calls) {
                Some((params, body)) => emit(params, body),
                None => TokenStream::new(),
            },
        }
    }

    /// The JVP's tangent parameters, as the entry block names them, typed
    /// by `ty` from the scalar tangent type: the active parameters', then
    /// (`for_calls`) `_x_tangent` for the others a caller passes, then the
    /// output parameters'.
    fn tangent_params(
        &self,
        f: &Function,
        fe: &FnEmitter,
        for_calls: bool,
        ty: impl Fn(&TokenStream) -> TokenStream,
    ) -> Vec<TokenStream> {
        let entry = f.block(f.entry);
        let offset = self.sig.params.len() + usize::from(self.sig.receiver.is_some());
        let mut tangents = entry.params[offset..].iter();
        let mut out = Vec::new();
        for p in &self.sig.params {
            let t = ty(&p.tangent_ty);
            if p.active {
                if let Some(&v) = tangents.next() {
                    let name = fe.atom(v);
                    out.push(quote!(#name: #t));
                }
            } else if for_calls && p.class.has_derivative_in_calls() {
                let name =
                    format_ident!("_{}_tangent", p.name.to_string().trim_start_matches("r#"));
                out.push(quote!(#name: #t));
            }
        }
        for (p, &v) in self.sig.out_params().zip(tangents) {
            let (name, t) = (fe.atom(v), ty(&p.tangent_ty));
            out.push(quote!(#name: #t));
        }
        out
    }

    /// The parameters and body of a lanes JVP that runs the scalar JVP's
    /// body, as a closure (generic parameters and `self` stay in scope),
    /// once per lane; `None` where the output has a shape lanes do not
    /// gather.
    fn per_lane(
        &self,
        f: &Function,
        fe: &FnEmitter,
        for_calls: bool,
    ) -> Option<(Vec<TokenStream>, TokenStream)> {
        let scalar = crate::parse::scalar_param();
        let lane_ty = |t: &TokenStream| crate::lanes::lane_ty(t, scalar.as_ref());
        let entry = f.block(f.entry);
        let offset = self.sig.params.len() + usize::from(self.sig.receiver.is_some());
        let outputs = entry.ret.len() / 2;
        let out_ty = self.output_ty();
        let mut closure_params: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .zip(&entry.params[offset - self.sig.params.len()..offset])
            .map(|(p, &v)| {
                let (name, ty) = (fe.atom(v), &p.ty);
                quote!(#name: #ty)
            })
            .collect();
        closure_params.extend(self.tangent_params(f, fe, true, |t| t.clone()));
        let body = fe.block(f.entry);
        let tail = if outputs == 0 {
            quote!()
        } else {
            let value = fe.shaped(&entry.ret[..outputs]);
            let tangent = fe.shaped(&entry.ret[outputs..]);
            quote!((#value, #tangent))
        };
        let scalar_ret = if outputs == 0 {
            quote!(())
        } else {
            quote!((#out_ty, #out_ty))
        };
        let tangent_name =
            |n: &Ident| format_ident!("__d_{}", n.to_string().trim_start_matches("r#"));
        let mut params: Vec<TokenStream> = self.sig.receiver.iter().cloned().collect();
        let mut zeros = TokenStream::new();
        for p in &self.sig.params {
            let (n, ty) = (&p.name, &p.ty);
            params.push(quote!(#n: #ty));
        }
        for p in self
            .sig
            .params
            .iter()
            .filter(|p| p.class.has_derivative_in_calls())
        {
            let d = tangent_name(&p.name);
            if p.active || for_calls {
                let ty = lane_ty(&p.tangent_ty);
                params.push(quote!(#d: #ty));
            } else {
                let zero = crate::lanes::zero_lanes(p.array_len.as_ref(), p.sink_ty.is_some());
                zeros.extend(quote!(let #d = #zero;));
            }
        }
        for p in self.sig.out_params() {
            let d = tangent_name(&p.name);
            let ty = lane_ty(&p.tangent_ty);
            params.push(quote!(#d: #ty));
        }
        let per_lane =
            crate::lanes::per_lane(self.sig, tangent_name, |args| quote!(__jvp(#(#args),*)));
        let per_lane = per_lane?;
        let body = quote! {
            #zeros
            #[allow(unused_mut)]
            let mut __jvp = |#(#closure_params),*| -> #scalar_ret { #body #tail };
            #per_lane
        };
        Some((params, body))
    }

    /// A sibling only generated code calls: hidden from the docs; with a
    /// lifetime the scalar outlives, as [`Self::item_outliving`].
    fn hidden_item(
        &self,
        name: Ident,
        params: TokenStream,
        ret: TokenStream,
        body: TokenStream,
        lifetime: Option<&syn::Lifetime>,
    ) -> TokenStream {
        let item = self.item_outliving(String::new(), name, params, ret, body, lifetime);
        quote!(#[doc(hidden)] #[allow(unused_variables, non_snake_case)] #item)
    }

    /// A hidden constant array next to the function, `[elem; items.len()]`.
    fn hidden_const(
        &self,
        sibling: Sibling,
        elem: TokenStream,
        items: Vec<TokenStream>,
    ) -> TokenStream {
        let n = items.len();
        let name = sibling_ident(&self.sig.ident, sibling);
        let Signature { attrs, vis, .. } = self.sig;
        quote! {
            #[doc(hidden)]
            #(#attrs)*
            #[allow(non_upper_case_globals, dead_code)]
            #vis const #name: [#elem; #n] = [#(#items),*];
        }
    }

    /// The marker a caller names before it reaches the other siblings.
    fn marker(&self) -> TokenStream {
        let name = sibling_ident(&self.sig.ident, Sibling::Marker);
        let Signature { attrs, vis, .. } = self.sig;
        quote! {
            #[doc(hidden)]
            #(#attrs)*
            #[allow(non_upper_case_globals, dead_code)]
            #vis const #name: () = ();
        }
    }

    /// `__f_wrt`: whether each float or slice parameter is in `wrt`.
    fn wrt_const(&self) -> TokenStream {
        let params = self.sig.params.iter();
        let flags = params
            .filter(|p| p.class.has_derivative_in_calls())
            .map(|p| {
                if p.active {
                    quote!(true)
                } else {
                    quote!(false)
                }
            })
            .collect();
        self.hidden_const(Sibling::Wrt, quote!(bool), flags)
    }

    /// `__f_fills`: for each parameter (the receiver aside), `Some(m)`
    /// when a call overwrites it completely before reading it, provided
    /// that it is as long as the measure of parameter `m` (a slice's
    /// length, an integer's value).
    fn fills_const(&self, fills: &[Option<usize>]) -> TokenStream {
        let items = fills
            .iter()
            .map(|f| match f {
                Some(m) => quote!(::core::option::Option::Some(#m)),
                None => quote!(::core::option::Option::None),
            })
            .collect();
        self.hidden_const(Sibling::Fills, quote!(::core::option::Option<usize>), items)
    }

    /// `__f_restores`: for each parameter (the receiver aside), whether the
    /// hidden pullback leaves the `&mut` array lent to it as it was before
    /// the call: those the function reads (or, for `&mut` data, writes) are
    /// read back, so every write is saved and undone by the reverse sweep.
    fn restores_const(&self) -> TokenStream {
        let flags = self
            .sig
            .params
            .iter()
            .map(|p| {
                if p.restores {
                    quote!(true)
                } else {
                    quote!(false)
                }
            })
            .collect();
        self.hidden_const(Sibling::Restores, quote!(bool), flags)
    }

    /// A reverse-mode sibling: the VJP function emitted as a closure
    /// (`pullback`) or inline, with the seed a parameter (`vjp`) or the
    /// literal 1 already folded in (`value_and_grad`, `grad`).
    fn reverse(&self, f: &Function, kind: Reverse) -> TokenStream {
        let fe = FnEmitter::new(f, self.sig);
        let mut params = self.primal_params(&fe);
        let pb = f.pullback.unwrap_or(f.entry);
        let forward = fe.block(f.entry);
        let reverse = fe.block(pb);
        let value = fe.shaped(&f.block(f.entry).ret);
        let grads = fe.shaped(&f.block(pb).ret);
        // The pullback's parameters: the output cotangents, then those of the
        // output parameters.
        let n_outputs = f.block(f.entry).ret.len();
        let pb_params = &f.block(pb).params;
        let seed = fe.pattern(&pb_params[..n_outputs.min(pb_params.len())]);
        let out_cotangents: Vec<TokenStream> = self
            .sig
            .out_params()
            .zip(pb_params.iter().skip(n_outputs))
            .map(|(p, &v)| {
                let (name, ty) = (fe.atom(v), &p.grad_ty);
                quote!(#name: #ty)
            })
            .collect();
        let out_ty = self.output_ty();
        let grads_ty = self.grads_ty();
        let (name, wrt) = (&self.sig.ident, self.active_names());
        // The reverse sweep puts a parameter the function reads and writes
        // back as it was; the VJP leaves it as the function does.
        let (keep, put_back) = self.keep_in_out(&fe, f);
        let reverse = quote!(#keep #reverse #put_back);
        // Calling the hidden pullback costs nothing once inlined: the VJP,
        // the value and gradient and the public pullback share its reverse
        // sweep instead of repeating it.
        let wrapped = self.wrap.then(|| self.through_pullback(&fe, f));
        let (suffix, doc, ret, mut body) = match kind {
            Reverse::Pullback => (
                "pullback",
                format!(
                    " The value of [`{name}`](Self::{name}) and its pullback: a closure from an output cotangent to the cotangents of {wrt}.\n\n A caller's reverse mode uses it, so that `{name}` runs once and is not recomputed."
                ),
                quote!((#out_ty, impl ::core::ops::FnOnce(#out_ty) -> #grads_ty)),
                quote!(#forward (#value, move |#seed: #out_ty| { #reverse #grads })),
            ),
            Reverse::Vjp if n_outputs == 0 => {
                // Only output parameters: their cotangents in, the gradients out.
                params.extend(out_cotangents);
                (
                    "vjp",
                    format!(
                        " Reverse mode (VJP) of [`{name}`](Self::{name}): the cotangents of {wrt} for the cotangents of the output parameters."
                    ),
                    grads_ty,
                    quote!(#forward #reverse #grads),
                )
            }
            Reverse::Vjp => {
                params.push(quote!(#seed: #out_ty));
                params.extend(out_cotangents);
                (
                    "vjp",
                    format!(
                        " Reverse mode (VJP) of [`{name}`](Self::{name}): its value and the cotangents of {wrt} for the output cotangent."
                    ),
                    quote!((#out_ty, #grads_ty)),
                    quote!(#forward #reverse (#value, #grads)),
                )
            }
            Reverse::ValueAndGrad => (
                "value_and_grad",
                format!(
                    " The value of [`{name}`](Self::{name}) and its gradient with respect to {wrt}."
                ),
                quote!((#out_ty, #grads_ty)),
                quote!(#forward #reverse (#value, #grads)),
            ),
            Reverse::Grad => (
                "grad",
                format!(" The gradient of [`{name}`](Self::{name}) with respect to {wrt}."),
                grads_ty,
                quote!(#forward #reverse #grads),
            ),
        };
        if let Some((call, apply, grads)) = wrapped.clone() {
            let seed = self.seed_name();
            body = match kind {
                Reverse::Pullback => quote! {
                    let (__value, __pb) = #call;
                    (__value, move |#seed: #out_ty| { #apply #grads })
                },
                Reverse::Vjp => quote!(let (__value, __pb) = #call; #apply (__value, #grads)),
                Reverse::ValueAndGrad => {
                    let vjp = self.sibling("vjp");
                    let args = self.arg_names(&fe, f);
                    {
                        let one = float_lit(quote!(1.0));
                        quote!(#vjp(#(#args,)* #one))
                    }
                }
                Reverse::Grad => body,
            };
            if let Reverse::Vjp = kind {
                // The seed's name in the signature.
                params.pop();
                params.push(quote!(#seed: #out_ty));
            }
        }
        let doc = self.fix_doc(format!("{doc}\n\n Generated by `#[differentiable]`."));
        let item = self.item(doc, self.sibling(suffix), quote!(#(#params),*), ret, body);
        match (wrapped.is_some(), kind) {
            (true, Reverse::Grad) | (false, _) => item,
            (true, _) => quote!(#[inline] #item),
        }
    }

    /// Whether the public reverse siblings call the hidden pullback: for a
    /// free, non-generic function without output parameters (whose
    /// siblings keep a calling convention of their own).
    fn wraps(&self) -> bool {
        self.sig.receiver.is_none()
            && !self.sig.in_impl
            && self.sig.generics.params.is_empty()
            && self.sig.out_params().next().is_none()
            && self
                .sig
                .params
                .iter()
                .all(|p| !p.in_out && p.class != Class::Array)
    }

    /// The names of the primal parameters, as the sibling's signature has
    /// them.
    fn arg_names(&self, fe: &FnEmitter, f: &Function) -> Vec<TokenStream> {
        let n = self.sig.params.len() + usize::from(self.sig.receiver.is_some());
        f.block(f.entry).params[..n]
            .iter()
            .map(|&v| fe.atom(v))
            .collect()
    }

    /// The call of the hidden pullback, the statements that apply it to
    /// `dr` with fresh gradient buffers for the active slices, and the
    /// gradients of the active parameters.
    fn through_pullback(
        &self,
        fe: &FnEmitter,
        f: &Function,
    ) -> (TokenStream, TokenStream, TokenStream) {
        let hidden = sibling_ident(&self.sig.ident, Sibling::CallPullback);
        let args = self.arg_names(fe, f);
        let call = quote!(#hidden(#(#args),*));
        let (mut lent, mut sinks, mut buffers) = (Vec::new(), Vec::new(), TokenStream::new());
        let (mut returned, mut grads) = (Vec::new(), Vec::new());
        for (p, arg) in self.sig.params.iter().zip(&args) {
            if p.class.is_lent() {
                lent.push(arg.clone());
            }
            if !p.class.has_derivative_in_calls() {
                continue;
            }
            let g = format_ident!("__g_{}", p.name.to_string().trim_start_matches("r#"));
            match (&p.sink_ty, p.active) {
                (Some(_), true) => {
                    let zero = float_lit(quote!(0.0));
                    buffers.extend(quote!(let mut #g = ::std::vec![#zero; #arg.len()];));
                    sinks.push(quote!(&mut #g[..]));
                    grads.push(quote!(#g));
                }
                // Outside `wrt`: the pullback does not touch its buffer.
                (Some(_), false) => sinks.push(quote!(&mut [])),
                (None, active) => {
                    returned.push(quote!(#g));
                    if active {
                        grads.push(quote!(#g));
                    }
                }
            }
        }
        let returned = match returned.is_empty() {
            true => quote!(()),
            false => tuple_or_single(&returned),
        };
        let seed = self.seed_name();
        let apply = quote!(#buffers let #returned = __pb(#seed #(, #lent)* #(, #sinks)*););
        (call, apply, tuple_or_single(&grads))
    }

    /// The output cotangent's name in a wrapper: `dr`, unless a parameter
    /// has that name. (The wrapper's locals start with `__`.)
    fn seed_name(&self) -> Ident {
        if self.sig.params.iter().any(|p| p.name == "dr") {
            format_ident!("__dr")
        } else {
            format_ident!("dr")
        }
    }

    /// `f_grad` as the value and gradient without the value.
    fn grad_wrapper(&self, f: &Function) -> TokenStream {
        let fe = FnEmitter::new(f, self.sig);
        let params = self.primal_params(&fe);
        let args = self.arg_names(&fe, f);
        let vg = self.sibling("value_and_grad");
        let name = &self.sig.ident;
        let doc = self.fix_doc(format!(
            " The gradient of [`{name}`](Self::{name}) with respect to {}.\n\n Generated by `#[differentiable]`.",
            self.active_names()
        ));
        let item = self.item(
            doc,
            self.sibling("grad"),
            quote!(#(#params),*),
            self.grads_ty(),
            quote!(#vg(#(#args),*).1),
        );
        quote!(#[inline] #item)
    }

    /// Whether the function calls itself (`f(..)`, `Self::f(..)`,
    /// `self.f(..)`) in reverse mode.
    fn calls_itself(&self, f: &Function) -> bool {
        f.insts.iter().any(|d| match &d.op {
            Op::CallPullback(c, _) => {
                c.name == self.sig.ident
                    && (c.method || c.prefix.text.is_empty() || c.prefix.text.starts_with("Self"))
            }
            _ => false,
        })
    }

    /// A copy of each in-and-out parameter as the function leaves it, and
    /// the statements that write it back.
    fn keep_in_out(&self, fe: &FnEmitter, f: &Function) -> (TokenStream, TokenStream) {
        let offset = usize::from(self.sig.receiver.is_some());
        let (mut keep, mut put_back) = (TokenStream::new(), TokenStream::new());
        for (p, &v) in self
            .sig
            .params
            .iter()
            .zip(&f.block(f.entry).params[offset..])
        {
            if p.restores {
                let name = fe.atom(v);
                let kept = format_ident!("{}_after", p.name.to_string().trim_start_matches("r#"));
                keep.extend(quote!(let #kept = #name.to_vec();));
                put_back.extend(quote!(#name.copy_from_slice(&#kept);));
            }
        }
        (keep, put_back)
    }

    /// `__f_pullback`: the value and a closure from the output cotangent and
    /// one buffer per slice parameter, which it adds the slice's cotangent
    /// into, to the cotangents of the other float parameters (zero for
    /// those outside `wrt`). A caller lends its own gradient buffers: no
    /// call allocates one.
    fn call_pullback(&self, f: &Function) -> TokenStream {
        let Some(pb) = f.pullback else {
            return TokenStream::new();
        };
        let grads = &f.block(pb).ret;
        // The gradient buffer of each active slice: a parameter of the
        // closure instead of zeros it allocates.
        let mut sinks = HashSet::new();
        for (p, &g) in self.sig.active_params().zip(grads) {
            if p.class == Class::Slice && matches!(f.def_op(g), Some(Op::Zeros(..))) {
                sinks.insert(g);
            }
        }
        // The buffers of the output parameters, in order: the pullback's
        // parameters after the output cotangents, or what copies them.
        let n_outputs = f.block(f.entry).ret.len();
        let mut out_buffers = Vec::new();
        for &seed in &f.block(pb).params[n_outputs..] {
            let copy = f.block(pb).insts.iter().find_map(|&i| match &f.inst(i).op {
                Op::OwnCopy(s) if *s == seed => Some(f.inst(i).results[0]),
                _ => None,
            });
            out_buffers.push(copy.unwrap_or(seed));
        }
        sinks.extend(out_buffers.iter().copied());
        let mut fe = FnEmitter::new(f, self.sig);
        fe.sinks = sinks;
        let params = self.primal_params(&fe);
        let forward = fe.block(f.entry);
        let reverse = fe.block(pb);
        let value = fe.shaped(&f.block(f.entry).ret);
        let n_outputs = f.block(f.entry).ret.len();
        let seed = fe.pattern(&f.block(pb).params[..n_outputs]);
        let out_ty = self.output_ty();

        // The slices and references the reverse sweep reads, taken again
        // rather than kept: the closure borrows nothing of its caller's.
        let offset = usize::from(self.sig.receiver.is_some());
        let mut lent_params = Vec::new();
        let mut lent_tys = Vec::new();
        for (p, &v) in self
            .sig
            .params
            .iter()
            .zip(&f.block(f.entry).params[offset..])
        {
            if p.class.is_lent() || p.class == Class::Array {
                let name = fe.atom(v);
                let ty = without_lifetime(&p.ty);
                lent_params.push(quote!(#name: #ty));
                lent_tys.push(ty);
            }
        }
        let mut active_grads = grads.iter();
        let mut sink_params = Vec::new();
        let mut sink_tys = Vec::new();
        let mut after = TokenStream::new();
        let mut returned = Vec::new();
        let mut returned_tys = Vec::new();
        let rt = runtime();
        let mut out_buffers = out_buffers.into_iter();
        for p in self.sig.params.iter() {
            if p.class == Class::Array {
                if let (Some(buf), Some(sink_ty)) = (out_buffers.next(), &p.sink_ty) {
                    let name = fe.atom(buf);
                    sink_params.push(quote!(#name: #sink_ty));
                    sink_tys.push(sink_ty.clone());
                }
                continue;
            }
            if !p.class.has_derivative_in_calls() {
                continue;
            }
            let grad = if p.active {
                active_grads.next().copied()
            } else {
                None
            };
            if let Some(sink_ty) = &p.sink_ty {
                let name = match grad {
                    Some(g) if fe.sinks.contains(&g) => fe.atom(g),
                    Some(g) => {
                        // Not a buffer of its own: added into the sink.
                        let name =
                            format_ident!("{}_sink", p.name.to_string().trim_start_matches("r#"));
                        let g = fe.atom(g);
                        after.extend(quote!(#rt::add_assign(#name, &#g);));
                        quote!(#name)
                    }
                    None => {
                        let name =
                            format_ident!("_{}_sink", p.name.to_string().trim_start_matches("r#"));
                        quote!(#name)
                    }
                };
                sink_params.push(quote!(#name: #sink_ty));
                sink_tys.push(sink_ty.clone());
            } else {
                returned.push(match (grad, &p.array_len) {
                    (Some(g), _) => fe.atom(g),
                    (None, Some(n)) => {
                        let zero = float_lit(quote!(0.0));
                        quote!([#zero; #n])
                    }
                    (None, None) => float_lit(quote!(0.0)),
                });
                returned_tys.push(p.grad_ty.clone());
            }
        }
        // Only slices: the closure returns `()`, written as nothing.
        let grads = match returned.is_empty() {
            true => quote!(),
            false => tuple_or_single(&returned),
        };
        let grads_ty = tuple_or_single(&returned_tys);
        // The closure captures values only (`use<>`); a method's cannot say
        // so, for the `impl`'s type parameters are not known here.
        let captures = match (&self.sig.receiver, crate::parse::scalar_param()) {
            (None, Some(t)) => quote!(+ use<#t>),
            (None, None) => quote!(+ use<>),
            (Some(_), _) => quote!(),
        };
        let closure_ty =
            quote!(::core::ops::FnOnce(#out_ty #(, #lent_tys)* #(, #sink_tys)*) -> #grads_ty);
        let closure = quote!(move |#seed: #out_ty #(, #lent_params)* #(, #sink_params)*| { #reverse #after #grads });
        // A function that calls itself holds its own pullback: the type
        // would be infinite, so the closure is boxed (one allocation per
        // call). Generic over its scalar, the box lives as long as the
        // scalar type may (`dyn .. + 'static` would need `T: 'static`).
        let lifetime: syn::Lifetime = syn::parse_quote!('__scalar);
        let boxed = self.calls_itself(f);
        let bound = match crate::parse::scalar_param() {
            Some(_) => quote!(+ #lifetime),
            None => quote!(),
        };
        let (ret, closure) = if boxed {
            (
                quote!((#out_ty, ::std::boxed::Box<dyn #closure_ty #bound>)),
                quote!(::std::boxed::Box::new(#closure)),
            )
        } else {
            (quote!((#out_ty, impl #closure_ty #captures)), closure)
        };
        let body = quote!(#forward (#value, #closure));
        self.hidden_item(
            sibling_ident(&self.sig.ident, Sibling::CallPullback),
            quote!(#(#params),*),
            ret,
            body,
            boxed.then_some(&lifetime),
        )
    }

    /// A free function's docs link to it directly; a method's through `Self`.
    fn fix_doc(&self, doc: String) -> String {
        if self.sig.receiver.is_some() {
            doc
        } else {
            doc.replace("(Self::", "(")
        }
    }
}

/// A reference type without its lifetime (`&'a [f64]` is `&[f64]`): the
/// type of a closure parameter, for any lifetime.
pub(crate) fn without_lifetime(ty: &TokenStream) -> TokenStream {
    match syn::parse2::<syn::Type>(ty.clone()) {
        Ok(syn::Type::Reference(mut r)) => {
            r.lifetime = None;
            quote!(#r)
        }
        _ => ty.clone(),
    }
}

pub(crate) fn tuple_or_single<T: quote::ToTokens>(items: &[T]) -> TokenStream {
    match items {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    }
}

const KEYWORDS: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "crate",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "async",
    "await",
    "dyn",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "try",
    "gen",
    "union",
    "macro_rules",
    "raw",
    "safe",
];

/// Chooses the name of every value bound to one, in program order.
struct Namer<'a> {
    f: &'a Function,
    uses: &'a [usize],
    inline: &'a [bool],
    taken: HashSet<String>,
    names: Vec<Option<Ident>>,
    temps: usize,
}

impl Namer<'_> {
    fn block(&mut self, block: Block) {
        let f = self.f;
        for &p in &f.block(block).params {
            self.name(p, self.uses[p.index()] == 0);
        }
        for &inst in &f.block(block).insts {
            let d = f.inst(inst);
            match &d.op {
                // A loop's carried values are one mutable variable each:
                // the body parameter, updated in place, is the result too.
                Op::For(_, _, body) => {
                    let params = &f.block(*body).params;
                    self.name(params[0], self.uses[params[0].index()] == 0);
                    for (&p, &r) in params[1..].iter().zip(&d.results) {
                        let unused = self.uses[p.index()] == 0 && self.uses[r.index()] == 0;
                        self.name(p, unused);
                        self.names[r.index()] = self.names[p.index()].clone();
                    }
                    // The parameters are named: only the body's values remain.
                    self.block(*body);
                }
                // The same for a `while`, whose condition block reads the
                // same variables as the body.
                Op::While(_, cond, body) => {
                    let params = &f.block(*body).params;
                    for (k, (&p, &r)) in params.iter().zip(&d.results).enumerate() {
                        let unused = self.uses[p.index()] == 0 && self.uses[r.index()] == 0;
                        self.name(p, unused);
                        self.names[r.index()] = self.names[p.index()].clone();
                        let c = f.block(*cond).params[k];
                        self.names[c.index()] = self.names[p.index()].clone();
                    }
                    for &extra in &params[d.results.len()..] {
                        self.name(extra, self.uses[extra.index()] == 0);
                    }
                    self.block(*cond);
                    self.block(*body);
                }
                _ => {
                    for child in d.op.blocks() {
                        self.block(child);
                    }
                    for &r in &d.results {
                        self.name(r, self.uses[r.index()] == 0);
                    }
                }
            }
        }
    }

    fn name(&mut self, v: Value, unused: bool) {
        let f = self.f;
        if self.inline[v.index()] || self.names[v.index()].is_some() {
            return;
        }
        if f.name(v) == Some("self") && f.block_of(v) == f.entry {
            self.names[v.index()] = Some(Ident::new("self", Span::call_site()));
            return;
        }
        let base = f.name(v).map(sanitize).unwrap_or_else(|| {
            self.temps += 1;
            format!("t{}", self.temps)
        });
        let mut name = if unused {
            format!("_{base}")
        } else {
            base.clone()
        };
        let mut k = 0;
        while self.taken.contains(&name) {
            k += 1;
            name = if unused {
                format!("_{base}_{k}")
            } else {
                format!("{base}_{k}")
            };
        }
        self.taken.insert(name.clone());
        self.names[v.index()] = Some(Ident::new(&name, Span::call_site()));
    }
}

/// Emits the values and instructions of one function.
struct FnEmitter<'a> {
    f: &'a Function,
    names: Vec<Option<Ident>>,
    uses: Vec<usize>,
    /// Values written inline where used instead of bound to a name.
    inline: Vec<bool>,
    /// Gradient buffers a caller lends (parameters of the pullback
    /// closure), whose allocation is not emitted.
    sinks: HashSet<Value>,
    /// In a function generic over its scalar, the tapes of old array
    /// values: `Saves` (which keeps the elements), not `Tape` (which keeps
    /// `f64`s).
    saves: HashSet<Value>,
    /// In `f_jvp_lanes`, which values carry lanes ([`crate::lanes`]).
    lanes: Option<Vec<bool>>,
}

/// The tapes of old array values of `f`.
fn save_tapes(f: &Function) -> HashSet<Value> {
    let mut tapes = HashSet::new();
    for region in f.regions() {
        f.walk(region, &mut |inst| match &f.inst(inst).op {
            Op::Save(t, ..)
            | Op::SaveAll(t, ..)
            | Op::SaveRange(t, ..)
            | Op::Restore(t, _)
            | Op::RestoreAll(t, ..)
            | Op::UndoTo(t, ..)
            | Op::SkipSavesIf(t, ..) => {
                tapes.insert(*t);
            }
            _ => {}
        });
    }
    tapes
}

impl<'a> FnEmitter<'a> {
    fn new(f: &'a Function, sig: &Signature) -> Self {
        let uses = f.use_counts();
        let recorded: HashSet<Value> = activity::recorded(f).into_iter().collect();
        let inline: Vec<bool> = (0..f.values.len())
            .map(|i| {
                let v = f.value(i);
                match f.def_op(v) {
                    // A reference is written where it is used, so that no
                    // borrow outlives the use.
                    Some(Op::Lit(_) | Op::Ref(..) | Op::SubSlice(..)) => true,
                    // A field of data too (`&p.inner` borrows, not moves).
                    Some(Op::Extern(_) | Op::Field(..)) => !recorded.contains(&v),
                    _ => false,
                }
            })
            .collect();
        let mut namer = Namer {
            f,
            uses: &uses,
            inline: &inline,
            taken: reserved(f, sig),
            names: vec![None; f.values.len()],
            temps: 0,
        };
        for block in f.regions() {
            namer.block(block);
        }
        let names = namer.names;
        FnEmitter {
            f,
            names,
            uses,
            inline,
            sinks: HashSet::new(),
            saves: match crate::parse::scalar_param() {
                Some(_) => save_tapes(f),
                None => HashSet::new(),
            },
            lanes: None,
        }
    }

    /// Whether `v` carries lanes (in `f_jvp_lanes`).
    fn is_lane(&self, v: Value) -> bool {
        self.lanes.as_ref().is_some_and(|l| l[v.index()])
    }

    /// Zero lanes.
    fn zero_lanes(&self) -> TokenStream {
        let k = crate::lanes::k();
        let t = match crate::parse::scalar_param() {
            Some(t) => quote!(#t),
            None => quote!(_),
        };
        quote!(::autodiff::__private::Lanes::<#t, #k>::zero())
    }

    /// `v` where a lane is expected: itself, or zero lanes for the zero
    /// literal a tangent position may hold ([`crate::lanes::infer`]
    /// checked that nothing else reaches one).
    fn atom_lane(&self, v: Value) -> TokenStream {
        if self.lanes.is_some() && !self.is_lane(v) && self.f.literal(v).is_some() {
            self.zero_lanes()
        } else {
            self.atom(v)
        }
    }

    /// `atom_lane` where the position `like` carries lanes, `atom` elsewhere.
    fn atom_as(&self, v: Value, like: Value) -> TokenStream {
        if self.is_lane(like) {
            self.atom_lane(v)
        } else {
            self.atom(v)
        }
    }

    /// `vs` shaped as an expression, each in the position of `likes`.
    fn shaped_as(&self, vs: &[Value], likes: &[Value]) -> TokenStream {
        let atoms: Vec<TokenStream> = vs
            .iter()
            .zip(likes)
            .map(|(&v, &like)| self.atom_as(v, like))
            .collect();
        tuple_or_single(&atoms)
    }

    /// A value as an expression: its name, or the literal, constant or
    /// reference itself.
    fn atom(&self, v: Value) -> TokenStream {
        if self.inline[v.index()] {
            match self.f.def_op(v) {
                Some(Op::Lit(l)) => return literal(l),
                Some(Op::Extern(t)) => return t.tokens.clone(),
                Some(Op::Field(x, member)) => {
                    let (x, member) = (self.atom(*x), &member.tokens);
                    return quote!(#x.#member);
                }
                // `&mut x[..]`: a reborrow, also of an output parameter.
                Some(Op::Ref(_, true)) => {
                    let place = self.place(v);
                    return quote!(&mut #place[..]);
                }
                Some(Op::SubSlice(..)) if self.f.class(v) == Class::SliceMut => {
                    let place = self.place(v);
                    return quote!(&mut #place);
                }
                Some(Op::Ref(..) | Op::SubSlice(..)) => {
                    let place = self.place(v);
                    return quote!(&#place);
                }
                _ => {}
            }
        }
        match &self.names[v.index()] {
            Some(name) => quote!(#name),
            None => quote!(_),
        }
    }

    /// A sequence as a place to index: `x`, `v` for `&v`, `x[a..b]` for
    /// `&x[a..b]`.
    fn place(&self, v: Value) -> TokenStream {
        match self.f.def_op(v) {
            Some(Op::Ref(x, _)) => self.place(*x),
            Some(Op::SubSlice(x, lo, hi)) => {
                let x = self.place(*x);
                let lo = lo.map(|b| self.atom(b));
                let hi = hi.map(|b| self.atom(b));
                quote!(#x[#lo..#hi])
            }
            _ => self.atom(v),
        }
    }

    /// A value as a binding in a pattern: `_` when nothing reads it.
    fn binder(&self, v: Value) -> TokenStream {
        if self.uses[v.index()] == 0 {
            quote!(_)
        } else {
            self.atom(v)
        }
    }

    /// `v` or `(v0, v1, ..)`, as an expression.
    fn shaped(&self, vs: &[Value]) -> TokenStream {
        let atoms: Vec<TokenStream> = vs.iter().map(|&v| self.atom(v)).collect();
        tuple_or_single(&atoms)
    }

    /// `v` or `(v0, v1, ..)`, as a pattern.
    fn pattern(&self, vs: &[Value]) -> TokenStream {
        let binders: Vec<TokenStream> = vs.iter().map(|&v| self.binder(v)).collect();
        tuple_or_single(&binders)
    }

    fn block(&self, block: Block) -> TokenStream {
        let mut out = TokenStream::new();
        for &inst in &self.f.block(block).insts {
            let d = self.f.inst(inst);
            if !d.results.is_empty() && d.results.iter().all(|r| self.inline[r.index()]) {
                continue;
            }
            if let [r] = d.results.as_slice()
                && self.sinks.contains(r)
            {
                continue;
            }
            let span = d
                .results
                .first()
                .map(|&r| self.f.span(r))
                .unwrap_or_else(Span::call_site);
            let a = |v: &Value| self.atom(*v);
            out.extend(match &d.op {
                Op::If(c, t, e) => self.if_expr(*c, *t, *e, &d.results),
                Op::For(range, init, body) => self.for_loop(range, init, *body, &d.results),
                Op::While(init, cond, body) => self.while_loop(init, *cond, *body),
                Op::TapePush(t, v) => {
                    let (t, v) = (a(t), a(v));
                    quote_spanned!(span=> #t.push(#v);)
                }
                Op::Accum(b, i, v) | Op::StoreAdd(b, i, v) => {
                    let (b, i, v) = (self.place(*b), a(i), self.atom_as(*v, *b));
                    // A generic scalar need not be `AddAssign`.
                    if crate::parse::scalar_param().is_some() {
                        quote_spanned!(span=> #b[#i] = #b[#i] + #v;)
                    } else {
                        quote_spanned!(span=> #b[#i] += #v;)
                    }
                }
                Op::Store(b, i, v) => {
                    let (b, i, v) = (a(b), a(i), self.atom_as(*v, *b));
                    quote_spanned!(span=> #b[#i] = #v;)
                }
                Op::Effect(t, args) => {
                    let operands: Vec<TokenStream> = args.iter().map(a).collect();
                    let call = with_operands(&t.tokens, &operands);
                    quote_spanned!(span=> #call;)
                }
                Op::Push(b, v, _) => {
                    let (b, v) = (a(b), self.atom_as(*v, *b));
                    quote_spanned!(span=> #b.push(#v);)
                }
                Op::ZeroAt(b, i) => {
                    let (b, i) = (self.place(*b), a(i));
                    {
                        let zero = float_lit(quote!(0.0));
                        quote_spanned!(span=> #b[#i] = #zero;)
                    }
                }
                Op::AccumAll(b, v) => {
                    let (b, v) = (self.place(*b), a(v));
                    let rt = runtime();
                    quote_spanned!(span=> #rt::add_assign(&mut #b[..], &#v);)
                }
                Op::Save(t, arr, i) => {
                    let (t, arr, i) = (a(t), a(arr), a(i));
                    quote_spanned!(span=> #t.save(&#arr, #i);)
                }
                Op::Restore(t, arr) => {
                    let (t, arr) = (a(t), a(arr));
                    quote_spanned!(span=> #t.restore(&mut #arr[..]);)
                }
                Op::SaveAll(t, arr, unless) => {
                    let (t, arr) = (a(t), self.place(*arr));
                    unless_restores(unless, quote_spanned!(span=> #t.save_all(&#arr);))
                }
                Op::RestoreAll(t, arr, unless) => {
                    let (t, arr) = (a(t), self.place(*arr));
                    unless_restores(unless, quote_spanned!(span=> #t.restore_all(&mut #arr[..]);))
                }
                Op::SaveRange(t, arr, lo, hi) => {
                    let (t, arr, lo, hi) = (a(t), self.place(*arr), a(lo), a(hi));
                    quote_spanned!(span=> #t.save_range(&#arr, #lo, #hi);)
                }
                Op::SkipSavesIf(t, c, param, candidates) => {
                    let t = a(t);
                    let fills = sibling_ident(&c.name, Sibling::Fills);
                    let prefix = &c.prefix.tokens;
                    let path = quote!(#prefix #fills);
                    let candidates = candidates.iter().map(|&k| quote!(::core::option::Option::Some(#k)));
                    quote_spanned!(span=> #t.skip_saves_if(::core::matches!(#path[#param], #(#candidates)|*));)
                }
                Op::UndoTo(t, arr, m) => {
                    let (t, arr, m) = (a(t), a(arr), a(m));
                    quote_spanned!(span=> #t.undo_to(&mut #arr[..], #m);)
                }
                Op::CallJvp(c, args, tangents) => {
                    let (pattern, expr) = self.inst(&d.op, &d.results);
                    // The tangents of the arrays lent mutably come last.
                    let n = c.derivative_args(self.f, args).min(tangents.len());
                    // The scalar JVP checks the same call.
                    let checks = match self.lanes {
                        Some(_) => TokenStream::new(),
                        None => self.wrt_check(c, &tangents[..n], span),
                    };
                    if d.results.is_empty() {
                        quote_spanned!(span=> #checks #expr;)
                    } else {
                        quote_spanned!(span=> #checks let #pattern = #expr;)
                    }
                }
                // A call whose value is dropped.
                op @ Op::Call(..) if d.results.is_empty() => {
                    let (_, expr) = self.inst(op, &d.results);
                    quote_spanned!(span=> #expr;)
                }
                // A pullback that only adds into the buffers it is lent.
                op @ Op::ApplyPullback(..) if d.results.is_empty() => {
                    let (_, expr) = self.inst(op, &d.results);
                    quote_spanned!(span=> #expr;)
                }
                op => {
                    let (pattern, expr) = self.inst(op, &d.results);
                    let mutable = matches!(
                        self.f.class(d.results[0]),
                        Class::Tape | Class::Buffer | Class::Array
                    );
                    let mutability = if mutable { quote!(mut) } else { quote!() };
                    quote_spanned!(span=> let #mutability #pattern = #expr;)
                }
            });
        }
        out
    }

    /// A block as a Rust block: its statements, then what it yields (in
    /// the positions of `results`).
    fn block_value(&self, block: Block, results: &[Value]) -> TokenStream {
        let body = self.block(block);
        let ret = &self.f.block(block).ret;
        let value = if ret.is_empty() {
            quote!()
        } else {
            self.shaped_as(ret, results)
        };
        quote!({ #body #value })
    }

    fn if_expr(&self, cond: Value, then: Block, els: Block, results: &[Value]) -> TokenStream {
        let c = self.atom(cond);
        let then = self.block_value(then, results);
        let empty = self.f.block(els).insts.is_empty() && self.f.block(els).ret.is_empty();
        let expr = if empty {
            quote!(if #c #then)
        } else {
            let els = self.block_value(els, results);
            quote!(if #c #then else #els)
        };
        if results.is_empty() {
            expr
        } else {
            let pattern = self.pattern(results);
            quote!(let #pattern = #expr;)
        }
    }

    /// The declarations of a loop's carried variables, and their updates at
    /// the end of an iteration. A variable the loop never changes is not
    /// `mut`; the next values are assigned all at once when one of them
    /// reads another carried variable.
    fn carried_variables(
        &self,
        params: &[Value],
        init: &[Value],
        yields: &[Value],
    ) -> (TokenStream, TokenStream) {
        let mut declarations = TokenStream::new();
        let mut updated = Vec::new();
        for ((&p, &i), &y) in params.iter().zip(init).zip(yields) {
            let (name, init) = (self.atom(p), self.atom_as(i, p));
            if y == p {
                declarations.extend(quote!(let #name = #init;));
            } else {
                declarations.extend(quote!(let mut #name = #init;));
                updated.push((p, y));
            }
        }
        let reads_carried = updated.iter().any(|(_, y)| params.contains(y));
        let updates = if reads_carried && updated.len() > 1 {
            let targets: Vec<TokenStream> = updated.iter().map(|(p, _)| self.atom(*p)).collect();
            let values: Vec<TokenStream> =
                updated.iter().map(|(p, y)| self.atom_as(*y, *p)).collect();
            quote!((#(#targets),*) = (#(#values),*);)
        } else {
            let mut out = TokenStream::new();
            for (p, y) in &updated {
                let (p, y) = (self.atom(*p), self.atom_as(*y, *p));
                out.extend(quote!(#p = #y;));
            }
            out
        };
        (declarations, updates)
    }

    /// `let mut c = init; for i in range { ..; c = next; }`: each carried
    /// value is a mutable variable, which holds the result after the loop.
    fn for_loop(
        &self,
        range: &Range,
        init: &[Value],
        body: Block,
        results: &[Value],
    ) -> TokenStream {
        let params = &self.f.block(body).params;
        let yields = &self.f.block(body).ret;
        let index = self.binder(params[0]);
        let _ = results;
        let (declarations, updates) = self.carried_variables(&params[1..], init, yields);
        let range = self.range(range);
        let stmts = self.block(body);
        quote! {
            #declarations
            for #index in #range {
                #stmts
                #updates
            }
        }
    }

    /// `let mut c = init; loop { ..; if !cond { break; } ..; c = next; }`:
    /// the condition block reads the same variables as the body.
    fn while_loop(&self, init: &[Value], cond: Block, body: Block) -> TokenStream {
        let params = &self.f.block(body).params;
        let yields = &self.f.block(body).ret;
        let (declarations, updates) = self.carried_variables(params, init, yields);
        let cond_stmts = self.block(cond);
        let c = self.atom(self.f.block(cond).ret[0]);
        let stmts = self.block(body);
        quote! {
            #declarations
            loop {
                #cond_stmts
                if !#c {
                    break;
                }
                #stmts
                #updates
            }
        }
    }

    fn range(&self, r: &Range) -> TokenStream {
        let (lo, hi) = (self.atom(r.lo), self.atom(r.hi));
        let base = if r.inclusive {
            quote!(#lo..=#hi)
        } else {
            quote!(#lo..#hi)
        };
        if r.adapters.is_empty() {
            return base;
        }
        let mut out = quote!((#base));
        for a in &r.adapters {
            out = match a {
                Adapter::Rev => quote!(#out.rev()),
                Adapter::StepBy(k) => {
                    let k = self.atom(*k);
                    quote!(#out.step_by(#k))
                }
            };
        }
        out
    }

    /// The pattern binding an instruction's results, and its expression.
    fn inst(&self, op: &Op, results: &[Value]) -> (TokenStream, TokenStream) {
        let a = |v: &Value| self.atom(*v);
        let rt = runtime();
        let single = || self.binder(results[0]);
        match op {
            // Only a constant the pullback reads is bound to a name.
            Op::Lit(l) => (single(), literal(l)),
            Op::Extern(t) => (single(), t.tokens.clone()),
            Op::Unary(UnOp::Neg, x) => (single(), {
                let x = a(x);
                quote!(-#x)
            }),
            Op::Unary(UnOp::Not, x) => (single(), {
                let x = a(x);
                quote!(!#x)
            }),
            Op::Binary(op @ (crate::ir::BinOp::Min | crate::ir::BinOp::Max), x, y) => {
                let (x, y) = (a(x), a(y));
                let f = match op {
                    crate::ir::BinOp::Min => quote!(min),
                    _ => quote!(max),
                };
                (single(), quote!(::core::cmp::#f(#x, #y)))
            }
            // Lanes are scaled from the right: `Lanes * T`, which is
            // defined for a generic `T` too.
            Op::Binary(crate::ir::BinOp::Mul, x, y) if self.is_lane(*y) => {
                let (x, y) = (a(x), a(y));
                (single(), quote!(#y * #x))
            }
            // A sum of lanes may have a zero literal for a term.
            Op::Binary(op @ (crate::ir::BinOp::Add | crate::ir::BinOp::Sub), x, y)
                if self.is_lane(results[0]) =>
            {
                let (x, y) = (self.atom_lane(*x), self.atom_lane(*y));
                let op = binop_tokens(*op);
                (single(), quote!(#x #op #y))
            }
            Op::Binary(op, x, y) => {
                let (x, y) = (a(x), a(y));
                let op = binop_tokens(*op);
                (single(), quote!(#x #op #y))
            }
            // A tangent converted between float types: every lane.
            Op::Cast(x, ty) if self.is_lane(results[0]) => {
                let (x, ty, k) = (a(x), &ty.tokens, crate::lanes::k());
                (single(), quote!(#rt::lanes_cast::<#ty, _, #k>(#x)))
            }
            Op::Cast(x, ty) => {
                let x = a(x);
                match crate::parse::scalar_param() {
                    // `T::from(x).unwrap()`, which the macro read as a cast.
                    Some(t) if t == ty.text => (single(), quote!(#rt::to_float::<#t, _>(#x))),
                    _ => {
                        let ty = &ty.tokens;
                        (single(), quote!(#x as #ty))
                    }
                }
            }
            Op::CastLike(like, x) => {
                let (like, x) = (a(like), a(x));
                (single(), quote!(#rt::cast_like(#like, #x)))
            }
            Op::Prim(p, args) => {
                let recv = a(&args[0]);
                let rest: Vec<TokenStream> = args[1..].iter().map(a).collect();
                let name = Ident::new(p.name(), Span::call_site());
                (single(), quote!(#recv.#name(#(#rest),*)))
            }
            Op::Partials(p, args) => {
                let args: Vec<TokenStream> = args.iter().map(a).collect();
                let name = Ident::new(p.name(), Span::call_site());
                (
                    self.pattern(results),
                    quote!(#rt::partials::#name(#(#args),*)),
                )
            }
            Op::Call(c, args) => (self.pattern(results), self.call(c, Sibling::Primal, args)),
            Op::CallJvp(c, args, tangents) if self.lanes.is_some() => {
                let (values, dvalues) = results.split_at(c.outputs);
                let (v, t) = (self.pattern(values), self.pattern(dvalues));
                let mut operands: Vec<TokenStream> = args.iter().map(|&v| self.arg(v)).collect();
                operands.extend(tangents.iter().map(|&t| {
                    if self.f.class(t) == Class::Buffer {
                        let t = self.atom(t);
                        quote!(&#t)
                    } else {
                        self.atom_lane(t)
                    }
                }));
                (
                    quote!((#v, #t)),
                    self.call_with(c, Sibling::CallJvpLanes, operands),
                )
            }
            Op::CallJvp(c, args, tangents) => {
                let (values, dvalues) = results.split_at(c.outputs);
                let (v, t) = (self.pattern(values), self.pattern(dvalues));
                let operands: Vec<Value> = args.iter().chain(tangents).copied().collect();
                (quote!((#v, #t)), self.call(c, Sibling::CallJvp, &operands))
            }
            Op::CallPullback(c, args) => {
                let (values, pb) = results.split_at(c.outputs);
                // (A value dropped by the caller: whatever the callee
                // returns, `()` or not.)
                let v = match values.is_empty() {
                    true => quote!(_),
                    false => self.pattern(values),
                };
                let pb = self.pattern(pb);
                (quote!((#v, #pb)), self.call(c, Sibling::CallPullback, args))
            }
            Op::ApplyPullback(pb, cotangents, lent, sinks) => {
                let pb = a(pb);
                // A call whose value was dropped: the zero of whatever the
                // callee returns (`()` for nothing; rustc infers the type
                // from the pullback).
                let ct = match cotangents.is_empty() {
                    true => quote!(::core::default::Default::default()),
                    false => self.shaped(cotangents),
                };
                let lent = lent.iter().map(|&v| self.arg(v));
                let sinks = sinks.iter().map(|&s| {
                    let s = self.place(s);
                    quote!(&mut #s[..])
                });
                (
                    self.pattern(results),
                    quote!(#pb(#ct #(, #lent)* #(, #sinks)*)),
                )
            }
            Op::Index(x, i) => {
                let (x, i) = (self.place(*x), a(i));
                (single(), quote!(#x[#i]))
            }
            Op::Len(x) => {
                let x = self.place(*x);
                (single(), quote!(#x.len()))
            }
            Op::TapeNew(_) if self.saves.contains(&results[0]) => {
                (single(), quote!(#rt::Saves::new()))
            }
            Op::TapeNew(Some(range)) => {
                let range = self.range(range);
                (single(), quote!(#rt::Tape::sized_for(#range)))
            }
            Op::TapeNew(None) => (single(), quote!(#rt::Tape::new())),
            Op::TapePop(t) => {
                let t = a(t);
                (single(), quote!(#t.pop()))
            }
            Op::Ref(..) | Op::SubSlice(..) => (single(), self.atom(results[0])),
            Op::Field(x, member) => {
                let (x, member) = (a(x), &member.tokens);
                (single(), quote!(#x.#member))
            }
            Op::AddCotangents(x, y) => {
                let (x, y) = (a(x), a(y));
                (single(), quote!(#rt::add_cotangents(#x, #y)))
            }
            Op::Zeros(x, len) if self.is_lane(results[0]) => {
                let zero = self.zero_lanes();
                let k = crate::lanes::k();
                let expr = match (len, self.f.class(*x)) {
                    (Some(len), _) => {
                        let len = &len.tokens;
                        quote!([#zero; #len])
                    }
                    (None, Class::Float) if crate::parse::scalar_param().is_some() => zero,
                    (None, Class::Vector | Class::Float) => {
                        let x = a(x);
                        quote!(#rt::lanes_like::<_, #k>(&#x))
                    }
                    (None, _) => {
                        let x = self.place(*x);
                        quote!(#rt::lanes_zeros::<_, #k>(#x.len()))
                    }
                };
                (single(), expr)
            }
            Op::Zeros(x, None) if matches!(self.f.class(*x), Class::Vector | Class::Float) => {
                let x = a(x);
                (single(), quote!(#rt::zeros_like(&#x)))
            }
            Op::Zeros(x, None) => {
                let x = self.place(*x);
                {
                    let zero = float_lit(quote!(0.0));
                    (single(), quote!(::std::vec![#zero; #x.len()]))
                }
            }
            Op::Matches(v, pat) => {
                let (v, pat) = (a(v), &pat.tokens);
                (single(), quote!(::core::matches!(#v, #pat)))
            }
            Op::Zeros(_, Some(len)) => {
                let len = &len.tokens;
                {
                    let zero = float_lit(quote!(0.0));
                    (single(), quote!([#zero; #len]))
                }
            }
            Op::NewArray(init, shape) => {
                let init_is_lane = self.is_lane(*init);
                let init = self.atom_as(*init, results[0]);
                let expr = match shape {
                    crate::ir::ArrayShape::Vec(n) if self.is_lane(results[0]) && !init_is_lane => {
                        let (n, k) = (a(n), crate::lanes::k());
                        quote!(#rt::lanes_zeros::<_, #k>(#n))
                    }
                    crate::ir::ArrayShape::Vec(n) => {
                        let n = a(n);
                        quote!(::std::vec![#init; #n])
                    }
                    crate::ir::ArrayShape::Fixed(n) => {
                        let n = &n.tokens;
                        quote!([#init; #n])
                    }
                    crate::ir::ArrayShape::Empty(n) => {
                        let n = a(n);
                        quote!(::std::vec::Vec::with_capacity(#n))
                    }
                };
                (single(), expr)
            }
            Op::Own(v) => (single(), a(v)),
            Op::OwnCopy(v) => {
                let v = a(v);
                (single(), quote!(#v.to_vec()))
            }
            Op::TapeLen(t) => {
                let t = a(t);
                (single(), quote!(#t.len()))
            }
            Op::ArrayLit(items) => {
                let items = items.iter().map(|&v| self.atom_as(v, results[0]));
                (single(), quote!([#(#items),*]))
            }
            Op::Insert(v, i, x) => {
                let (v, i, x) = (a(v), a(i), self.atom_as(*x, results[0]));
                (
                    single(),
                    quote!({
                        let mut __a = #v;
                        __a[#i] = #x;
                        __a
                    }),
                )
            }
            Op::CloneArray(v) => {
                let v = a(v);
                (single(), quote!(::core::clone::Clone::clone(&#v)))
            }
            // Statements and blocks are emitted by `block`.
            Op::If(..)
            | Op::For(..)
            | Op::While(..)
            | Op::TapePush(..)
            | Op::Accum(..)
            | Op::Store(..)
            | Op::Effect(..)
            | Op::StoreAdd(..)
            | Op::Push(..)
            | Op::ZeroAt(..)
            | Op::Save(..)
            | Op::Restore(..)
            | Op::UndoTo(..)
            | Op::SaveAll(..)
            | Op::RestoreAll(..)
            | Op::SkipSavesIf(..)
            | Op::SaveRange(..)
            | Op::AccumAll(..) => (quote!(_), quote!(())),
        }
    }

    /// A compile-time check that the callee differentiates with respect to
    /// each parameter the call passes a derivative to (a tangent that is
    /// not a structural zero), or the derivative would be dropped.
    fn wrt_check(&self, c: &crate::ir::Callee, tangents: &[Value], span: Span) -> TokenStream {
        let passed: Vec<bool> = tangents
            .iter()
            .map(|&t| !matches!(self.f.def_op(t), Some(Op::Lit(_) | Op::Zeros(..))))
            .collect();
        if !passed.contains(&true) {
            return TokenStream::new();
        }
        let wrt = sibling_ident(&c.name, Sibling::Wrt);
        let marker = sibling_ident(&c.name, Sibling::Marker);
        let through_self = c.method || c.prefix.text.starts_with("Self");
        let (path, marker) = if c.method {
            (quote!(Self::#wrt), quote!(Self::#marker))
        } else {
            let prefix = &c.prefix.tokens;
            (quote!(#prefix #wrt), quote!(#prefix #marker))
        };
        // Named first: a callee without derivatives fails here, with the
        // advice in the name.
        let marker = quote_spanned!(span=> let () = #marker;);
        let message = format!(
            "this call passes a derivative to a parameter of `{0}` that `{0}` is not \
             differentiated with respect to; add the parameter to the `wrt(...)` of `{0}`",
            c.name
        );
        // Spanned at the call, the runtime's path included: rustc reports
        // a failed constant at the first token of the expression.
        let check = quote_spanned!(span=> ::autodiff::__private::check_wrt(&#path, [#(#passed),*], #message));
        if through_self {
            // An array length cannot name `Self` in a generic `impl`: an
            // inline constant, which rustc evaluates when it builds the
            // function (`cargo build`, not `cargo check`).
            quote_spanned!(span=> #marker const { #check };)
        } else {
            // An array length is evaluated while type-checking.
            quote_spanned!(span=> #marker let _: [(); #check] = [];)
        }
    }

    /// A value as a call's argument: a buffer (zeros standing for a
    /// slice's tangent) is lent.
    fn arg(&self, v: Value) -> TokenStream {
        let atom = self.atom(v);
        if self.f.class(v) == Class::Buffer {
            quote!(&#atom)
        } else {
            atom
        }
    }

    fn call(&self, c: &crate::ir::Callee, sibling: Sibling, args: &[Value]) -> TokenStream {
        let args: Vec<TokenStream> = args.iter().map(|&v| self.arg(v)).collect();
        self.call_with(c, sibling, args)
    }

    fn call_with(
        &self,
        c: &crate::ir::Callee,
        sibling: Sibling,
        args: Vec<TokenStream>,
    ) -> TokenStream {
        let name = match (sibling, c.flat) {
            (Sibling::Primal, true) => crate::layout::flat_name(&c.name),
            _ => sibling_ident(&c.name, sibling),
        };
        if c.method {
            let (recv, rest) = args
                .split_first()
                .map(|(r, rest)| (r.clone(), rest))
                .unwrap_or_default();
            quote!(#recv.#name(#(#rest),*))
        } else {
            let prefix = &c.prefix.tokens;
            quote!(#prefix #name(#(#args),*))
        }
    }
}

/// The items a caller reaches a differentiable function's derivatives by.
/// They take a tangent for every float or slice parameter and give a
/// cotangent for every one, whatever the callee's `wrt`, so that a caller
/// needs to know nothing of the callee but its name; the pullback adds the
/// cotangents of slices into buffers its caller lends.
#[derive(Clone, Copy, PartialEq)]
enum Sibling {
    /// The function itself.
    Primal,
    /// `__f_jvp`: the JVP, with a tangent for every float or slice
    /// parameter (those outside `wrt` are ignored).
    CallJvp,
    /// `__f_jvp_lanes`: the same with `K` lanes per tangent.
    CallJvpLanes,
    /// `__f_pullback`: the value and a closure from the output cotangent
    /// and one buffer per slice parameter to the cotangents of the other
    /// float parameters (zero outside `wrt`).
    CallPullback,
    /// `__f_wrt`: for each float or slice parameter, whether it is in
    /// `wrt`; a caller checks at compile time that it passes no derivative
    /// to one that is not.
    Wrt,
    /// `__f_fills`: for each parameter, when a call overwrites it
    /// completely before reading it (see [`crate::scratch`]).
    Fills,
    /// `__f_restores`: for each parameter, whether the pullback puts the
    /// `&mut` array lent to it back as it was before the call.
    Restores,
    /// `__annotate_f_with_differentiable_or_custom_vjp`: a `()` every
    /// differentiable function has. A caller names it first, so that a
    /// call of a function without derivatives fails with its name as the
    /// first error: "cannot find value
    /// `__annotate_g_with_differentiable_or_custom_vjp`".
    Marker,
}

fn sibling_ident(name: &Ident, sibling: Sibling) -> Ident {
    let base = name.to_string();
    let base = base.trim_start_matches("r#");
    let span = name.span();
    match sibling {
        Sibling::Primal => name.clone(),
        Sibling::CallJvp => format_ident!("__{}_jvp", base, span = span),
        Sibling::CallJvpLanes => format_ident!("__{}_jvp_lanes", base, span = span),
        Sibling::CallPullback => format_ident!("__{}_pullback", base, span = span),
        Sibling::Wrt => format_ident!("__{}_wrt", base, span = span),
        Sibling::Fills => format_ident!("__{}_fills", base, span = span),
        Sibling::Restores => format_ident!("__{}_restores", base, span = span),
        // The inner function of one differentiated with respect to a
        // struct (`__g_fields`), which a call passing a struct names: the
        // missing name reads as the advice.
        Sibling::Marker => match base
            .strip_prefix("__")
            .and_then(|b| b.strip_suffix("_fields"))
        {
            Some(g) => format_ident!(
                "__annotate_{}_with_differentiable_wrt_its_struct_parameter",
                g,
                span = span
            ),
            None => format_ident!(
                "__annotate_{}_with_differentiable_or_custom_vjp",
                base,
                span = span
            ),
        },
    }
}

/// `statement`, unless the callee's pullback restores the array itself
/// (a test of constants).
fn unless_restores(unless: &Option<crate::ir::Restores>, statement: TokenStream) -> TokenStream {
    match unless {
        None => statement,
        Some(r) => {
            let restores = sibling_ident(&r.callee.name, Sibling::Restores);
            let prefix = &r.callee.prefix.tokens;
            let param = r.param;
            quote!(if !#prefix #restores[#param] { #statement })
        }
    }
}

fn binop_tokens(op: crate::ir::BinOp) -> TokenStream {
    use crate::ir::BinOp::*;
    match op {
        Add => quote!(+),
        Sub => quote!(-),
        Mul => quote!(*),
        Div => quote!(/),
        Rem => quote!(%),
        Lt => quote!(<),
        Le => quote!(<=),
        Gt => quote!(>),
        Ge => quote!(>=),
        Eq => quote!(==),
        Ne => quote!(!=),
        And => quote!(&&),
        Or => quote!(||),
        BitAnd => quote!(&),
        BitOr => quote!(|),
        BitXor => quote!(^),
        Shl => quote!(<<),
        Shr => quote!(>>),
        Min => quote!(min),
        Max => quote!(max),
    }
}

/// A name usable as a local: the user's spelling without `r#`, a keyword
/// suffixed with `_`, anything else odd replaced by a temporary's name.
fn sanitize(name: &str) -> String {
    // `r#type` is `type`; `@returned` (a variable the macro adds) is `returned`.
    let name = name.trim_start_matches("r#").trim_start_matches('@');
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !valid || name == "_" {
        "t".to_string()
    } else if KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

/// Names a local must not take: what the body refers to outside the
/// function (constants, called functions and their siblings, modules), the
/// siblings of this function, and keywords.
/// The tokens of an [`Op::Effect`] with its operands in place of
/// `__operand0`, `__operand1`, ...
fn with_operands(tokens: &TokenStream, operands: &[TokenStream]) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Group(g) => {
                let mut inner =
                    proc_macro2::Group::new(g.delimiter(), with_operands(&g.stream(), operands));
                inner.set_span(g.span());
                quote!(#inner)
            }
            proc_macro2::TokenTree::Ident(i) => {
                let k = i.to_string();
                match k
                    .strip_prefix("__operand")
                    .and_then(|k| k.parse::<usize>().ok())
                {
                    Some(k) if k < operands.len() => {
                        let o = &operands[k];
                        quote!((#o))
                    }
                    _ => quote!(#i),
                }
            }
            other => quote!(#other),
        })
        .collect()
}

fn reserved(f: &Function, sig: &Signature) -> HashSet<String> {
    let mut taken: HashSet<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
    let add_idents = |tokens: &TokenStream, taken: &mut HashSet<String>| {
        for t in tokens.clone() {
            collect_idents(t, taken);
        }
    };
    for d in &f.insts {
        match &d.op {
            Op::Extern(t) | Op::Matches(_, t) | Op::Effect(t, _) => {
                add_idents(&t.tokens, &mut taken)
            }
            Op::Call(c, _) | Op::CallJvp(c, ..) | Op::CallPullback(c, _) => {
                add_idents(&c.prefix.tokens, &mut taken);
                for suffix in ["", "_jvp", "_pullback", "_vjp"] {
                    taken.insert(format!("{}{suffix}", c.name));
                }
            }
            _ => {}
        }
    }
    for suffix in ["", "_jvp", "_pullback", "_vjp", "_grad", "_value_and_grad"] {
        taken.insert(format!("{}{suffix}", sig.ident));
    }
    taken
}

fn collect_idents(tree: proc_macro2::TokenTree, taken: &mut HashSet<String>) {
    match tree {
        proc_macro2::TokenTree::Ident(i) => {
            taken.insert(i.to_string());
        }
        proc_macro2::TokenTree::Group(g) => {
            for t in g.stream() {
                collect_idents(t, taken);
            }
        }
        _ => {}
    }
}

/// A float constant of generated code: bare (`2.0`: rustc infers `f32` or
/// `f64`), or `lit::<T>(2.0)` in a function generic over the scalar `T`.
pub(crate) fn float_lit(lit: TokenStream) -> TokenStream {
    match crate::parse::scalar_param() {
        Some(t) => {
            let rt = runtime();
            quote!(#rt::lit::<#t>(#lit))
        }
        None => lit,
    }
}

/// A literal of the IR: floats through [`float_lit`], others as written.
fn literal(l: &crate::ir::Lit) -> TokenStream {
    let lit = &l.literal;
    if l.float_value().is_some() {
        float_lit(quote!(#lit))
    } else {
        quote!(#lit)
    }
}
