//! Phase 1, parse: the attribute's arguments (with darling) and the
//! function's signature, checked and reduced to what later phases need. The
//! body is handed to `lower` as it is.

use darling::FromMeta;
use darling::ast::NestedMeta;
use darling::util::PathList;
use proc_macro2::{Ident, TokenStream};
use quote::ToTokens;

use crate::error::Errors;
use crate::ir::Class;

/// The arguments of `#[differentiable(...)]`.
#[derive(Debug, Default, FromMeta)]
struct Args {
    /// The parameters to differentiate with respect to; all float
    /// parameters when absent.
    #[darling(default)]
    wrt: Option<PathList>,
    /// A parameter in `wrt` that cannot influence the output is an error.
    #[darling(default)]
    strict: bool,
    /// Also emit WGSL kernels and host functions that run them.
    #[darling(default)]
    gpu: bool,
}

const VALID_ARGS: &[&str] = &["wrt", "strict", "gpu"];

/// A parameter of the differentiated function.
pub struct Param {
    pub name: Ident,
    pub ty: TokenStream,
    pub class: Class,
    /// Whether the derivative is taken with respect to it.
    pub active: bool,
    /// The type of its tangent: the type itself for a scalar or an array,
    /// `&[f64]` for a slice or a `&Vec<f64>`.
    pub tangent_ty: TokenStream,
    /// The type of its cotangent: `Vec<f64>` for a slice, the type itself
    /// for a scalar or an array.
    pub grad_ty: TokenStream,
    /// For an array `[T; N]`, the tokens of `N`.
    pub array_len: Option<TokenStream>,
    /// For a slice, the buffer a caller lends the pullback to add its
    /// cotangent into: `&mut [T]`.
    pub sink_ty: Option<TokenStream>,
    /// For an output parameter (`&mut [T]`), whether the function reads it
    /// too: its initial value is an input, whose cotangent the VJP gives
    /// back in the buffer it takes (`&mut [T]`). For `&mut` data, whether
    /// the function writes it.
    pub in_out: bool,
    /// For an in-out parameter, whether the reverse sweep puts it back as
    /// it was (it reads old values: `y[i]`, not only `y[i] += v`).
    pub restores: bool,
}

/// What the function returns: a scalar or a tuple of scalars.
pub enum Output {
    Scalar(TokenStream),
    Tuple(Vec<TokenStream>),
}

impl Output {
    /// The output components, in order.
    pub fn types(&self) -> Vec<&TokenStream> {
        match self {
            Output::Scalar(t) => vec![t],
            Output::Tuple(ts) => ts.iter().collect(),
        }
    }
}

/// The signature, as the later phases need it.
pub struct Signature {
    /// Attributes copied onto the generated siblings (`cfg`, `inline`).
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub ident: Ident,
    pub generics: syn::Generics,
    /// `self`, `&self`, ... when the function is a method.
    pub receiver: Option<TokenStream>,
    /// Whether the output is one float, which has a gradient (and there
    /// is no output parameter).
    pub scalar_output: bool,
    pub params: Vec<Param>,
    pub output: Output,
    /// `#[differentiable(strict)]`: a parameter differentiated with
    /// respect to that cannot influence the output is an error.
    pub strict: bool,
    /// `#[differentiable(gpu)]`: WGSL kernels and host functions too.
    pub gpu: bool,
    /// Whether `wrt(...)` was given.
    pub wrt_given: bool,
    /// Whether the function is known to be in an `impl` block (the block
    /// has `#[differentiable]`): a sibling then names another by `Self::`.
    pub in_impl: bool,
}

impl Signature {
    /// Marks the output parameters the body reads (`reads[k]` for the
    /// `k`-th parameter) as inputs too.
    /// `restores[k]`: whether the reverse sweep puts the parameter back
    /// as it was, for it reads its old values.
    pub fn mark_in_out(&mut self, reads: &[bool], restores: &[bool]) {
        for ((p, &read), &restores) in self.params.iter_mut().zip(reads).zip(restores) {
            if p.class == Class::Array && read {
                p.in_out = true;
                p.restores = restores;
                p.grad_ty = p.tangent_ty.clone();
            }
            // `&mut` data the function writes: the VJP leaves it as the
            // function does, after the reverse sweep put it back.
            if p.class == Class::Ref && read {
                p.in_out = true;
                p.restores = true;
            }
        }
    }

