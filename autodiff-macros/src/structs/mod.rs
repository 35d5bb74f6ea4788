//! Structs of parameters: `#[derive(Differentiable)]` and functions that
//! differentiate with respect to struct parameters (`wrt(p)`, `wrt(self)`).
//!
//! The derive makes the tangent type (`ParamsTangent`: the float fields,
//! with zero, add, scale and dot), the `DifferentiableStruct` impl, and a
//! `macro_rules!` (re-exported by `pub(crate) use` under the struct's name,
//! so that importing the struct imports it, in any module, before or after
//! the function) that hands its field list back to
//! [`expand_with_fields`] (the field types are not visible to an attribute
//! on a function): a function `#[differentiable(wrt(p))] fn f(p: &Params,
//! ..)` expands to a request for the fields of its struct parameters (and
//! of the struct it returns), which each struct's macro answers in turn.
//!
//! With the fields known, the function is differentiated through an inner
//! function that takes each float leaf as a parameter of its own (`p.w` in
//! the body becomes `__p_w`), by the ordinary pipeline; the siblings of `f`
//! gather the inner cotangents into a `ParamsTangent` and pass a tangent's
//! fields to the inner JVP.
use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};

/// The kind of a differentiable field.
#[derive(Clone)]
enum Kind {
    /// `f64`: passed by value.
    Scalar,
    /// `Vec<f64>`: passed as `&[f64]` (the element type).
    Vec(Box<syn::Type>),
    /// `[f64; N]`: passed by value.
    Array,
    /// A struct that derives `Differentiable` too: its name, and its
    /// fields once its macro has told them ([`resolve`]).
    Nested(Ident, Option<Vec<Field>>),
}

#[derive(Clone)]
struct Field {
    name: Ident,
    ty: syn::Type,
    /// `None` for a `#[no_diff]` field.
    kind: Option<Kind>,
}

/// `f64` or `f32` (the tangent operations' scalars are `f64`, converted).
fn is_float(ty: &syn::Type) -> bool {
    matches!(ty.to_token_stream().to_string().as_str(), "f64" | "f32")
}

/// The float type of a float, float array or `Vec` field.
fn elem_of(ty: &syn::Type) -> TokenStream {
    match ty {
        syn::Type::Array(a) => a.elem.to_token_stream(),
        syn::Type::Path(p) => match p.path.segments.last().map(|l| &l.arguments) {
            Some(syn::PathArguments::AngleBracketed(args)) => match args.args.first() {
                Some(syn::GenericArgument::Type(t)) => t.to_token_stream(),
                _ => quote!(f64),
            },
            _ => ty.to_token_stream(),
        },
        _ => quote!(f64),
    }
}

