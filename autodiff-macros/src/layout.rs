//! Rows of small float arrays: parameters `&[[f64; N]]`, `&Vec<[f64; N]>`
//! and `&mut [[f64; N]]`, outputs `Vec<[f64; N]>`, and variables made by
//! `vec![[x; N]; n]` or copied from such a parameter. Positions,
//! velocities and forces are written this way.
//!
//! The derivatives take them *flat*: the function is differentiated as
//! the same function over `&[f64]` (`pos[i][k]` read as
//! `pos[i * N + k]`, a whole row `pos[i]` as the array
//! `[pos[i * N], .., pos[i * N + N - 1]]`, `pos.len()` as
//! `pos.len() / N`, `pos.iter()` as the rows by index), which is what a
//! user flattening by hand writes, so it costs nothing over it. The
//! hidden siblings callers use take the rows flat (every caller is
//! generated code, which holds them flat too). The public siblings keep
//! the function's own types: they pass `pos.as_flattened()` and give the
//! gradient as `Vec<[f64; N]>` (`regroup`, which keeps the allocation).
//!
//! nalgebra's `DVector<f64>` (`&DVector<f64>`, `&mut DVector<f64>`,
//! `-> DVector<f64>`) goes the same way as rows of one float: the body
//! unchanged (`DVector::from_vec(v)` read as `v`), the public siblings
//! passing `as_slice()` and giving gradients as `DVector::from_vec`. A
//! `&DMatrix<f64>` is its column-major slice and its row count, a
//! parameter `__a_nrows` right after it (callers pass it along):
//! `a[(i, j)]` is `a[i + j * __a_nrows]`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;

use crate::emit::PUBLIC_SIBLINGS as SIBLINGS;

/// Rows of `n` floats.
#[derive(Clone)]
struct Rows {
    /// The length of a row, as written (`3`, `D`).
    n: syn::Expr,
    /// The same where it is a literal.
    len: Option<usize>,
    /// For a vector type of another crate (`nalgebra::DVector<f64>`), the
    /// type as written: one float per row, the body unchanged, the
    /// conversions `as_slice()` and `from_vec`.
    container: Option<syn::Type>,
    /// For a `DMatrix` parameter, its name: the flat function takes its
    /// row count next to it (`__m_nrows`), and its gradient is made with
    /// its shape.
    matrix: Option<syn::Ident>,
}

impl Rows {
    fn new(n: &syn::Expr) -> Rows {
        let len = match n {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) => i.base10_parse().ok(),
            _ => None,
        };
        Rows {
            n: n.clone(),
            len,
            container: None,
            matrix: None,
        }
    }

    /// The rows of a vector type of another crate.
    fn container(ty: &syn::Type) -> Rows {
        Rows {
            n: syn::parse_quote!(1),
            len: Some(1),
            container: Some(ty.clone()),
            matrix: None,
        }
    }

    /// A `DMatrix` parameter `m`, column-major.
    fn matrix(ty: &syn::Type, m: &syn::Ident) -> Rows {
        Rows {
            matrix: Some(m.clone()),
            ..Rows::container(ty)
        }
    }
}

/// Whether a type is nalgebra's `DMatrix`.
fn is_matrix(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|l| l.ident == "DMatrix"))
}

/// The row count of the matrix `m` inside the flat function.
fn nrows_of(m: &syn::Ident) -> syn::Ident {
    format_ident!("__{}_nrows", m.to_string().trim_start_matches("r#"))
}

/// `DVector<T>` (`nalgebra::DVector<f64>`) of a float `T`: a vector of
/// another crate, contiguous, which the derivatives take as a slice
/// (`as_slice()`) and whose gradient they give back in its type
/// (`from_vec`). nalgebra is not a dependency: the code names the type as
/// the user wrote it.
fn container_elem<'a>(ty: &'a syn::Type, generics: &syn::Generics) -> Option<&'a syn::Type> {
    type_arg(ty, &["DVector", "DMatrix"]).filter(|t| is_float(t, generics))
}

/// Whether `ty` is a float as the type checks of `parse.rs` see it (`f64`,
/// `f32`, the scalar `T` of `generics`, a float alias).
fn is_float(ty: &syn::Type, generics: &syn::Generics) -> bool {
    crate::parse::with_scalar_of(generics, || {
        crate::parse::class_of_type(ty) == Some(crate::ir::Class::Float)
    })
}

/// The one type argument `T` of `Name<T>` for a `Name` of `names`.
fn type_arg<'a>(ty: &'a syn::Type, names: &[&str]) -> Option<&'a syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if !names.iter().any(|n| last.ident == n) {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match (args.args.len(), args.args.first()) {
        (1, Some(syn::GenericArgument::Type(t))) => Some(t),
        _ => None,
    }
}

/// How a type holds rows.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// `&[[T; N]]`, `&Vec<[T; N]>`.
    Shared,
    /// `&mut [[T; N]]`.
    Mut,
    /// `Vec<[T; N]>`.
    Owned,
}