    pub fn active_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.active)
    }

    /// The `&mut [f64]` output parameters.
    pub fn out_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.class == Class::Array)
    }
}

/// The parsed function: the signature and the body to lower.
pub struct Parsed {
    pub sig: Signature,
    pub body: syn::Block,
}

thread_local! {
    /// The type of the `impl` block a method is in, where the block has
    /// `#[differentiable]` too (see [`take_self_type`]).
    static SELF_TYPE: std::cell::RefCell<Option<TokenStream>> = const { std::cell::RefCell::new(None) };
    /// The type parameter that stands for the scalar while a generic
    /// function (`fn f<T: Float>`) is expanded: `T` is a float like `f64`.
    static SCALAR: std::cell::RefCell<Option<Ident>> = const { std::cell::RefCell::new(None) };
    /// Set while a function with struct parameters or variables is
    /// expanded (by [`crate::structs`]): what a call returns may be a
    /// struct there.
    static STRUCTS: std::cell::RefCell<Option<()>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with structs in scope ([`structs_in_scope`]).
pub fn with_structs<R>(f: impl FnOnce() -> R) -> R {
    scoped(&STRUCTS, Some(()), f)
}

/// Whether the function being expanded has struct parameters or variables.
pub fn structs_in_scope() -> bool {
    STRUCTS.with(|s| s.borrow().is_some())
}

/// Takes `__self_type(T)` out of the attribute's arguments: what
/// `#[differentiable]` on an `impl` block adds to the attributes of its
/// methods, the type of `self` (which a method's attribute cannot see).
pub fn take_self_type(args: TokenStream) -> (TokenStream, Option<TokenStream>) {
    take_hidden_arg(args, "__self_type")
}

/// `args` without the hidden argument `name(..)` (which the macro adds to
/// a method's arguments), and what it held.
pub fn take_hidden_arg(args: TokenStream, name: &str) -> (TokenStream, Option<TokenStream>) {
    let tokens: Vec<proc_macro2::TokenTree> = args.into_iter().collect();
    let mut out = Vec::new();
    let mut ty = None;
    let mut i = 0;
    while i < tokens.len() {
        if let (proc_macro2::TokenTree::Ident(id), Some(proc_macro2::TokenTree::Group(g))) =
            (&tokens[i], tokens.get(i + 1))
            && id == name
        {
            ty = Some(g.stream());
            i += 2;
            // The comma before it, if any.
            if let Some(proc_macro2::TokenTree::Punct(p)) = out.last()
                && p.as_char() == ','
            {
                out.pop();
            }
            continue;
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    (out.into_iter().collect(), ty)
}

/// Runs `f` with the type of the `impl` block known (or not), then
/// forgets it.
pub fn with_self_type<R>(ty: Option<TokenStream>, f: impl FnOnce() -> R) -> R {
    scoped(&SELF_TYPE, ty, f)
}

/// Runs `f` with the thread-local `key` set to `value`, then puts back
/// what it held (also when `f` panics).
fn scoped<T: 'static, R>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Option<T>>>,
    value: Option<T>,
    f: impl FnOnce() -> R,
) -> R {
    struct Reset<T: 'static>(
        &'static std::thread::LocalKey<std::cell::RefCell<Option<T>>>,
        Option<T>,
    );
    impl<T: 'static> Drop for Reset<T> {
        fn drop(&mut self) {
            let old = self.1.take();
            self.0.with(|s| *s.borrow_mut() = old);
        }
    }
    let old = key.with(|s| s.replace(value));
    let _reset = Reset(key, old);
    f()
}

/// The type of the `impl` block of the function being expanded, when the
/// block has `#[differentiable]`.
pub fn self_type() -> Option<TokenStream> {
    SELF_TYPE.with(|s| s.borrow().clone())
}

/// The scalar type parameter of the function being expanded, if generic.
pub fn scalar_param() -> Option<Ident> {
    SCALAR.with(|s| s.borrow().clone())
}