fn kind_of(ty: &syn::Type) -> Option<Kind> {
    if is_float(ty) {
        return Some(Kind::Scalar);
    }
    match ty {
        syn::Type::Array(a) if is_float(&a.elem) => Some(Kind::Array),
        syn::Type::Path(p) => {
            let last = p.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            match (last.ident == "Vec", args.args.first()) {
                (true, Some(syn::GenericArgument::Type(t))) if is_float(t) => {
                    Some(Kind::Vec(Box::new(t.clone())))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The kind of a field the derive differentiates: a float, a float array,
/// or (a plain type name) a struct that derives `Differentiable` too.
fn field_kind(ty: &syn::Type) -> Option<Kind> {
    kind_of(ty).or_else(|| match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            p.path.get_ident().map(|i| Kind::Nested(i.clone(), None))
        }
        _ => None,
    })
}

/// The tangent type of a struct `T`, as generated code names it:
/// through the trait, so that it resolves wherever `T` does (a function in
/// another module imports `T`, not `TTangent`).
fn tangent_ty(strukt: &Ident) -> TokenStream {
    quote!(<#strukt as ::autodiff::__private::DifferentiableStruct>::Tangent)
}

/// The tangent type of a nested struct `T`: `TTangent`.
fn tangent_name(strukt: &Ident) -> Ident {
    format_ident!("{}Tangent", strukt)
}

fn no_diff(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("no_diff"))
}

/// `#[derive(Differentiable)]`.
pub fn derive(input: TokenStream) -> TokenStream {
    match derive_inner(input) {
        Ok(t) => t,
        Err(e) => e.to_compile_error(),
    }
}

fn derive_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let item: syn::ItemStruct = syn::parse2(input)?;
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "#[derive(Differentiable)] does not support generic structs yet",
        ));
    }
    let syn::Fields::Named(named) = &item.fields else {
        return Err(syn::Error::new_spanned(
            &item.fields,
            "#[derive(Differentiable)] needs named fields",
        ));
    };
    let mut fields = Vec::new();
    for f in &named.named {
        let Some(name) = f.ident.clone() else {
            continue;
        };
        let kind = if no_diff(&f.attrs) {
            None
        } else {
            match field_kind(&f.ty) {
                Some(k) => Some(k),
                None => {
                    return Err(syn::Error::new_spanned(
                        &f.ty,
                        "#[derive(Differentiable)] differentiates fields of type `f64`, \
                         `Vec<f64>`, `[f64; N]` and structs that derive `Differentiable`; \
                         mark other fields `#[no_diff]`",
                    ));
                }
            }
        };
        fields.push(Field {
            name,
            ty: f.ty.clone(),
            kind,
        });
    }
    let name = &item.ident;
    let vis = &item.vis;
    let tangent = format_ident!("{}Tangent", name);
    let macro_name = format_ident!("__autodiff_fields_of_{}", name);
    let diff: Vec<&Field> = fields.iter().filter(|f| f.kind.is_some()).collect();
    let names: Vec<&Ident> = diff.iter().map(|f| &f.name).collect();
    let tys: Vec<TokenStream> = diff
        .iter()
        .map(|f| match &f.kind {
            Some(Kind::Nested(..)) => {
                let ty = &f.ty;
                quote_spanned!(syn::spanned::Spanned::span(ty)=>
                    <#ty as ::autodiff::__private::DifferentiableStruct>::Tangent)
            }
            _ => f.ty.to_token_stream(),
        })
        .collect();
    let field_docs: Vec<String> = names
        .iter()
        .map(|n| format!(" The tangent of `{name}::{n}`."))
        .collect();
    let doc = format!(
        " A tangent (or gradient) of [`{name}`]: its differentiable fields. \
         Generated by `#[derive(Differentiable)]`."
    );
    let zero = diff.iter().map(|f| {
        let n = &f.name;
        match &f.kind {
            Some(Kind::Scalar) => quote!(#n: 0.0),
            Some(Kind::Vec(_)) => quote!(#n: ::std::vec![0.0; p.#n.len()]),
            Some(Kind::Nested(..)) => {
                let ty = &f.ty;
                quote!(#n: <#ty as ::autodiff::__private::DifferentiableStruct>::zero_tangent(&p.#n))
            }
            _ => quote!(#n: p.#n.map(|_| 0.0)),
        }
    });
    let add = diff.iter().map(|f| {
        let n = &f.name;
        match &f.kind {
            Some(Kind::Scalar) => quote!(#n: self.#n + o.#n),
            Some(Kind::Nested(..)) => {
                let ty = &f.ty;
                quote!(#n: <#ty as ::autodiff::__private::DifferentiableStruct>::add_tangents(&self.#n, &o.#n))
            }
            _ => quote!(#n: {
                let mut v = self.#n.clone();
                for (a, b) in v.iter_mut().zip(o.#n.iter()) {
                    *a += *b;
                }
                v
            }),
        }
    });
    let scale = diff.iter().map(|f| {
        let n = &f.name;
        match &f.kind {
            Some(Kind::Scalar) => {
                let e = elem_of(&f.ty);
                quote!(#n: self.#n * (s as #e))
            }
            Some(Kind::Nested(..)) => {
                let ty = &f.ty;
                quote!(#n: <#ty as ::autodiff::__private::DifferentiableStruct>::scale_tangent(&self.#n, s))
            }
            _ => {
                let e = elem_of(&f.ty);
                quote!(#n: {
                    let mut v = self.#n.clone();
                    for a in v.iter_mut() {
                        *a *= s as #e;
                    }
                    v
                })
            }
        }
    });
    let dot = diff.iter().map(|f| {
        let n = &f.name;
        match &f.kind {
            Some(Kind::Scalar) => quote!(s += (self.#n * o.#n) as f64;),
            Some(Kind::Nested(..)) => {
                let ty = &f.ty;
                quote!(s += <#ty as ::autodiff::__private::DifferentiableStruct>::dot_tangents(&self.#n, &o.#n);)
            }
            _ => quote!(for (a, b) in self.#n.iter().zip(o.#n.iter()) {
                s += (*a * *b) as f64;
            }),
        }
    });
    let step = diff.iter().map(|f| {
        let n = &f.name;
        match &f.kind {
            Some(Kind::Scalar) => {
                let e = elem_of(&f.ty);
                quote!(self.#n += t.#n * (s as #e);)
            }
            Some(Kind::Nested(..)) => {
                let ty = &f.ty;
                quote!(<#ty as ::autodiff::__private::DifferentiableStruct>::step(&mut self.#n, &t.#n, s);)
            }
            _ => {
                let e = elem_of(&f.ty);
                quote!(for (a, b) in self.#n.iter_mut().zip(t.#n.iter()) {
                    *a += *b * (s as #e);
                })
            }
        }
    });
    // The field table, for functions that differentiate with respect to
    // the struct: `kind name: type`.
    let table = fields.iter().map(|f| {
        let n = &f.name;
        let ty = &f.ty;
        let kind = match &f.kind {
            None => quote!(no_diff),
            Some(Kind::Scalar) => quote!(scalar),
            Some(Kind::Vec(_)) => quote!(vec),
            Some(Kind::Array) => quote!(array),
            Some(Kind::Nested(..)) => quote!(nested),
        };
        quote!(#kind #n: #ty)
    });
    let table: Vec<TokenStream> = table.collect();
    Ok(quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #tangent {
            #(
                #[doc = #field_docs]
                pub #names: #tys,
            )*
        }

        #[allow(clippy::unnecessary_cast)]
        impl #tangent {
            /// Zeros shaped like `p`.
            #[allow(dead_code)]
            #vis fn zero_like(p: &#name) -> Self {
                #tangent { #(#zero,)* }
            }

            /// `self + o`, field by field.
            #[allow(dead_code)]
            #vis fn add(&self, o: &Self) -> Self {
                #tangent { #(#add,)* }
            }

            /// `s · self`.
            #[allow(dead_code)]
            #vis fn scale(&self, s: f64) -> Self {
                #tangent { #(#scale,)* }
            }

            /// The inner product with `o`, over every float.
            #[allow(dead_code)]
            #vis fn dot(&self, o: &Self) -> f64 {
                let mut s = 0.0f64;
                #(#dot)*
                s
            }
        }

        #[allow(clippy::unnecessary_cast)]
        impl #name {
            /// `self += s · t` on the differentiable fields: a step along a
            /// tangent, `p.step(&g, -rate)` for gradient descent.
            #[allow(dead_code)]
            #vis fn step(&mut self, t: &#tangent, s: f64) {
                #(#step)*
            }
        }

        impl ::autodiff::__private::DerivesDifferentiable for #name {}

        impl ::autodiff::__private::DifferentiableStruct for #name {
            type Tangent = #tangent;
            fn zero_tangent(&self) -> #tangent {
                #tangent::zero_like(self)
            }
            fn add_tangents(a: &#tangent, b: &#tangent) -> #tangent {
                a.add(b)
            }
            fn scale_tangent(t: &#tangent, s: f64) -> #tangent {
                t.scale(s)
            }
            fn dot_tangents(a: &#tangent, b: &#tangent) -> f64 {
                a.dot(b)
            }
            fn step(&mut self, t: &#tangent, s: f64) {
                #name::step(self, t, s)
            }
        }

        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #macro_name {
            // This struct's fields, for the struct at `path` of a request.
            (@fields $path:tt $($rest:tt)*) => {
                ::autodiff::__differentiable_with_fields! {
                    @resolve $path [#name #tangent #(#table),*] $($rest)*
                }
            };
        }
        // The macro as an item named like the struct (in the macro
        // namespace): `use model::Params` brings both, and the functions of
        // this module find it wherever they are, before or after.
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #macro_name as #name;
    })
}