/// `[T; N]` of a float `T`: `T` and `N`; for an array alias `Vec3`
/// (`aliases.rs`), its element and length as the runtime names them.
fn float_row(ty: &syn::Type, generics: &syn::Generics) -> Option<(syn::Type, syn::Expr)> {
    if crate::aliases::floats_alias(ty) {
        let (elem, len) = (crate::aliases::elem_of(ty), crate::aliases::len_of(ty));
        return Some((syn::parse_quote!(#elem), syn::parse_quote!(#len)));
    }
    let syn::Type::Array(a) = ty else { return None };
    is_float(&a.elem, generics).then(|| ((*a.elem).clone(), a.len.clone()))
}

/// The `T` of `Vec<T>`.
fn vec_elem(ty: &syn::Type) -> Option<&syn::Type> {
    type_arg(ty, &["Vec"])
}

/// The rows a type holds: how, the element type and the row length.
fn rows_of(ty: &syn::Type, generics: &syn::Generics) -> Option<(Form, syn::Type, syn::Expr)> {
    match ty {
        syn::Type::Reference(r) => {
            let form = match r.mutability {
                Some(_) => Form::Mut,
                None => Form::Shared,
            };
            let inner = match &*r.elem {
                syn::Type::Slice(s) => &*s.elem,
                other if form == Form::Shared => vec_elem(other)?,
                _ => return None,
            };
            float_row(inner, generics).map(|(t, n)| (form, t, n))
        }
        other => float_row(vec_elem(other)?, generics).map(|(t, n)| (Form::Owned, t, n)),
    }
}

/// The attribute the rewrite puts on a call that passes rows (flat), read
/// by lowering ([`passes_rows`]).
const PASSES_ROWS: &str = "__autodiff_passes_rows";

/// Whether a call passes rows of arrays flat: its callee takes rows, and
/// its primal is called as `__g_flat`.
pub fn passes_rows(c: &syn::ExprCall) -> bool {
    c.attrs.iter().any(|a| a.path().is_ident(PASSES_ROWS))
}

/// The function `g` over flat rows: `__g_flat`.
pub fn flat_name(g: &syn::Ident) -> syn::Ident {
    format_ident!(
        "__{}_flat",
        g.to_string().trim_start_matches("r#"),
        span = g.span()
    )
}

/// Whether the function takes or returns rows of float arrays.
pub fn has_rows(f: &syn::ItemFn) -> bool {
    let g = &f.sig.generics;
    let container = |ty: &syn::Type| match ty {
        syn::Type::Reference(r) => container_elem(&r.elem, g).is_some(),
        ty => container_elem(ty, g).is_some(),
    };
    let param = f.sig.inputs.iter().any(|a| match a {
        syn::FnArg::Typed(pt) => rows_of(&pt.ty, g).is_some() || container(&pt.ty),
        syn::FnArg::Receiver(_) => false,
    });
    let output = match &f.sig.output {
        syn::ReturnType::Type(_, ty) => {
            rows_of(ty, g).is_some_and(|(form, ..)| form == Form::Owned)
                || container_elem(ty, g).is_some()
        }
        syn::ReturnType::Default => false,
    };
    param || output
}

/// The siblings of a function taking or returning rows.
pub fn derivatives(args: TokenStream, f: &syn::ItemFn) -> syn::Result<TokenStream> {
    if let Some(syn::FnArg::Receiver(r)) = f.sig.inputs.first() {
        return Err(syn::Error::new_spanned(
            r,
            "#[differentiable] takes rows of arrays (`&[[f64; 3]]`) in functions, not methods \
             yet; write a function taking `&self`'s data",
        ));
    }
    let generics = f.sig.generics.clone();
    let mut flat = f.clone();
    let mut rows = Vec::new();
    let mut containers = Vec::new();
    let mut nrows_params = Vec::new();
    for (k, input) in flat.sig.inputs.iter_mut().enumerate() {
        let syn::FnArg::Typed(pt) = input else {
            continue;
        };
        let syn::Pat::Ident(p) = &*pt.pat else {
            continue; // parse says to name it
        };
        // `&DVector<f64>`, `&mut DVector<f64>`: a slice, the body unchanged.
        if let syn::Type::Reference(r) = &*pt.ty
            && let Some(elem) = container_elem(&r.elem, &generics)
        {
            let matrix = is_matrix(&r.elem);
            let row = match matrix {
                true => Rows::matrix(&r.elem, &p.ident),
                false => Rows::container(&r.elem),
            };
            let elem = elem.clone();
            *pt.ty = match r.mutability {
                Some(_) => syn::parse_quote!(&mut [#elem]),
                None => syn::parse_quote!(&[#elem]),
            };
            if matrix {
                let n = nrows_of(&p.ident);
                nrows_params.push((k, n));
            }
            containers.push((p.ident.clone(), row));
            continue;
        }
        let Some((form, elem, n)) = rows_of(&pt.ty, &generics) else {
            continue;
        };
        let r = Rows::new(&n);
        *pt.ty = match form {
            Form::Shared => syn::parse_quote!(&[#elem]),
            Form::Mut => syn::parse_quote!(&mut [#elem]),
            Form::Owned => {
                return Err(syn::Error::new_spanned(
                    &pt.ty,
                    "#[differentiable] takes rows of arrays by reference: `&[[f64; N]]`",
                ));
            }
        };
        rows.push((p.ident.clone(), r));
    }
    // Each matrix's row count, right after it.
    for (k, n) in nrows_params.into_iter().rev() {
        flat.sig.inputs.insert(k + 1, syn::parse_quote!(#n: usize));
    }
    let mut out_rows = None;
    if let syn::ReturnType::Type(_, ty) = &mut flat.sig.output
        && !is_matrix(ty)
    {
        if let Some((Form::Owned, elem, n)) = rows_of(ty, &generics) {
            out_rows = Some(Rows::new(&n));
            **ty = syn::parse_quote!(::std::vec::Vec<#elem>);
        } else if let Some(elem) = container_elem(ty, &generics) {
            let elem = elem.clone();
            out_rows = Some(Rows::container(ty));
            **ty = syn::parse_quote!(::std::vec::Vec<#elem>);
        }
    }
    rows.extend(containers);
    let mut rewrite = Flatten {
        rows: rows.clone(),
        error: None,
    };
    for (name, _) in &rows {
        let tangent = format_ident!("d{}", name);
        if f.sig.inputs.iter().any(|a| matches!(a, syn::FnArg::Typed(pt) if matches!(&*pt.pat, syn::Pat::Ident(p) if p.ident == tangent))) {
            return Err(syn::Error::new_spanned(
                name,
                format!(
                    "#[differentiable] names the tangent of `{name}` `{tangent}`, which is \
                     another parameter here; rename one of them"
                ),
            ));
        }
    }
    rewrite.visit_block_mut(&mut flat.block);
    if let Some(e) = rewrite.error {
        return Err(e);
    }
    let (siblings, sig) = crate::pipeline::derivatives_and_signature(args, quote!(#flat))?;
    // The gradient of each active parameter: rows or not.
    let grads: Vec<Shape> = sig
        .active_params()
        .map(|p| match rows.iter().find(|(n, _)| *n == p.name) {
            Some((_, r)) => Shape::Rows(Box::new(r.clone())),
            None => Shape::Same,
        })
        .collect();
    let grads = match grads.len() {
        1 => grads.into_iter().next().unwrap_or(Shape::Same),
        _ => Shape::Tuple(grads),
    };
    let out = match &out_rows {
        Some(r) => Shape::Rows(Box::new(r.clone())),
        None => Shape::Same,
    };
    let unit = matches!(&f.sig.output, syn::ReturnType::Default);
    let wrap = Wrap {
        f,
        rows: &rows,
        out_rows: out_rows.as_ref(),
    };
    // The siblings call the function and each other flat.
    let name = &f.sig.ident;
    let flat_name = flat_name(name);
    let mut renamed = vec![(name.to_string(), flat_name.clone())];
    for s in SIBLINGS {
        renamed.push((
            format!("{name}_{s}"),
            format_ident!("__{}_{}_flat", name, s),
        ));
    }
    let file: syn::File = syn::parse2(rename(siblings, &renamed))?;
    flat.sig.ident = flat_name.clone();
    flat.attrs.retain(|a| !a.path().is_ident("doc"));
    // The primal over flat rows calls its callees over flat rows.
    FlatCalls.visit_block_mut(&mut flat.block);
    let mut items = quote! {
        #[doc(hidden)]
        #[allow(dead_code, unused_parens, clippy::all)]
        #flat
    };
    for item in file.items {
        let syn::Item::Fn(mut g) = item else {
            item.to_tokens(&mut items);
            continue;
        };
        let suffix = SIBLINGS
            .iter()
            .find(|s| g.sig.ident == format!("__{name}_{s}_flat"))
            .map(|s| s.to_string());
        let Some(suffix) = suffix else {
            g.to_tokens(&mut items);
            continue;
        };
        let returned = match suffix.as_str() {
            "jvp" | "jvp_lanes" if unit => Shape::Same,
            "jvp" | "jvp_lanes" => Shape::Tuple(vec![out.clone(), out.clone()]),
            "vjp" if unit => grads.clone(),
            "vjp" | "value_and_grad" => Shape::Tuple(vec![out.clone(), grads.clone()]),
            "grad" => grads.clone(),
            _ => Shape::Tuple(vec![
                out.clone(),
                Shape::Pullback(Box::new(out.clone()), Box::new(grads.clone())),
            ]),
        };
        items.extend(wrap.wrapper(&mut g, &suffix, &returned)?);
        g.to_tokens(&mut items);
    }
    Ok(items)
}

/// What a value holds, for converting between the flat siblings and the
/// public ones.
#[derive(Clone)]
enum Shape {
    Same,
    Rows(Box<Rows>),
    Tuple(Vec<Shape>),
    /// A pullback: its cotangent's shape and its result's.
    Pullback(Box<Shape>, Box<Shape>),
}

struct Wrap<'a> {
    f: &'a syn::ItemFn,
    rows: &'a [(syn::Ident, Rows)],
    out_rows: Option<&'a Rows>,
}

impl Wrap<'_> {
    /// Renames the flat sibling `g` out of the way and gives the public
    /// one, which converts the rows on the way in and out.
    fn wrapper(
        &self,
        g: &mut syn::ItemFn,
        suffix: &str,
        returned: &Shape,
    ) -> syn::Result<TokenStream> {
        let mut public = g.sig.clone();
        public.ident = format_ident!(
            "{}_{}",
            self.f.sig.ident,
            suffix,
            span = self.f.sig.ident.span()
        );
        let flat_name = g.sig.ident.clone();
        let attrs: Vec<syn::Attribute> = g.attrs.clone();
        g.attrs
            .retain(|a| !a.path().is_ident("doc") && !a.path().is_ident("inline"));
        g.attrs.push(syn::parse_quote!(#[doc(hidden)]));
        g.attrs.push(syn::parse_quote!(#[inline]));
        g.vis = syn::Visibility::Inherited;
        let mut sig = public;
        let mut args = Vec::new();
        let dr = ["dr", "__dr"];
        // A matrix's row count comes from the matrix: not a parameter of
        // the public sibling. Its dimensions make its gradient.
        let matrices: Vec<&syn::Ident> = self
            .rows
            .iter()
            .filter_map(|(_, r)| r.matrix.as_ref())
            .collect();
        let mut dims = TokenStream::new();
        for m in &matrices {
            let (r, c) = (format_ident!("__{}_r", m), format_ident!("__{}_c", m));
            dims.extend(quote!(let (#r, #c) = (#m.nrows(), #m.ncols());));
        }
        let mut counts = Vec::new();
        for input in sig.inputs.iter_mut() {
            let syn::FnArg::Typed(pt) = input else {
                continue;
            };
            let syn::Pat::Ident(p) = &*pt.pat else {
                continue;
            };
            let name = p.ident.clone();
            if let Some(m) = matrices.iter().find(|m| nrows_of(m) == name) {
                let r = format_ident!("__{}_r", m);
                args.push(quote!(#r));
                counts.push(name);
                continue;
            }
            let rows = self
                .rows
                .iter()
                .find(|(n, _)| *n == name || format_ident!("d{}", n) == name);
            let shape = match (rows, self.out_rows) {
                // The lanes of a vector of another crate stay slices
                // (`&[Lanes<f64, K>]`, which it cannot hold).
                (Some((n, r)), _)
                    if r.container.is_some() && suffix == "jvp_lanes" && *n != name =>
                {
                    Shape::Same
                }
                (Some((_, r)), _) => Shape::Rows(Box::new(r.clone())),
                (None, Some(r)) if dr.iter().any(|d| name == d) && suffix == "vjp" => {
                    Shape::Rows(Box::new(r.clone()))
                }
                _ => Shape::Same,
            };
            let (ty, arg) = into_flat(&shape, &pt.ty, quote!(#name))?;
            *pt.ty = ty;
            args.push(arg);
        }
        let lanes_flat;
        let returned = match (suffix, self.out_rows) {
            ("jvp_lanes", Some(r)) if r.container.is_some() => {
                lanes_flat = Shape::Tuple(vec![returned_value(returned), Shape::Same]);
                &lanes_flat
            }
            _ => returned,
        };
        sig.inputs = std::mem::take(&mut sig.inputs)
            .into_iter()
            .filter(|a| !matches!(a, syn::FnArg::Typed(pt) if matches!(&*pt.pat, syn::Pat::Ident(p) if counts.contains(&p.ident))))
            .collect();
        if let syn::ReturnType::Type(_, ty) = &mut sig.output {
            **ty = from_flat_ty(returned, ty)?;
        }
        let turbofish = turbofish(&g.sig);
        let call = from_flat(returned, quote!(#flat_name #turbofish(#(#args),*)), &mut 0);
        let vis = &self.f.vis;
        Ok(quote! {
            #(#attrs)*
            #[inline]
            #[allow(clippy::too_many_arguments, clippy::type_complexity)]
            #vis #sig { #dims #call }
        })
    }
}

/// The shape of the value of a `(value, tangent)` pair.
fn returned_value(pair: &Shape) -> Shape {
    match pair {
        Shape::Tuple(s) if s.len() == 2 => s[0].clone(),
        _ => Shape::Same,
    }
}

/// `tokens` with the identifiers of `names` replaced.
fn rename(tokens: TokenStream, names: &[(String, syn::Ident)]) -> TokenStream {
    use proc_macro2::TokenTree;
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) => match names.iter().find(|(n, _)| i == n) {
                Some((_, to)) => TokenTree::Ident(syn::Ident::new(&to.to_string(), i.span())),
                None => TokenTree::Ident(i),
            },
            TokenTree::Group(g) => {
                let mut out = proc_macro2::Group::new(g.delimiter(), rename(g.stream(), names));
                out.set_span(g.span());
                TokenTree::Group(out)
            }
            other => other,
        })
        .collect()
}

/// `::<T, K>` for the type and const parameters of a sibling.
fn turbofish(sig: &syn::Signature) -> TokenStream {
    let args: Vec<&syn::Ident> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Type(t) => Some(&t.ident),
            syn::GenericParam::Const(c) => Some(&c.ident),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect();
    let impl_arg = sig
        .inputs
        .iter()
        .any(|a| a.to_token_stream().to_string().contains("impl "));
    match args.is_empty() || impl_arg {
        true => quote!(),
        false => quote!(::<#(#args),*>),
    }
}

fn internal(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "internal error in #[differentiable] (rows of arrays: a sibling's type has an unexpected \
         shape); please report this function",
    )
}

/// The public type of a flat one, and the expression that makes the flat
/// value of it: `&[T]` is taken as `&[[T; N]]` and passed as
/// `.as_flattened()`, a `Vec<T>` as `Vec<[T; N]>` and `.into_flattened()`.
fn into_flat(
    shape: &Shape,
    ty: &syn::Type,
    e: TokenStream,
) -> syn::Result<(syn::Type, TokenStream)> {
    let Shape::Rows(r) = shape else {
        return Ok((ty.clone(), e));
    };
    let n = &r.n;
    if let Some(c) = &r.container {
        return match ty {
            syn::Type::Reference(t) if t.mutability.is_some() => {
                Ok((syn::parse_quote!(&mut #c), quote!(#e.as_mut_slice())))
            }
            syn::Type::Reference(_) => Ok((syn::parse_quote!(&#c), quote!(#e.as_slice()))),
            _ => Ok((
                syn::parse_quote!(#c),
                quote!(#e.iter().copied().collect::<::std::vec::Vec<_>>()),
            )),
        };
    }
    match ty {
        syn::Type::Reference(t) => {
            let syn::Type::Slice(s) = &*t.elem else {
                return Err(internal(ty.span()));
            };
            let elem = &s.elem;
            Ok(match t.mutability {
                Some(_) => (
                    syn::parse_quote!(&mut [[#elem; #n]]),
                    quote!(#e.as_flattened_mut()),
                ),
                None => (syn::parse_quote!(&[[#elem; #n]]), quote!(#e.as_flattened())),
            })
        }
        _ => {
            let elem = vec_elem(ty).ok_or_else(|| internal(ty.span()))?;
            Ok((
                syn::parse_quote!(::std::vec::Vec<[#elem; #n]>),
                quote!(#e.into_flattened()),
            ))
        }
    }
}

/// The public type of what a flat sibling returns.
fn from_flat_ty(shape: &Shape, ty: &syn::Type) -> syn::Result<syn::Type> {
    match (shape, ty) {
        (Shape::Same, _) => Ok(ty.clone()),
        (Shape::Rows(r), _) => {
            let elem = vec_elem(ty).ok_or_else(|| internal(ty.span()))?;
            let n = &r.n;
            match &r.container {
                Some(c) => Ok(c.clone()),
                None => Ok(syn::parse_quote!(::std::vec::Vec<[#elem; #n]>)),
            }
        }
        (Shape::Tuple(shapes), syn::Type::Tuple(t)) if t.elems.len() == shapes.len() => {
            let elems = shapes
                .iter()
                .zip(&t.elems)
                .map(|(s, t)| from_flat_ty(s, t))
                .collect::<syn::Result<Vec<_>>>()?;
            Ok(syn::parse_quote!((#(#elems),*)))
        }
        (Shape::Pullback(dr, grads), syn::Type::ImplTrait(t)) => {
            let mut t = t.clone();
            for bound in t.bounds.iter_mut() {
                let syn::TypeParamBound::Trait(tb) = bound else {
                    continue;
                };
                let Some(last) = tb.path.segments.last_mut() else {
                    continue;
                };
                let syn::PathArguments::Parenthesized(p) = &mut last.arguments else {
                    continue;
                };
                if let Some(first) = p.inputs.first_mut() {
                    *first = into_flat(dr, first, quote!())?.0;
                }
                if let syn::ReturnType::Type(_, out) = &mut p.output {
                    **out = from_flat_ty(grads, out)?;
                }
            }
            Ok(syn::Type::ImplTrait(t))
        }
        _ => Err(internal(ty.span())),
    }
}

/// The public value of what a flat sibling returns, `e`.
fn from_flat(shape: &Shape, e: TokenStream, fresh: &mut usize) -> TokenStream {
    let rt = quote!(::autodiff::__private);
    match shape {
        Shape::Same => e,
        Shape::Rows(r) => match (&r.container, &r.matrix) {
            (Some(c), Some(m)) => {
                let (rows, cols) = (format_ident!("__{}_r", m), format_ident!("__{}_c", m));
                quote!(<#c>::from_vec(#rows, #cols, #e))
            }
            (Some(c), None) => quote!(<#c>::from_vec(#e)),
            (None, _) => {
                let n = &r.n;
                quote!(#rt::regroup::<_, { #n }>(#e))
            }
        },
        Shape::Tuple(shapes) => {
            let names: Vec<syn::Ident> = shapes
                .iter()
                .map(|_| {
                    *fresh += 1;
                    format_ident!("__r{}", *fresh)
                })
                .collect();
            let converted = shapes
                .iter()
                .zip(&names)
                .map(|(s, n)| from_flat(s, quote!(#n), fresh));
            quote!({ let (#(#names),*) = #e; (#(#converted),*) })
        }
        Shape::Pullback(dr, grads) => {
            *fresh += 1;
            let d = format_ident!("__d{}", *fresh);
            let arg = match &**dr {
                Shape::Rows(r) if r.container.is_some() => {
                    quote!(#d.iter().copied().collect::<::std::vec::Vec<_>>())
                }
                Shape::Rows(_) => quote!(#d.into_flattened()),
                _ => quote!(#d),
            };
            let result = from_flat(grads, quote!(#e(#arg)), fresh);
            quote!(move |#d| #result)
        }
    }
}

/// Rewrites a body over rows onto flat slices.
struct Flatten {
    /// The names holding rows, in scope, and the vectors and matrices of
    /// other crates (held as slices: only their calls and matrix accesses
    /// change).
    rows: Vec<(syn::Ident, Rows)>,
    error: Option<syn::Error>,
}

/// The names a pattern binds.
fn bound(pat: &syn::Pat, out: &mut Vec<syn::Ident>) {
    struct Names<'a>(&'a mut Vec<syn::Ident>);
    impl<'ast> syn::visit::Visit<'ast> for Names<'_> {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.0.push(p.ident.clone());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    syn::visit::Visit::visit_pat(&mut Names(out), pat);
}

impl Flatten {
    fn fail(&mut self, at: impl ToTokens, msg: String) {
        if self.error.is_none() {
            self.error = Some(syn::Error::new_spanned(at, msg));
        }
    }

    fn fail_at(&mut self, span: Span, msg: String) {
        if self.error.is_none() {
            self.error = Some(syn::Error::new(span, msg));
        }
    }

    /// The rows `e` names, if it is such a name (`pos`, `&pos`, `(pos)`).
    fn rows_named(&self, e: &syn::Expr) -> Option<(syn::Ident, Rows)> {
        self.named(e).filter(|(_, r)| r.container.is_none())
    }

    /// The matrix `e` names (`m`, `&m`).
    fn matrix_named(&self, e: &syn::Expr) -> Option<syn::Ident> {
        self.named(e).and_then(|(_, r)| r.matrix)
    }

    /// What `e` names in scope, if it names rows or a vector of another
    /// crate (`pos`, `&pos`, `(pos)`).
    fn named(&self, e: &syn::Expr) -> Option<(syn::Ident, Rows)> {
        match e {
            syn::Expr::Paren(p) => self.named(&p.expr),
            syn::Expr::Reference(r) => self.named(&r.expr),
            syn::Expr::Path(p) if p.qself.is_none() => {
                let name = p.path.get_ident()?;
                self.rows.iter().rev().find(|(n, _)| n == name).cloned()
            }
            _ => None,
        }
    }

    /// Runs `f` with the names `pat` binds no longer holding rows.
    fn shadowed(&mut self, pats: &[&syn::Pat], f: impl FnOnce(&mut Self)) {
        let saved = self.rows.clone();
        let mut names = Vec::new();
        for p in pats {
            bound(p, &mut names);
        }
        self.rows.retain(|(n, _)| !names.contains(n));
        f(self);
        self.rows = saved;
    }

    /// Row `at` of `name` as an array value.
    fn row(&mut self, name: &syn::Ident, r: &Rows, at: &syn::Expr, span: Span) -> syn::Expr {
        let n = &r.n;
        let Some(len) = r.len else {
            self.fail_at(
                span,
                format!(
                    "#[differentiable] reads a whole row of `{name}` only where its length is a \
                     literal (`[f64; 3]`); read its elements `{name}[i][k]` instead"
                ),
            );
            return syn::parse_quote!(());
        };
        let elems = (0..len).map(|k| quote!(#name[(#at) * (#n) + #k]));
        syn::parse_quote_spanned!(span=> [#(#elems),*])
    }

    /// The rows of `name` as an iterator of arrays.
    fn rows_iter(&mut self, name: &syn::Ident, r: &Rows, span: Span) -> syn::Expr {
        let n = &r.n;
        let k: syn::Expr = syn::parse_quote!(__row);
        // Rows of a length the macro does not know are read as subslices.
        let row = match r.len {
            Some(_) => self.row(name, r, &k, span),
            None => syn::parse_quote_spanned!(span=> &#name[__row * (#n)..(__row + 1) * (#n)]),
        };
        syn::parse_quote_spanned!(span=> (0..#name.len() / (#n)).map(|__row| #row))
    }

    /// `for f in x.iter_mut()` (or `&mut x`) over rows: `x`, its rows and `f`.
    fn rows_mut(&self, fl: &syn::ExprForLoop) -> Option<(syn::Ident, Rows, syn::Ident)> {
        let syn::Pat::Ident(p) = &*fl.pat else {
            return None;
        };
        let over = match &*fl.expr {
            syn::Expr::MethodCall(m) if m.method == "iter_mut" && m.args.is_empty() => &m.receiver,
            syn::Expr::Reference(r) if r.mutability.is_some() => &r.expr,
            _ => return None,
        };
        let (name, r) = self.rows_named(over)?;
        Some((name, r, p.ident.clone()))
    }

    /// The expressions of a macro's arguments, rewritten.
    fn visit_macro_args(&mut self, m: &mut syn::Macro) {
        use syn::parse::Parser;
        let mentions = |tokens: &TokenStream, rows: &[(syn::Ident, Rows)]| {
            fn walk(t: TokenStream, rows: &[(syn::Ident, Rows)]) -> bool {
                t.into_iter().any(|t| match t {
                    proc_macro2::TokenTree::Ident(i) => rows.iter().any(|(n, _)| *n == i),
                    proc_macro2::TokenTree::Group(g) => walk(g.stream(), rows),
                    _ => false,
                })
            }
            walk(tokens.clone(), rows)
        };
        if !mentions(&m.tokens, &self.rows) {
            return;
        }
        let repeat = |input: syn::parse::ParseStream| -> syn::Result<(syn::Expr, syn::Expr)> {
            let x: syn::Expr = input.parse()?;
            input.parse::<syn::Token![;]>()?;
            Ok((x, input.parse()?))
        };
        if m.path.is_ident("vec")
            && let Ok((mut x, mut n)) = repeat.parse2(m.tokens.clone())
        {
            self.visit_expr_mut(&mut x);
            self.visit_expr_mut(&mut n);
            m.tokens = quote!(#x; #n);
        } else if let Ok(mut items) =
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated
                .parse2(m.tokens.clone())
        {
            for e in items.iter_mut() {
                self.visit_expr_mut(e);
            }
            m.tokens = items.to_token_stream();
        } else {
            let path = m.path.to_token_stream().to_string().replace(' ', "");
            self.fail(
                &m.path,
                format!("#[differentiable] cannot read rows of arrays inside `{path}!` here; bind what it needs to a variable first"),
            );
        }
    }

    /// `vec![[x; N]; n]` as `vec![x; N * n]`, with its rows.
    fn flat_vec(&mut self, e: &mut syn::Expr) -> Option<Rows> {
        use syn::parse::Parser;
        let syn::Expr::Macro(m) = e else { return None };
        if !m.mac.path.is_ident("vec") {
            return None;
        }
        let repeat = |input: syn::parse::ParseStream| -> syn::Result<(syn::ExprRepeat, syn::Expr)> {
            let x: syn::ExprRepeat = input.parse()?;
            input.parse::<syn::Token![;]>()?;
            Ok((x, input.parse()?))
        };
        let (mut row, mut count) = repeat.parse2(m.mac.tokens.clone()).ok()?;
        self.visit_expr_mut(&mut row.expr);
        self.visit_expr_mut(&mut count);
        let (x, n) = (&row.expr, &row.len);
        m.mac.tokens = quote!(#x; (#n) * (#count));
        Some(Rows::new(n))
    }
}

impl VisitMut for Flatten {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        let saved = self.rows.clone();
        for stmt in &mut b.stmts {
            match stmt {
                syn::Stmt::Local(local) => {
                    // `let v: Vec<[f64; 3]> = ..`: rows, annotated.
                    let mut made = match &mut local.pat {
                        syn::Pat::Type(pt) => match rows_of(&pt.ty, &syn::Generics::default()) {
                            Some((form, elem, n)) => {
                                let r = Rows::new(&n);
                                *pt.ty = match form {
                                    Form::Owned => syn::parse_quote!(::std::vec::Vec<#elem>),
                                    Form::Shared => syn::parse_quote!(&[#elem]),
                                    Form::Mut => syn::parse_quote!(&mut [#elem]),
                                };
                                Some(r)
                            }
                            None => None,
                        },
                        _ => None,
                    };
                    if let Some(init) = &mut local.init {
                        if let Some(r) = self.flat_vec(&mut init.expr) {
                            made = Some(r);
                        } else {
                            // A copy of rows holds rows.
                            if let syn::Expr::MethodCall(m) = &*init.expr
                                && ["to_vec", "clone", "to_owned"]
                                    .contains(&m.method.to_string().as_str())
                                && let Some((_, r)) = self.rows_named(&m.receiver)
                            {
                                made = Some(r);
                            }
                            self.visit_expr_mut(&mut init.expr);
                        }
                        if let Some((_, els)) = &mut init.diverge {
                            self.visit_expr_mut(els);
                        }
                    }
                    let mut names = Vec::new();
                    bound(&local.pat, &mut names);
                    self.rows.retain(|(n, _)| !names.contains(n));
                    if let Some(r) = made {
                        let pat = match &mut local.pat {
                            syn::Pat::Type(pt) => {
                                pt.ty = syn::parse_quote!(::std::vec::Vec<_>);
                                &*pt.pat
                            }
                            p => p,
                        };
                        if let syn::Pat::Ident(p) = pat {
                            self.rows.push((p.ident.clone(), r));
                        }
                    }
                }
                other => self.visit_stmt_mut(other),
            }
        }
        self.rows = saved;
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        self.visit_macro_args(m);
    }

    fn visit_expr_closure_mut(&mut self, c: &mut syn::ExprClosure) {
        let pats: Vec<&syn::Pat> = c.inputs.iter().collect();
        let pats: Vec<syn::Pat> = pats.into_iter().cloned().collect();
        let refs: Vec<&syn::Pat> = pats.iter().collect();
        self.shadowed(&refs, |s| s.visit_expr_mut(&mut c.body));
    }

    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        let pat = arm.pat.clone();
        self.shadowed(&[&pat], |s| {
            if let Some((_, g)) = &mut arm.guard {
                s.visit_expr_mut(g);
            }
            s.visit_expr_mut(&mut arm.body);
        });
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        let span = e.span();
        match e {
            // `m[(i, j)]` of a matrix, column-major.
            syn::Expr::Index(ix)
                if matches!(&*ix.index, syn::Expr::Tuple(t) if t.elems.len() == 2)
                    && self.matrix_named(&ix.expr).is_some() =>
            {
                self.visit_expr_mut(&mut ix.index);
                if let (Some(m), syn::Expr::Tuple(t)) = (self.matrix_named(&ix.expr), &*ix.index) {
                    let (i, j, nrows) = (&t.elems[0], &t.elems[1], nrows_of(&m));
                    *e = syn::parse_quote_spanned!(span=> #m[(#i) + (#j) * #nrows]);
                }
            }
            syn::Expr::MethodCall(mc)
                if mc.args.is_empty()
                    && (mc.method == "nrows" || mc.method == "ncols")
                    && self.matrix_named(&mc.receiver).is_some() =>
            {
                if let Some(m) = self.matrix_named(&mc.receiver) {
                    let nrows = nrows_of(&m);
                    *e = match mc.method == "nrows" {
                        true => syn::parse_quote_spanned!(span=> #nrows),
                        false => syn::parse_quote_spanned!(span=> (#m.len() / #nrows)),
                    };
                }
            }
            syn::Expr::Index(ix) => {
                if let syn::Expr::Index(inner) = &mut *ix.expr
                    && let Some((name, r)) = self.rows_named(&inner.expr)
                {
                    self.visit_expr_mut(&mut inner.index);
                    self.visit_expr_mut(&mut ix.index);
                    let (a, b, n) = (&inner.index, &ix.index, &r.n);
                    *e = syn::parse_quote_spanned!(span=> #name[(#a) * (#n) + (#b)]);
                    return;
                }
                if let Some((name, r)) = self.rows_named(&ix.expr) {
                    self.visit_expr_mut(&mut ix.index);
                    let at = (*ix.index).clone();
                    *e = self.row(&name, &r, &at, span);
                    return;
                }
                syn::visit_mut::visit_expr_index_mut(self, ix);
            }
            syn::Expr::Assign(a) => {
                if let syn::Expr::Index(ix) = &mut *a.left
                    && let Some((name, r)) = self.rows_named(&ix.expr)
                {
                    self.visit_expr_mut(&mut ix.index);
                    self.visit_expr_mut(&mut a.right);
                    let (at, value, n) = (&ix.index, &a.right, &r.n);
                    *e = syn::parse_quote_spanned! {span=> {
                        let __value = #value;
                        let __at = (#at) * (#n);
                        for __k in 0..(#n) {
                            #name[__at + __k] = __value[__k];
                        }
                    }};
                    return;
                }
                syn::visit_mut::visit_expr_assign_mut(self, a);
            }
            syn::Expr::MethodCall(m) => {
                if let Some((name, r)) = self.rows_named(&m.receiver) {
                    let method = m.method.to_string();
                    for arg in m.args.iter_mut() {
                        self.visit_expr_mut(arg);
                    }
                    let n = &r.n;
                    match method.as_str() {
                        "len" => *e = syn::parse_quote_spanned!(span=> (#name.len() / (#n))),
                        "iter" | "into_iter" => *e = self.rows_iter(&name, &r, span),
                        "to_vec" | "clone" | "to_owned" | "is_empty" => {}
                        _ => self.fail(
                            &m.method,
                            format!(
                                "#[differentiable] does not take `.{method}()` of rows of arrays \
                                 (`{name}`) yet; index the rows (`{name}[i][k]`) or iterate \
                                 over `{name}.iter()`"
                            ),
                        ),
                    }
                    return;
                }
                self.visit_expr_mut(&mut m.receiver);
                let takes_iter = ["zip", "chain"].contains(&m.method.to_string().as_str());
                for arg in m.args.iter_mut() {
                    match self.rows_named(arg) {
                        Some((name, r)) if takes_iter => {
                            *arg = self.rows_iter(&name, &r, arg.span());
                        }
                        _ => self.visit_expr_mut(arg),
                    }
                }
            }
            // `DVector::from_vec(v)`: the vector is `v`, flat.
            syn::Expr::Call(c)
                if c.args.len() == 1
                    && matches!(&*c.func, syn::Expr::Path(p)
                        if p.path.segments.len() >= 2
                            && p.path.segments.last().is_some_and(|l| l.ident == "from_vec")
                            && p.path.segments[p.path.segments.len() - 2].ident == "DVector") =>
            {
                let mut v = c.args[0].clone();
                self.visit_expr_mut(&mut v);
                *e = v;
            }
            syn::Expr::Call(c) => {
                if c.args.iter().any(|a| self.named(a).is_some()) {
                    c.attrs.push(syn::parse_quote!(#[__autodiff_passes_rows]));
                }
                syn::visit_mut::visit_expr_call_mut(self, c);
                // A matrix passes its row count along, as the callee takes it.
                let mut args = syn::punctuated::Punctuated::new();
                for a in std::mem::take(&mut c.args) {
                    let m = self.matrix_named(&a);
                    args.push(a);
                    if let Some(m) = m {
                        let n = nrows_of(&m);
                        args.push(syn::parse_quote!(#n));
                    }
                }
                c.args = args;
            }
            syn::Expr::ForLoop(fl) => {
                if let Some((name, r, row)) = self.rows_mut(fl) {
                    // `for f in x.iter_mut()`: the body over `x[__row]`.
                    let mut place = Place {
                        name: &row,
                        rows: &name,
                        place: syn::parse_quote!(#name[__row]),
                        error: None,
                    };
                    place.visit_block_mut(&mut fl.body);
                    if let Some(e) = place.error {
                        self.error.get_or_insert(e);
                    }
                    let n = &r.n;
                    *fl.pat = syn::parse_quote!(__row);
                    *fl.expr = syn::parse_quote_spanned!(span=> 0..#name.len() / (#n));
                    self.visit_block_mut(&mut fl.body);
                    return;
                }
                match self.rows_named(&fl.expr) {
                    Some((name, r)) => {
                        *fl.expr = self.rows_iter(&name, &r, fl.expr.span());
                    }
                    None => self.visit_expr_mut(&mut fl.expr),
                }
                let pat = (*fl.pat).clone();
                self.shadowed(&[&pat], |s| s.visit_block_mut(&mut fl.body));
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }
}

/// The row `name` of a `for name in x.iter_mut()` as the place `x[__row]`:
/// `*name` and `name[k]`.
struct Place<'a> {
    name: &'a syn::Ident,
    rows: &'a syn::Ident,
    place: syn::Expr,
    error: Option<syn::Error>,
}

impl VisitMut for Place<'_> {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        let named = |e: &syn::Expr| matches!(e, syn::Expr::Path(p) if p.path.is_ident(self.name));
        match e {
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) && named(&u.expr) => {
                *e = self.place.clone();
            }
            syn::Expr::Index(ix) if named(&ix.expr) => {
                self.visit_expr_mut(&mut ix.index);
                *ix.expr = self.place.clone();
            }
            syn::Expr::Path(_) if named(e) => {
                self.error.get_or_insert_with(|| {
                    syn::Error::new_spanned(
                        &*e,
                        format!(
                            "#[differentiable] takes the rows of `iter_mut()` as `*{0}` or \
                             `{0}[k]`; index the rows instead (`for i in 0..{1}.len()` and \
                             `{1}[i][k]`)",
                            self.name, self.rows
                        ),
                    )
                });
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_macro_mut(&mut self, _: &mut syn::Macro) {}
}

/// Calls that pass rows, as calls of the callee over flat rows
/// (`g(&x)` → `__g_flat(&x)`).
struct FlatCalls;

impl VisitMut for FlatCalls {
    fn visit_expr_call_mut(&mut self, c: &mut syn::ExprCall) {
        if passes_rows(c) {
            c.attrs.retain(|a| !a.path().is_ident(PASSES_ROWS));
            if let syn::Expr::Path(p) = &mut *c.func
                && let Some(last) = p.path.segments.last_mut()
            {
                last.ident = flat_name(&last.ident);
            }
        }
        syn::visit_mut::visit_expr_call_mut(self, c);
    }
}