/// Runs `f` with `generics`' scalar type parameter (the one bounded by
/// `Float`) as a float type, then forgets it.
pub fn with_scalar_of<R>(generics: &syn::Generics, f: impl FnOnce() -> R) -> R {
    let in_where = |t: &syn::TypeParam| {
        generics
            .where_clause
            .iter()
            .flat_map(|w| &w.predicates)
            .any(|p| match p {
                syn::WherePredicate::Type(pt) => {
                    t.ident == pt.bounded_ty.to_token_stream().to_string()
                        && pt.bounds.iter().any(is_float_bound)
                }
                _ => false,
            })
    };
    let scalar = generics
        .type_params()
        .find(|t| t.bounds.iter().any(is_float_bound) || in_where(t))
        .map(|t| t.ident.clone());
    scoped(&SCALAR, scalar, f)
}

/// Whether a bound is `Float` (`num_traits::Float`, `autodiff::Float`).
fn is_float_bound(b: &syn::TypeParamBound) -> bool {
    match b {
        syn::TypeParamBound::Trait(tb) => {
            tb.path.segments.last().is_some_and(|s| s.ident == "Float")
        }
        _ => false,
    }
}

/// Whether `name` is the scalar type parameter.
pub fn is_scalar_param(name: &Ident) -> bool {
    SCALAR.with(|s| s.borrow().as_ref() == Some(name))
}

/// The class of a value of type `ty`, if it is a scalar the macro knows.
pub fn class_of_type(ty: &syn::Type) -> Option<Class> {
    match ty {
        syn::Type::Paren(p) => class_of_type(&p.elem),
        syn::Type::Group(g) => class_of_type(&g.elem),
        // `<Vec3 as FloatElems>::Elem`: the element of an alias (`aliases.rs`).
        syn::Type::Path(p)
            if p.qself.is_some()
                && p.path.segments.iter().any(|s| s.ident == "FloatElems")
                && p.path.segments.last().is_some_and(|s| s.ident == "Elem") =>
        {
            Some(Class::Float)
        }
        syn::Type::Path(p) if p.qself.is_none() => {
            let name = p.path.get_ident()?;
            if is_scalar_param(name) {
                return Some(Class::Float);
            }
            if crate::aliases::meaning(name) == Some(crate::aliases::Meaning::Float) {
                return Some(Class::Float);
            }
            let ident = name.to_string();
            match ident.as_str() {
                "f32" | "f64" => Some(Class::Float),
                "bool" => Some(Class::Bool),
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
                | "u128" | "usize" => Some(Class::Int),
                _ => None,
            }
        }
        _ => None,
    }
}