/// The parameters a function differentiates with respect to whose type is
/// a struct (not a float, slice or array of floats), and `self` in `wrt`:
/// each name with its struct's name, in order. `self_type` is the type of
/// the `impl` block, where it has `#[differentiable]`.
pub fn struct_params(
    args: &TokenStream,
    item: &syn::ItemFn,
    self_type: Option<&TokenStream>,
) -> syn::Result<Vec<(Ident, Ident)>> {
    let wrt: Vec<String> = wrt_names(args);
    let mut out = Vec::new();
    if let Some(syn::FnArg::Receiver(r)) = item.sig.inputs.first()
        && wrt.iter().any(|w| w == "self")
    {
        if r.mutability.is_some() || r.colon_token.is_some() {
            return Err(syn::Error::new_spanned(
                r,
                "#[differentiable] differentiates with respect to `self` taken as `&self` or `self`; write the receiver so",
            ));
        }
        let Some(ty) = self_type else {
            return Err(syn::Error::new_spanned(
                r,
                "`wrt(self)`: the attribute of a method cannot see the type of `self`; put \
                 `#[differentiable]` on the `impl` block too (its struct derives `Differentiable`)",
            ));
        };
        let Some(ident) = impl_type(ty) else {
            return Err(syn::Error::new_spanned(
                ty,
                "`wrt(self)` needs the `impl` block's type to be a struct named plainly \
                 (`impl Params`), without generic parameters",
            ));
        };
        out.push((Ident::new("self", r.self_token.span), ident));
    }
    for input in &item.sig.inputs {
        let syn::FnArg::Typed(pt) = input else {
            continue;
        };
        let syn::Pat::Ident(pi) = &*pt.pat else {
            continue;
        };
        if !wrt.contains(&pi.ident.to_string()) {
            continue;
        }
        let ty = match &*pt.ty {
            syn::Type::Reference(r) if r.mutability.is_none() => &*r.elem,
            ty => ty,
        };
        if let Some(ident) = struct_type(ty) {
            out.push((pi.ident.clone(), ident));
        }
    }
    Ok(out)
}