pub fn parse(args: TokenStream, item: &syn::ItemFn) -> syn::Result<Parsed> {
    let mut errors = Errors::default();
    let args = parse_args(args, &mut errors);
    let sig = &item.sig;

    if let Some(c) = &sig.constness {
        errors.at(
            c,
            "#[differentiable] does not support `const fn`; remove `const`",
        );
    }
    if let Some(a) = &sig.asyncness {
        errors.at(
            a,
            "#[differentiable] does not support `async fn`; differentiate a synchronous function",
        );
    }
    if let Some(u) = &sig.unsafety {
        errors.at(
            u,
            "#[differentiable] does not support `unsafe fn`; differentiate a safe function",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            "#[differentiable] does not support `extern` functions; remove the ABI",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.at(v, "#[differentiable] does not support variadic functions");
    }
    for param in &sig.generics.params {
        match param {
            syn::GenericParam::Lifetime(_) => {}
            syn::GenericParam::Type(t) if is_scalar_param(&t.ident) => {}
            syn::GenericParam::Type(_) | syn::GenericParam::Const(_) => errors.at(
                param,
                "#[differentiable] supports one type parameter, the scalar (`T: Float`), \
                 and no const generic parameters; write the function for that scalar",
            ),
        }
    }

    let mut receiver = None;
    let mut params = Vec::new();
    let before = !errors.is_empty();
    let mut rejected = false;
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(r) => {
                let mut r = r.clone();
                r.attrs.clear();
                receiver = Some(r.into_token_stream());
            }
            syn::FnArg::Typed(pt) => match parse_param(pt, &mut errors) {
                Some(p) => params.push(p),
                None => rejected = true,
            },
        }
    }

    let has_out = params.iter().any(|p: &Param| p.class == Class::Array);
    let output = match (&sig.output, has_out) {
        (syn::ReturnType::Default, true) => Some(Output::Tuple(vec![])),
        _ => parse_output(sig, &mut errors),
    };
    apply_wrt(&args, &mut params, &mut errors);
    // Not repeated when a parameter or the generics were already rejected.
    if !rejected
        && !before
        && !params.iter().any(|p| {
            matches!(
                p.class,
                Class::Float | Class::Slice | Class::Vector | Class::Array
            )
        })
    {
        // Type names the body gave no meaning: say so.
        let unresolved: Vec<String> = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(pt) => crate::aliases::unresolved(&pt.ty).map(|n| {
                    let p = pt.pat.to_token_stream();
                    format!("`{p}: {n}`")
                }),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        let hint = match unresolved.is_empty() {
            true => String::new(),
            false => format!(
                "; #[differentiable] cannot see what the types of {} stand for, and the body \
                 does not say (it does not index them or compute with them): write the types \
                 out (`[f64; 3]`, `f64`)",
                unresolved.join(", ")
            ),
        };
        errors.at(
            &sig.inputs,
            format_args!(
                "`{}` has no f32/f64 parameter to differentiate with respect to{hint}",
                sig.ident
            ),
        );
    }

    let attrs = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg") || a.path().is_ident("inline"))
        .cloned()
        .collect();
    let output = errors.finish(output)?;
    let Some(output) = output else {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a #[differentiable] function must return `f64`, `f32`, or a tuple of them",
        ));
    };
    Ok(Parsed {
        sig: Signature {
            attrs,
            vis: item.vis.clone(),
            ident: sig.ident.clone(),
            generics: sig.generics.clone(),
            receiver,
            params,
            scalar_output: !has_out
                && matches!(&item.sig.output, syn::ReturnType::Type(_, t) if class_of_type(t) == Some(Class::Float)),
            output,
            strict: args.strict,
            gpu: args.gpu,
            wrt_given: args.wrt.is_some(),
            in_impl: self_type().is_some(),
        },
        body: (*item.block).clone(),
    })
}

fn parse_args(args: TokenStream, errors: &mut Errors) -> Args {
    let metas = match NestedMeta::parse_meta_list(args) {
        Ok(m) => m,
        Err(e) => {
            errors.push(e);
            return Args::default();
        }
    };
    let mut known = Vec::new();
    for meta in metas {
        let key = match &meta {
            NestedMeta::Meta(m) => m.path().get_ident().map(|i| i.to_string()),
            NestedMeta::Lit(_) => None,
        };
        match key {
            Some(k) if VALID_ARGS.contains(&k.as_str()) => known.push(meta),
            _ => errors.at(
                &meta,
                format_args!(
                    "unknown argument of #[differentiable]; valid arguments: {}",
                    "`wrt(...)`, `strict`"
                ),
            ),
        }
    }
    match Args::from_list(&known) {
        Ok(a) => a,
        Err(e) => {
            errors.push(e.into());
            Args::default()
        }
    }
}

fn parse_param(pt: &syn::PatType, errors: &mut Errors) -> Option<Param> {
    let name = match &*pt.pat {
        syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => pi.ident.clone(),
        other => {
            errors.at(
                other,
                "#[differentiable] needs each parameter to be a plain name (`x: f64` or `mut x: f64`); \
                 destructure inside the body",
            );
            return None;
        }
    };
    let ty = &*pt.ty;
    let tokens = ty.to_token_stream();
    let scalar = |class| Param {
        name: name.clone(),
        ty: tokens.clone(),
        class,
        active: class == Class::Float,
        tangent_ty: tokens.clone(),
        grad_ty: tokens.clone(),
        array_len: None,
        sink_ty: None,
        in_out: false,
        restores: false,
    };
    match float_sequence(ty) {
        Some(Sequence::Slice(elem)) => {
            return Some(Param {
                class: Class::Slice,
                active: true,
                tangent_ty: quote::quote!(&[#elem]),
                grad_ty: quote::quote!(::std::vec::Vec<#elem>),
                sink_ty: Some(quote::quote!(&mut [#elem])),
                ..scalar(Class::Slice)
            });
        }
        Some(Sequence::Array(len)) => {
            return Some(Param {
                class: Class::Vector,
                active: true,
                array_len: Some(len),
                ..scalar(Class::Vector)
            });
        }
        None => {}
    }
    match ty {
        syn::Type::Reference(r) if r.mutability.is_some() => match &*r.elem {
            // An output parameter: written, never read.
            syn::Type::Slice(s) if class_of_type(&s.elem) == Some(Class::Float) => {
                let elem = &s.elem;
                Some(Param {
                    class: Class::Array,
                    active: false,
                    tangent_ty: quote::quote!(&mut [#elem]),
                    grad_ty: quote::quote!(&[#elem]),
                    sink_ty: Some(quote::quote!(&mut [#elem])),
                    ..scalar(Class::Array)
                })
            }
            elem if !mentions_float(elem) => Some(scalar(Class::Ref)),
            _ => {
                errors.at(
                    ty,
                    "#[differentiable] supports `&mut` parameters of type `&mut [f64]` (outputs) and \
                     `&mut` data without floats (`&mut [usize]`); return other values instead",
                );
                None
            }
        },
        // Data that carries no derivative: `&[usize]`, `&[bool]`, `&Config`.
        syn::Type::Reference(r) if !mentions_float(&r.elem) => Some(scalar(Class::Ref)),
        syn::Type::Reference(_) | syn::Type::Ptr(_) => {
            errors.at(
                ty,
                "#[differentiable] supports references to f32/f64 slices (`&[f64]`, `&Vec<f64>`) \
                 and to data without floats (`&[usize]`, `&Config`); pass the floats as `&[f64]` \
                 slices or by value",
            );
            None
        }
        syn::Type::Array(_) | syn::Type::Slice(_) | syn::Type::Tuple(_) if !mentions_float(ty) => {
            Some(scalar(Class::Other))
        }
        syn::Type::Array(_) | syn::Type::Slice(_) | syn::Type::Tuple(_) => {
            errors.at(
                ty,
                "#[differentiable] supports arrays of f32/f64 (`[f64; N]`) and slices of them; \
                 pass other tuples or arrays element by element",
            );
            None
        }
        _ if class_of_type(ty).is_none() && mentions_float(ty) => {
            errors.at(
                ty,
                "#[differentiable] takes floats as `f64`, `[f64; N]`, `&[f64]` or `&Vec<f64>` \
                 (or `f32`); pass this value as one of those",
            );
            None
        }
        _ => Some(scalar(class_of_type(ty).unwrap_or(Class::Other))),
    }
}

/// Whether a type names `f32` or `f64` anywhere: data that holds floats,
/// which the macro would not differentiate if it took it as a constant.
fn mentions_float(ty: &syn::Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "f64" || i == "f32" || is_scalar_param(&i),
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

/// A parameter holding floats in sequence.
enum Sequence {
    /// `&[T]` or `&Vec<T>`: the element type.
    Slice(TokenStream),
    /// `[T; N]`: the length.
    Array(TokenStream),
}

fn float_sequence(ty: &syn::Type) -> Option<Sequence> {
    let is_float = |t: &syn::Type| class_of_type(t) == Some(Class::Float);
    match ty {
        syn::Type::Array(a) if is_float(&a.elem) => Some(Sequence::Array(a.len.to_token_stream())),
        // `type Vec3 = [f64; 3]` by value, `&Series` (`aliases.rs`).
        _ if crate::aliases::floats_alias(ty) => Some(Sequence::Array(crate::aliases::len_of(ty))),
        syn::Type::Reference(r)
            if r.mutability.is_none() && crate::aliases::floats_alias(&r.elem) =>
        {
            Some(Sequence::Slice(crate::aliases::elem_of(&r.elem)))
        }
        syn::Type::Reference(r) if r.mutability.is_none() => match &*r.elem {
            syn::Type::Slice(s) if is_float(&s.elem) => {
                Some(Sequence::Slice(s.elem.to_token_stream()))
            }
            syn::Type::Array(a) if is_float(&a.elem) => {
                Some(Sequence::Slice(a.elem.to_token_stream()))
            }
            syn::Type::Path(p) if p.qself.is_none() => {
                let last = p.path.segments.last()?;
                let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                    return None;
                };
                match (last.ident == "Vec", args.args.first()) {
                    (true, Some(syn::GenericArgument::Type(t)))
                        if args.args.len() == 1 && is_float(t) =>
                    {
                        Some(Sequence::Slice(t.to_token_stream()))
                    }
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    }
}

fn parse_output(sig: &syn::Signature, errors: &mut Errors) -> Option<Output> {
    const HELP: &str = "a #[differentiable] function must return `f64`, `f32`, `Vec<f64>`, `[f64; N]`, \
         or a tuple of them";
    let ty = match &sig.output {
        syn::ReturnType::Default => {
            let span = sig.paren_token.span.close();
            errors.at_span(span, format_args!("{HELP}; this one returns `()`"));
            return None;
        }
        syn::ReturnType::Type(_, ty) => &**ty,
    };
    let scalar = |t: &syn::Type, errors: &mut Errors| {
        if class_of_type(t) == Some(Class::Float) || is_float_array(t) {
            Some(t.to_token_stream())
        } else {
            errors.at(t, HELP);
            None
        }
    };
    match ty {
        syn::Type::Tuple(t) if !t.elems.is_empty() => {
            let elems: Vec<_> = t.elems.iter().map(|e| scalar(e, errors)).collect();
            elems
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(Output::Tuple)
        }
        _ => scalar(ty, errors).map(Output::Scalar),
    }
}

/// `Vec<f64>` or `[f64; N]` (or with `f32`): an array output.
pub fn is_float_array(ty: &syn::Type) -> bool {
    let is_float = |t: &syn::Type| class_of_type(t) == Some(Class::Float);
    if crate::aliases::floats_alias(ty) {
        return true;
    }
    match ty {
        syn::Type::Array(a) => is_float(&a.elem),
        syn::Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            match &last.arguments {
                syn::PathArguments::AngleBracketed(args)
                    if last.ident == "Vec" && args.args.len() == 1 =>
                {
                    matches!(args.args.first(), Some(syn::GenericArgument::Type(t)) if is_float(t))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

fn apply_wrt(args: &Args, params: &mut [Param], errors: &mut Errors) {
    let Some(wrt) = &args.wrt else { return };
    let floats: Vec<String> = params
        .iter()
        .filter(|p| matches!(p.class, Class::Float | Class::Slice | Class::Vector))
        .map(|p| format!("`{}`", p.name))
        .collect();
    let floats = if floats.is_empty() {
        "none".to_string()
    } else {
        floats.join(", ")
    };
    if wrt.is_empty() {
        errors.at_span(
            proc_macro2::Span::call_site(),
            format_args!("`wrt()` names no parameter; name some of the float parameters: {floats}"),
        );
        return;
    }
    for p in params.iter_mut() {
        p.active = false;
    }
    for (i, path) in wrt.iter().enumerate() {
        let Some(ident) = path.get_ident() else {
            errors.at(
                path,
                format_args!("`wrt` takes parameter names; float parameters: {floats}"),
            );
            continue;
        };
        if wrt[..i].iter().any(|p| p == path) {
            errors.at(path, format_args!("`{ident}` is named twice in `wrt`"));
            continue;
        }
        match params.iter_mut().find(|p| p.name == *ident) {
            Some(p) if matches!(p.class, Class::Float | Class::Slice | Class::Vector) => {
                p.active = true
            }
            Some(_) => errors.at(
                path,
                format_args!(
                    "`{ident}` is not an f32/f64 parameter, so it cannot be differentiated; \
                     float parameters: {floats}"
                ),
            ),
            None => errors.at(
                path,
                format_args!(
                    "`{ident}` is not a parameter of this function; float parameters: {floats}"
                ),
            ),
        }
    }
}