/// A plain type name that is not a float, an integer or a `bool` (nor
/// `Vec<f64>`, an array): a struct.
fn struct_type(ty: &syn::Type) -> Option<Ident> {
    match ty {
        syn::Type::Path(p)
            if p.qself.is_none()
                && crate::parse::class_of_type(ty).is_none()
                && !crate::aliases::floats_alias(ty)
                && kind_of(ty).is_none() =>
        {
            p.path.get_ident().cloned()
        }
        _ => None,
    }
}

/// The name of the `impl` block's type, if plain.
fn impl_type(ty: &TokenStream) -> Option<Ident> {
    struct_type(&syn::parse2::<syn::Type>(ty.clone()).ok()?)
}

/// The struct a function with struct parameters returns, if it returns
/// one: its plain name (`Self` of a method, the `impl` block's type).
pub fn struct_output(item: &syn::ItemFn, self_type: Option<&TokenStream>) -> Option<Ident> {
    let syn::ReturnType::Type(_, ty) = &item.sig.output else {
        return None;
    };
    match struct_type(ty)? {
        s if s == "Self" => self_type.and_then(impl_type),
        s => Some(s),
    }
}

/// The parameters a function without `wrt` differentiates with respect
/// to: floats, float arrays, and references to float slices, arrays and
/// `Vec`s.
fn float_params(item: &syn::ItemFn) -> Vec<Ident> {
    let floatish = |ty: &syn::Type| {
        let ty = match ty {
            syn::Type::Reference(r) if r.mutability.is_none() => match &*r.elem {
                syn::Type::Slice(s) => &*s.elem,
                other => other,
            },
            ty => ty,
        };
        is_float(ty) || crate::parse::is_float_array(ty)
    };
    item.sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            syn::FnArg::Typed(pt) if floatish(&pt.ty) => match &*pt.pat {
                syn::Pat::Ident(pi) => Some(pi.ident.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The struct types of a function's parameters (by value or reference)
/// that its body copies into variables (`let mut s = s0.clone()`).
pub fn data_struct_types(item: &syn::ItemFn) -> Vec<Ident> {
    let copied = locals::copied_params(&item.block);
    let generic = |i: &Ident| {
        item.sig.generics.params.iter().any(|p| match p {
            syn::GenericParam::Type(t) => &t.ident == i,
            _ => false,
        })
    };
    item.sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            syn::FnArg::Typed(pt) => {
                let syn::Pat::Ident(pi) = &*pt.pat else {
                    return None;
                };
                if !copied.contains(&pi.ident) {
                    return None;
                }
                let ty = match &*pt.ty {
                    syn::Type::Reference(r) if r.mutability.is_none() => &*r.elem,
                    ty => ty,
                };
                struct_type(ty).filter(|t| !generic(t))
            }
            _ => None,
        })
        .collect()
}

/// `args` without `__self_methods(..)`, which `#[differentiable]` on an
/// `impl` block adds to its methods' arguments, and the names in it.
pub fn take_self_methods(args: TokenStream) -> (TokenStream, Vec<Ident>) {
    let (args, list) = crate::parse::take_hidden_arg(args, "__self_methods");
    let methods = list
        .into_iter()
        .flatten()
        .filter_map(|t| match t {
            proc_macro2::TokenTree::Ident(m) => Some(m),
            _ => None,
        })
        .collect();
    (args, methods)
}

/// The names in `wrt(...)`.
fn wrt_names(args: &TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    let mut tokens = args.clone().into_iter().peekable();
    while let Some(t) = tokens.next() {
        if let proc_macro2::TokenTree::Ident(i) = &t
            && i == "wrt"
            && let Some(proc_macro2::TokenTree::Group(g)) = tokens.peek()
        {
            for t in g.stream() {
                if let proc_macro2::TokenTree::Ident(i) = t {
                    out.push(i.to_string());
                }
            }
        }
    }
    out
}

/// `#[differentiable]` on an `impl` block: the block, its methods'
/// `#[differentiable]` attributes told the type of `self` (an attribute on
/// a method cannot see it), which `wrt(self)` needs and which lets an
/// associated function's siblings name each other through `Self`.
pub fn expand_impl(args: TokenStream, mut block: syn::ItemImpl) -> TokenStream {
    if !args.is_empty() {
        let e = syn::Error::new_spanned(
            &args,
            "#[differentiable] on an `impl` block takes no arguments; give them to its methods",
        )
        .to_compile_error();
        return quote!(#block #e);
    }
    let ty = block.self_ty.to_token_stream();
    // On a trait impl none of whose methods has the attribute: all of them.
    let marked = |f: &syn::ImplItemFn| {
        f.attrs.iter().any(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "differentiable")
        })
    };
    if block.trait_.is_some()
        && !block
            .items
            .iter()
            .any(|i| matches!(i, syn::ImplItem::Fn(f) if marked(f)))
    {
        for item in &mut block.items {
            if let syn::ImplItem::Fn(f) = item {
                f.attrs.push(syn::parse_quote!(#[differentiable]));
            }
        }
    }
    // The methods differentiated with respect to `self`, which the others
    // call through their inner functions (`self.kinetic()`).
    let methods: Vec<Ident> = block
        .items
        .iter()
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f)
                if f.attrs.iter().any(|a| {
                    a.path()
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "differentiable")
                        && matches!(&a.meta, syn::Meta::List(l)
                            if wrt_names(&l.tokens).iter().any(|w| w == "self"))
                }) =>
            {
                Some(f.sig.ident.clone())
            }
            _ => None,
        })
        .collect();
    for item in &mut block.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        for attr in &mut f.attrs {
            if attr
                .path()
                .segments
                .last()
                .is_none_or(|s| s.ident != "differentiable")
            {
                continue;
            }
            let told = quote!(__self_type(#ty), __self_methods(#(#methods),*));
            match &mut attr.meta {
                syn::Meta::Path(p) => {
                    let p = p.clone();
                    attr.meta = syn::parse_quote!(#p(#told));
                }
                syn::Meta::List(l) => {
                    let t = &l.tokens;
                    l.tokens = if t.is_empty() {
                        told
                    } else {
                        quote!(#t, #told)
                    };
                }
                syn::Meta::NameValue(_) => {}
            }
        }
    }
    if block.trait_.is_some() {
        return trait_impl(block);
    }
    quote!(#block)
}

/// A trait impl whose methods are differentiable: the impl as written,
/// and the methods' siblings (`apply_jvp`, `apply_grad`, ...) in an
/// inherent impl of the same type, since a trait impl holds only the
/// trait's items. Calls through the trait (`a.apply(x)` of a generic `A`)
/// see no siblings; calls on the type do.
///
/// Generic parameters of the impl that its type does not name (`impl<T:
/// Float> Model<T> for Quadratic`) would be unconstrained on the inherent
/// impl: they move to each method's own generics there.
fn trait_impl(mut block: syn::ItemImpl) -> TokenStream {
    let mut siblings = Vec::new();
    let mut errors = TokenStream::new();
    let named: std::collections::HashSet<String> = block
        .self_ty
        .to_token_stream()
        .into_iter()
        .flat_map(flatten_tokens)
        .collect();
    let (kept, moved): (Vec<syn::GenericParam>, Vec<syn::GenericParam>) =
        block.generics.params.iter().cloned().partition(|p| {
            let name = match p {
                syn::GenericParam::Type(t) => t.ident.to_string(),
                syn::GenericParam::Lifetime(l) => l.lifetime.ident.to_string(),
                syn::GenericParam::Const(c) => c.ident.to_string(),
            };
            named.contains(&name)
        });
    for item in &mut block.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        let Some(k) = f.attrs.iter().position(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "differentiable")
        }) else {
            continue;
        };
        let attr = f.attrs.remove(k);
        let args = match &attr.meta {
            syn::Meta::List(l) => l.tokens.clone(),
            _ => TokenStream::new(),
        };
        if wrt_names(&args).iter().any(|w| w == "self") {
            errors.extend(
                syn::Error::new_spanned(
                    &attr,
                    "#[differentiable] on a method of a trait impl differentiates with respect \
                     to its other parameters; give the parameters of `self` to a method of an \
                     inherent impl (`impl T { .. }`) to differentiate with respect to them",
                )
                .to_compile_error(),
            );
            continue;
        }
        let mut sig = f.sig.clone();
        if !moved.is_empty() {
            let own: Vec<syn::GenericParam> = sig.generics.params.iter().cloned().collect();
            sig.generics.params = moved.iter().cloned().chain(own).collect();
            if let Some(w) = &block.generics.where_clause {
                let clause = sig.generics.make_where_clause();
                clause.predicates.extend(w.predicates.iter().cloned());
            }
        }
        let method = syn::ItemFn {
            attrs: f.attrs.clone(),
            vis: syn::parse_quote!(pub),
            sig,
            block: Box::new(f.block.clone()),
        };
        let expanded = crate::pipeline::expand(args, method.to_token_stream());
        // The expansion is the method and its siblings; the method stays
        // in the trait impl (and in the inherent one too where its generics
        // moved, for the siblings that call it with them).
        match syn::parse2::<syn::ItemImpl>(quote!(impl __Siblings { #expanded })) {
            Ok(parsed) => siblings.extend(parsed.items.into_iter().filter_map(|i| match i {
                syn::ImplItem::Fn(mut g) if g.sig.ident == f.sig.ident => {
                    g.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
                    (!moved.is_empty()).then_some(syn::ImplItem::Fn(g))
                }
                other => Some(other),
            })),
            Err(_) => errors.extend(expanded),
        }
    }
    let mut generics = block.generics.clone();
    generics.params = kept.into_iter().collect();
    if !moved.is_empty() {
        generics.where_clause = None;
    }
    let (generics, _, where_clause) = generics.split_for_impl();
    let ty = &block.self_ty;
    quote! {
        #block
        impl #generics #ty #where_clause {
            #(#siblings)*
        }
        #errors
    }
}

/// The identifiers in a token tree, groups opened.
fn flatten_tokens(t: proc_macro2::TokenTree) -> Vec<String> {
    match t {
        proc_macro2::TokenTree::Ident(i) => vec![i.to_string()],
        proc_macro2::TokenTree::Group(g) => {
            g.stream().into_iter().flat_map(flatten_tokens).collect()
        }
        _ => vec![],
    }
}

/// What `#[differentiable]` emits for a function with struct parameters:
/// the function, and the request for their fields (and those of the
/// struct it returns) as a table whose fields are the structs, each
/// resolved by its own macro ([`fields`]).
pub fn via_struct_macro(
    params: &[(Ident, Ident)],
    output: Option<&Ident>,
    locals: &[Ident],
    in_impl: bool,
    args: TokenStream,
    item: TokenStream,
) -> TokenStream {
    let mut entries: Vec<TokenStream> = params
        .iter()
        .map(|(name, ty)| quote!(nested #name: #ty))
        .collect();
    if let Some(ty) = output {
        entries.push(quote!(nested __out: #ty));
    }
    // Without `wrt`, every float parameter, as the attribute means.
    let args = match args
        .clone()
        .into_iter()
        .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "wrt"))
    {
        true => args,
        false => {
            let floats = syn::parse2::<syn::ItemFn>(item.clone())
                .map(|f| float_params(&f))
                .unwrap_or_default();
            match args.is_empty() {
                true => quote!(wrt(#(#floats),*)),
                false => quote!(#args, wrt(#(#floats),*)),
            }
        }
    };
    // The struct types of variables, that no parameter or output names.
    for ty in locals {
        if params.iter().all(|(_, t)| t != ty) && output != Some(ty) {
            let name = format_ident!("__local_{}", ty);
            entries.push(quote!(nested #name: #ty));
        }
    }
    // A struct that does not derive `Differentiable` has no macro to ask:
    // besides that error, one that says what to do, at the type (not in
    // an `impl` block, which has no unnamed constants).
    let mut types: Vec<&Ident> = match in_impl {
        true => Vec::new(),
        false => params.iter().map(|(_, t)| t).collect(),
    };
    if !in_impl {
        types.extend(output);
        types.extend(locals);
    }
    let checks = types.iter().map(|ty| {
        quote_spanned!(ty.span()=>
            const _: () = ::autodiff::__private::derives_differentiable::<#ty>();
        )
    });
    quote! {
        #item
        #(#checks)*
        ::autodiff::__differentiable_with_fields! {
            [__Structs __StructsTangent #(#entries),*] (#args) #item
        }
    }
}

mod fields;
mod locals;
mod siblings;

pub use fields::expand_with_fields;
pub use locals::local_struct_types;
