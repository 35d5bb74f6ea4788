//! `__differentiable_with_fields!`: a function differentiated with respect
//! to a struct, once the struct's macro has told its fields.
//!
//! A struct nested in another (`l1: Layer` in `Net`) is told by its own
//! macro: the request goes to `Layer!` with the path of the field, which
//! calls back with `@resolve`; when every nested struct is known
//! ([`resolve`]), the function is differentiated through an inner function
//! taking each float leaf (`p.l1.w`) as a parameter of its own.
//!
//! A call that passes the struct (or a nested one) to another function
//! (`layer(&p.l1, x)`) becomes a call of that function's inner function
//! with the leaves as arguments (`__layer_fields(&p.l1, &p.l1.w, ..)`), so
//! the derivative flows through it.

use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;

use super::locals::fields_fn;
use super::siblings::outer_siblings;
use super::{Field, Kind, kind_of, tangent_name, wrt_names};

/// `__differentiable_with_fields! { [Struct Tangent fields..] (args) item }`,
/// or `@resolve (path) [Nested NestedTangent fields..]` before it: the
/// fields of the struct at `path`.
pub(super) struct WithFields {
    pub(super) strukt: Ident,
    pub(super) tangent: Ident,
    pub(super) fields: Vec<Field>,
    pub(super) args: TokenStream,
    pub(super) item: syn::ItemFn,
}

/// A table of fields: `kind name: type`, a known nested struct as
/// `resolved name: Type [Type TypeTangent fields..]`.
fn parse_table(input: ParseStream) -> syn::Result<(Ident, Ident, Vec<Field>)> {
    let table;
    syn::bracketed!(table in input);
    let strukt: Ident = table.parse()?;
    let tangent: Ident = table.parse()?;
    let mut fields = Vec::new();
    while !table.is_empty() {
        let kind: Ident = table.parse()?;
        let name: Ident = table.call(Ident::parse_any)?;
        table.parse::<syn::Token![:]>()?;
        let ty: syn::Type = table.parse()?;
        let kind = match kind.to_string().as_str() {
            "scalar" => Some(Kind::Scalar),
            "vec" => kind_of(&ty),
            "array" => Some(Kind::Array),
            "nested" => Some(Kind::Nested(type_ident(&ty)?, None)),
            "resolved" => {
                let (sub, _, sub_fields) = parse_table(&table)?;
                Some(Kind::Nested(sub, Some(sub_fields)))
            }
            _ => None,
        };
        fields.push(Field { name, ty, kind });
        if !table.is_empty() {
            table.parse::<syn::Token![,]>()?;
        }
    }
    Ok((strukt, tangent, fields))
}

fn type_ident(ty: &syn::Type) -> syn::Result<Ident> {
    match ty {
        syn::Type::Path(p) if p.path.get_ident().is_some() => Ok(p
            .path
            .get_ident()
            .cloned()
            .unwrap_or_else(|| format_ident!("_"))),
        _ => Err(syn::Error::new_spanned(ty, "expected a struct name")),
    }
}

fn table_tokens(strukt: &Ident, tangent: &Ident, fields: &[Field]) -> TokenStream {
    let entries = fields.iter().map(|f| {
        let (n, ty) = (&f.name, &f.ty);
        match &f.kind {
            None => quote!(no_diff #n: #ty),
            Some(Kind::Scalar) => quote!(scalar #n: #ty),
            Some(Kind::Vec(_)) => quote!(vec #n: #ty),
            Some(Kind::Array) => quote!(array #n: #ty),
            Some(Kind::Nested(_, None)) => quote!(nested #n: #ty),
            Some(Kind::Nested(sub, Some(fs))) => {
                let table = table_tokens(sub, &tangent_name(sub), fs);
                quote!(resolved #n: #ty #table)
            }
        }
    });
    quote!([#strukt #tangent #(#entries),*])
}

impl Parse for WithFields {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // The fields of a nested struct, for the field at `path`.
        let mut resolved = None;
        if input.peek(syn::Token![@]) {
            input.parse::<syn::Token![@]>()?;
            let _resolve: Ident = input.parse()?;
            let path;
            syn::parenthesized!(path in input);
            let path: Vec<Ident> = path
                .parse_terminated(Ident::parse_any, syn::Token![.])?
                .into_iter()
                .collect();
            let (_, _, fields) = parse_table(input)?;
            resolved = Some((path, fields));
        }
        let (strukt, tangent, mut fields) = parse_table(input)?;
        if let Some((path, sub)) = resolved
            && let Some(Field {
                kind: Some(Kind::Nested(_, known)),
                ..
            }) = field_at(&mut fields, &path)
        {
            *known = Some(sub);
        }
        let args;
        syn::parenthesized!(args in input);
        let args: TokenStream = args.parse()?;
        let item: syn::ItemFn = input.parse()?;
        Ok(WithFields {
            strukt,
            tangent,
            fields,
            args,
            item,
        })
    }
}

fn field_at<'a>(fields: &'a mut [Field], path: &[Ident]) -> Option<&'a mut Field> {
    let (first, rest) = path.split_first()?;
    let f = fields.iter_mut().find(|f| &f.name == first)?;
    if rest.is_empty() {
        return Some(f);
    }
    match &mut f.kind {
        Some(Kind::Nested(_, Some(sub))) => field_at(sub, rest),
        _ => None,
    }
}

/// The path and type of the first nested struct whose fields are not
/// known yet.
fn unresolved(fields: &[Field], prefix: &[Ident]) -> Option<(Vec<Ident>, Ident)> {
    for f in fields {
        let mut path = prefix.to_vec();
        path.push(f.name.clone());
        match &f.kind {
            Some(Kind::Nested(t, None)) => return Some((path, t.clone())),
            Some(Kind::Nested(_, Some(sub))) => {
                if let Some(found) = unresolved(sub, &path) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// A float field at the end of a path of nested structs.
#[derive(Clone)]
pub(super) struct Leaf {
    pub(super) path: Vec<Ident>,
    pub(super) ty: syn::Type,
    pub(super) kind: Kind,
}

pub(super) fn leaves(fields: &[Field], prefix: &[Ident], out: &mut Vec<Leaf>) {
    for f in fields {
        let mut path = prefix.to_vec();
        path.push(f.name.clone());
        match &f.kind {
            None => {}
            Some(Kind::Nested(_, Some(sub))) => leaves(sub, &path, out),
            Some(Kind::Nested(_, None)) => {}
            Some(k) => out.push(Leaf {
                path,
                ty: f.ty.clone(),
                kind: k.clone(),
            }),
        }
    }
}

/// `__p_w` for the leaf at `p.w`, `__p_l1__w` for `p.l1.w` (the path
/// starts at the parameter).
pub(super) fn leaf_ident(path: &[Ident]) -> Ident {
    let names: Vec<String> = path
        .iter()
        .map(|i| i.to_string().trim_start_matches("r#").to_string())
        .collect();
    match names.split_first() {
        Some((param, rest)) => format_ident!("__{}_{}", param, rest.join("__")),
        None => format_ident!("__leaf"),
    }
}

/// `p.a.b` as its root and path, if it is a chain of named fields.
pub(super) fn field_chain(e: &syn::Expr) -> Option<(Ident, Vec<Ident>)> {
    match e {
        syn::Expr::Field(f) => {
            let syn::Member::Named(m) = &f.member else {
                return None;
            };
            let (root, mut path) = field_chain(&f.base)?;
            path.push(m.clone());
            Some((root, path))
        }
        syn::Expr::Path(p) => Some((p.path.get_ident()?.clone(), Vec::new())),
        syn::Expr::Paren(p) => field_chain(&p.expr),
        _ => None,
    }
}

/// The expressions of `vec![a, b]` or `vec![x; n]` (which syn's visitors
/// do not enter: a macro's tokens), each given to `f` to rewrite.
fn vec_exprs(m: &mut syn::Macro, f: &mut dyn FnMut(&mut syn::Expr)) {
    use syn::parse::Parser;
    if !m.path.is_ident("vec") {
        return;
    }
    let repeat = |input: ParseStream| -> syn::Result<(syn::Expr, syn::Expr)> {
        let x: syn::Expr = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        Ok((x, input.parse()?))
    };
    if let Ok((mut x, mut n)) = repeat.parse2(m.tokens.clone()) {
        f(&mut x);
        f(&mut n);
        m.tokens = quote!(#x; #n);
    } else if let Ok(mut items) =
        syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated
            .parse2(m.tokens.clone())
    {
        for e in items.iter_mut() {
            f(e);
        }
        m.tokens = items.to_token_stream();
    }
}

/// What a field chain rooted at the struct parameter names.
enum Named<'a> {
    Leaf(&'a Leaf),
    /// The struct itself (an empty path) or a nested one: its leaves, and
    /// whether it has `#[no_diff]` fields (which its inner function reads
    /// from the struct, passed first).
    Struct(Vec<Leaf>, bool),
    Other,
}

/// The struct parameters (a field each, named like the parameter) and
/// their leaves, whose paths start at the parameter.
struct Fields<'a> {
    params: &'a [Field],
    leaves: &'a [Leaf],
}

impl Fields<'_> {
    fn named(&self, e: &syn::Expr) -> Option<Named<'_>> {
        let (root, rel) = field_chain(e)?;
        if !self.params.iter().any(|f| f.name == root) {
            return None;
        }
        let mut path = vec![root];
        path.extend(rel);
        if let Some(l) = self.leaves.iter().find(|l| l.path == path) {
            return Some(Named::Leaf(l));
        }
        let mut fields = self.params;
        for name in &path {
            match fields.iter().find(|f| &f.name == name) {
                Some(Field {
                    kind: Some(Kind::Nested(_, Some(sub))),
                    ..
                }) => fields = sub,
                _ => return Some(Named::Other),
            }
        }
        let mut out = Vec::new();
        leaves(fields, &path, &mut out);
        Some(Named::Struct(out, has_no_diff(fields)))
    }

    /// The type of the struct (or nested struct) `e` names.
    fn struct_type(&self, e: &syn::Expr) -> Option<Ident> {
        let (root, rel) = field_chain(e)?;
        let mut fields = self.params;
        let mut ty = None;
        for name in std::iter::once(&root).chain(&rel) {
            match &fields.iter().find(|f| &f.name == name)?.kind {
                Some(Kind::Nested(t, Some(sub))) => {
                    ty = Some(t.clone());
                    fields = sub;
                }
                _ => return None,
            }
        }
        ty
    }
}

/// Methods that copy a struct value, which struct variables handle.
const COPIES: [&str; 2] = ["clone", "to_owned"];

/// Method calls on struct values: on `self` or another value of the
/// `impl` block's type, of methods of the block differentiated with
/// respect to `self` (`self.kinetic()`, `other.kinetic()`); on a value of
/// another type (`p.predict(x)` in a free function, `p.l1.forward(x)`),
/// of any method but a copy. Each becomes the method's path call
/// (`Params::kinetic(&self)`), which [`PassOn`] then turns into a call of
/// the method's inner function with the leaves.
struct MethodCalls<'a> {
    fields: Fields<'a>,
    /// The `impl` block's type, and its methods with `wrt(self)`.
    impl_type: Option<&'a Ident>,
    methods: &'a [Ident],
}

impl VisitMut for MethodCalls<'_> {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        vec_exprs(m, &mut |e| self.visit_expr_mut(e));
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        let syn::Expr::MethodCall(m) = e else { return };
        if m.turbofish.is_some() || COPIES.iter().any(|c| m.method == c) {
            return;
        }
        let Some(ty) = self.fields.struct_type(&m.receiver) else {
            return;
        };
        // In the type's own block, the methods with `wrt(self)`; a value
        // of another type has its methods in another block, which this
        // one cannot see: every method called on it is taken for one.
        if self.impl_type == Some(&ty) && !self.methods.contains(&m.method) {
            return;
        }
        let (recv, method) = (&m.receiver, &m.method);
        let args = m.args.iter();
        *e = syn::parse_quote_spanned!(method.span()=> #ty::#method(&#recv, #(#args),*));
    }
}

/// Calls that pass the struct or a nested one on (`g(&p.l1, x)`): the
/// callee's inner function with the leaves after it
/// (`__g_fields(&p.l1, &p.l1.w, p.l1.b, x)`), which [`Rename`] then turns
/// into the leaves' parameters.
struct PassOn<'a> {
    fields: Fields<'a>,
    /// The struct variables (not parameters).
    variables: &'a [Ident],
    error: Option<syn::Error>,
    /// The struct parameters that are references.
    by_ref: &'a [Ident],
}

impl VisitMut for PassOn<'_> {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        vec_exprs(m, &mut |e| self.visit_expr_mut(e));
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        let syn::Expr::Call(call) = e else { return };
        let syn::Expr::Path(func) = &mut *call.func else {
            return;
        };
        let strip = |a: &syn::Expr| match a {
            syn::Expr::Reference(r) if r.mutability.is_none() => (*r.expr).clone(),
            a => a.clone(),
        };
        let mut args: Vec<syn::Expr> = Vec::new();
        let mut any = false;
        for a in &call.args {
            let base = strip(a);
            let (Some(Named::Struct(leaves, data)), Some((root, rel))) =
                (self.fields.named(&base), field_chain(&base))
            else {
                args.push(a.clone());
                continue;
            };
            any = true;
            // A struct with `#[no_diff]` fields goes first, by reference;
            // one without is its leaves alone.
            if data && self.variables.contains(&root) {
                self.error.get_or_insert_with(|| {
                    syn::Error::new_spanned(
                        a,
                        format!(
                            "#[differentiable] passes struct variables on only where their \
                             struct has no `#[no_diff]` fields (the callee reads those from a \
                             struct, which `{root}` no longer is); pass the fields the callee \
                             needs, or make `{root}` a parameter"
                        ),
                    )
                });
            }
            if data {
                args.push(if rel.is_empty() && self.by_ref.contains(&root) {
                    base.clone()
                } else {
                    syn::parse_quote!(&#base)
                });
            }
            for l in &leaves {
                let rest = &l.path[1 + rel.len()..];
                let access: syn::Expr = syn::parse_quote!(#base #(. #rest)*);
                args.push(match l.kind {
                    Kind::Vec(_) => syn::parse_quote!(&#access),
                    _ => access,
                });
            }
        }
        if any {
            func.path = fields_fn(&func.path);
            call.args = args.into_iter().collect();
        }
    }
}

/// Rewrites `p.field` and `p.nested.field` (and `&p.field` of a `Vec`
/// field) into the leaf's own parameter.
struct Rename<'a> {
    fields: Fields<'a>,
}

impl VisitMut for Rename<'_> {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        vec_exprs(m, &mut |e| self.visit_expr_mut(e));
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        if let syn::Expr::Reference(r) = e
            && r.mutability.is_none()
            && let Some(Named::Leaf(l)) = self.fields.named(&r.expr)
            && matches!(l.kind, Kind::Vec(_))
        {
            let ident = leaf_ident(&l.path);
            *e = syn::parse_quote!(#ident);
            return;
        }
        if let Some(Named::Leaf(l)) = self.fields.named(e) {
            let ident = leaf_ident(&l.path);
            *e = syn::parse_quote!(#ident);
            return;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// Whether `path` names the struct (`Params`, or `Self` in a method).
fn names_struct(path: &syn::Path, strukt: &Ident, method: bool) -> bool {
    path.is_ident(strukt) || (method && path.is_ident("Self"))
}

/// A function returning the struct it differentiates with respect to:
/// each literal of it (`Params { w: .., b: .. }`) becomes the tuple of its
/// float leaves, which the inner function returns.
struct OutLiteral<'a> {
    strukt: &'a Ident,
    method: bool,
    leaves: &'a [Leaf],
    error: Option<syn::Error>,
}

/// The expression of the leaf at `path` in the literal `lit` (nested
/// structs as literals too).
pub(super) fn leaf_expr(lit: &syn::ExprStruct, path: &[Ident]) -> Result<syn::Expr, syn::Error> {
    let missing = || {
        syn::Error::new_spanned(
            lit,
            format!(
                "#[differentiable] takes this struct apart into its float fields; give the field \
                 `{}` here (a nested struct as a literal)",
                path.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(".")
            ),
        )
    };
    if let Some(rest) = &lit.rest {
        return Err(syn::Error::new_spanned(
            rest,
            "#[differentiable] takes this struct apart into its float fields, written out: \
             give every field instead of `..base`",
        ));
    }
    let (first, rest) = path.split_first().ok_or_else(missing)?;
    let value = lit
        .fields
        .iter()
        .find(|f| matches!(&f.member, syn::Member::Named(m) if m == first))
        .ok_or_else(missing)?;
    if rest.is_empty() {
        return Ok(value.expr.clone());
    }
    match &value.expr {
        syn::Expr::Struct(inner) => leaf_expr(inner, rest),
        _ => Err(missing()),
    }
}

impl VisitMut for OutLiteral<'_> {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        vec_exprs(m, &mut |e| self.visit_expr_mut(e));
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        if let syn::Expr::Struct(lit) = e
            && names_struct(&lit.path, self.strukt, self.method)
        {
            let exprs: Result<Vec<syn::Expr>, syn::Error> = self
                .leaves
                .iter()
                .map(|l| leaf_expr(lit, &l.path))
                .collect();
            match exprs {
                Ok(exprs) => {
                    *e = if exprs.len() == 1 {
                        exprs[0].clone()
                    } else {
                        syn::parse_quote!((#(#exprs),*))
                    };
                }
                Err(err) => {
                    self.error.get_or_insert(err);
                }
            }
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// The type the inner function returns for the leaves: one, or a tuple.
fn leaves_type(leaves: &[Leaf]) -> TokenStream {
    let tys: Vec<TokenStream> = leaves
        .iter()
        .map(|l| match &l.kind {
            Kind::Vec(elem) => quote!(::std::vec::Vec<#elem>),
            _ => l.ty.to_token_stream(),
        })
        .collect();
    crate::emit::tuple_or_single(&tys)
}

/// Whether a struct has `#[no_diff]` fields, nested ones included.
pub(super) fn has_no_diff(fields: &[Field]) -> bool {
    fields.iter().any(|f| match &f.kind {
        None => true,
        Some(Kind::Nested(_, Some(sub))) => has_no_diff(sub),
        _ => false,
    })
}

/// A struct literal from the leaves' values (`v(path)` each): of the
/// struct itself, `Params { w: v0, inner: Inner { b: v1 } }`, or of its
/// tangent type (`tangent`), which has no `#[no_diff]` fields.
/// `top` is the struct's name, also for a tangent literal, which names its
/// type through the trait ([`super::tangent_ty`]) by a local alias (a
/// struct literal cannot take a qualified path).
pub(super) fn literal(
    top: &Ident,
    fields: &[Field],
    prefix: &[Ident],
    tangent: bool,
    v: &dyn Fn(&[Ident]) -> TokenStream,
) -> TokenStream {
    let items = fields.iter().filter_map(|f| {
        let n = &f.name;
        let mut path = prefix.to_vec();
        path.push(n.clone());
        match &f.kind {
            None | Some(Kind::Nested(_, None)) if tangent => None,
            Some(Kind::Nested(sub, Some(fs))) => {
                let inner = literal(sub, fs, &path, tangent, v);
                Some(quote!(#n: #inner))
            }
            _ => {
                let value = v(&path);
                Some(quote!(#n: #value))
            }
        }
    });
    match tangent {
        true => {
            let ty = super::tangent_ty(top);
            quote!({
                #[allow(non_camel_case_types)]
                type __Tangent = #ty;
                __Tangent { #(#items),* }
            })
        }
        false => quote!(#top { #(#items),* }),
    }
}

/// `self` in the body of a method's inner function: its parameter
/// `__self` (what is left are reads of `#[no_diff]` fields).
struct SelfToParam;

impl VisitMut for SelfToParam {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        vec_exprs(m, &mut |e| self.visit_expr_mut(e));
    }

    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        if let syn::Expr::Path(p) = e
            && p.path.is_ident("self")
        {
            *e = syn::parse_quote!(__self);
            return;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// Finds a use of the struct parameter (or of a nested struct) other than
/// a read of a `#[no_diff]` field or an argument of an inner function.
struct Leftover<'a> {
    fields: Fields<'a>,
    /// Where, and the parameter.
    found: Option<(proc_macro2::Span, Ident)>,
}

impl<'ast> syn::visit::Visit<'ast> for Leftover<'_> {
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let mut m = m.clone();
        vec_exprs(&mut m, &mut |e| self.visit_expr(e));
    }

    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        match self.fields.named(e) {
            Some(Named::Other) => return,
            Some(_) => {
                let root = field_chain(e).map(|(r, _)| r);
                if let Some(root) = root {
                    self.found
                        .get_or_insert((syn::spanned::Spanned::span(e), root));
                }
                return;
            }
            None => {}
        }
        // The struct an inner function takes first.
        if let syn::Expr::Call(call) = e
            && let syn::Expr::Path(func) = &*call.func
            && func.path.segments.last().is_some_and(|s| {
                let s = s.ident.to_string();
                s.starts_with("__") && s.ends_with("_fields")
            })
        {
            for a in &call.args {
                let a = match a {
                    syn::Expr::Reference(r) => &*r.expr,
                    a => a,
                };
                if matches!(self.fields.named(a), Some(Named::Struct(..))) {
                    continue;
                }
                self.visit_expr(a);
            }
            return;
        }
        syn::visit::visit_expr(self, e);
    }
}

/// `__differentiable_with_fields!`: the siblings of the function (which
/// the attribute emitted itself, so that it exists whatever happens here),
/// or first the next nested struct's fields.
pub fn expand_with_fields(input: TokenStream) -> TokenStream {
    let parsed: WithFields = match syn::parse2(input) {
        Ok(p) => p,
        Err(e) => return e.to_compile_error(),
    };
    if let Some((path, ty)) = unresolved(&parsed.fields, &[]) {
        let table = table_tokens(&parsed.strukt, &parsed.tangent, &parsed.fields);
        let (args, item) = (&parsed.args, &parsed.item);
        return quote!(#ty! { @fields (#(#path).*) #table (#args) #item });
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with_fields(parsed))) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => e.to_compile_error(),
        Err(_) => syn::Error::new(
            proc_macro2::Span::call_site(),
            "internal error in #[differentiable] (it panicked); please report this function",
        )
        .to_compile_error(),
    }
}

fn with_fields(mut w: WithFields) -> syn::Result<TokenStream> {
    let (args, self_methods) = super::take_self_methods(w.args.clone());
    let (args, self_type) = crate::parse::take_self_type(args);
    w.args = args;
    let item = &w.item;
    // The table's fields are the struct parameters, `__out` for a struct
    // returned, and `__local_T` for each other struct `T` of a variable.
    let params: Vec<Field> = w
        .fields
        .iter()
        .filter(|f| f.name != "__out" && !f.name.to_string().starts_with("__local_"))
        .cloned()
        .collect();
    let mut types: super::locals::Types = Vec::new();
    known_types(&w.fields, &mut types);
    let output = w
        .fields
        .iter()
        .find(|f| f.name == "__out")
        .and_then(|f| match &f.kind {
            Some(Kind::Nested(ty, Some(fields))) => Some(Output {
                ty: ty.clone(),
                fields: fields.clone(),
            }),
            _ => None,
        });
    let strukt_of = |name: &Ident| -> Option<Ident> {
        params
            .iter()
            .find(|f| &f.name == name)
            .and_then(|f| match &f.kind {
                Some(Kind::Nested(ty, _)) => Some(ty.clone()),
                _ => None,
            })
    };
    // `wrt(self)`: the inner function is an associated function taking
    // `__self: &Struct`, the outer siblings methods.
    let method = params.iter().any(|f| f.name == "self");
    let wrt = wrt_names(&w.args);
    let mut all = Vec::new();
    leaves(&params, &[], &mut all);
    let leaves_of =
        |name: &Ident| -> Vec<&Leaf> { all.iter().filter(|l| &l.path[0] == name).collect() };
    // The inner function: each struct parameter by reference, followed by
    // its float leaves.
    let mut inner = item.clone();
    let inner_name = format_ident!("__{}_fields", item.sig.ident);
    inner.sig.ident = inner_name.clone();
    inner.attrs.retain(|a| a.path().is_ident("cfg"));
    let mut by_ref = Vec::new();
    let mut inputs: Vec<syn::FnArg> = Vec::new();
    let mut inner_wrt: Vec<Ident> = Vec::new();
    for input in &item.sig.inputs {
        let name = match input {
            syn::FnArg::Receiver(r) if method => {
                if r.reference.is_some() {
                    by_ref.push(Ident::new("self", r.self_token.span));
                }
                let name = Ident::new("self", r.self_token.span);
                let strukt = strukt_of(&name);
                if has_data(&params, &name) {
                    inputs.push(syn::parse_quote!(__self: &#strukt));
                }
                name
            }
            syn::FnArg::Typed(pt) => {
                let name = match &*pt.pat {
                    syn::Pat::Ident(pi) => Some(pi.ident.clone()),
                    _ => None,
                };
                match name.as_ref().and_then(&strukt_of) {
                    Some(strukt) => {
                        let name = name.unwrap_or_else(|| format_ident!("_"));
                        if matches!(&*pt.ty, syn::Type::Reference(_)) {
                            by_ref.push(name.clone());
                        }
                        // The struct itself only for its `#[no_diff]`
                        // fields.
                        if has_data(&params, &name) {
                            let mut pt = pt.clone();
                            *pt.ty = syn::parse_quote!(&#strukt);
                            inputs.push(syn::FnArg::Typed(pt));
                        }
                        name
                    }
                    None => {
                        inputs.push(input.clone());
                        if let Some(name) = name
                            && wrt.contains(&name.to_string())
                        {
                            inner_wrt.push(name);
                        }
                        continue;
                    }
                }
            }
            other => {
                inputs.push(other.clone());
                continue;
            }
        };
        for l in leaves_of(&name) {
            let ident = leaf_ident(&l.path);
            let ty = &l.ty;
            inputs.push(match &l.kind {
                Kind::Vec(elem) => syn::parse_quote!(#ident: &[#elem]),
                _ => syn::parse_quote!(#ident: #ty),
            });
            inner_wrt.push(ident);
        }
    }
    inner.sig.inputs = inputs.into_iter().collect();
    // Struct variables: their leaves.
    let self_ident = self_type
        .as_ref()
        .and_then(|t| syn::parse2::<syn::Type>(t.clone()).ok())
        .and_then(|t| super::struct_type(&t));
    let mut locals = super::locals::Locals::new(&types, self_ident.clone(), &params, &inner.block);
    locals.data = data_struct_params(item, &params, &types);
    locals.visit_block_mut(&mut inner.block);
    if let Some(out) = &output {
        super::locals::for_each_returned(&mut inner.block, &mut |e| locals.returned(&out.ty, e));
    }
    if let Some(e) = locals.error.take() {
        return Err(e);
    }
    let roots = locals.roots.clone();
    let variables = locals.declared.clone();
    let mut local_leaves = all.clone();
    local_leaves.extend(locals.leaves.iter().cloned());
    // (`#[no_diff]` fields of variables: renamed like leaves, never passed
    // on as leaves.)
    local_leaves.extend(locals.data_leaves.iter().cloned());
    let checks = std::mem::take(&mut locals.checks);
    // A struct output: the leaves, as a tuple.
    let out_leaves = match &output {
        Some(out) => {
            let mut out_leaves = Vec::new();
            leaves(&out.fields, &[], &mut out_leaves);
            let mut lit = OutLiteral {
                strukt: &out.ty,
                method: self_type.is_some(),
                leaves: &out_leaves,
                error: None,
            };
            lit.visit_block_mut(&mut inner.block);
            if let Some(e) = lit.error {
                return Err(e);
            }
            let ty = leaves_type(&out_leaves);
            inner.sig.output = syn::parse_quote!(-> #ty);
            out_leaves
        }
        None => Vec::new(),
    };
    let fields = || Fields {
        params: &roots,
        leaves: &local_leaves,
    };
    MethodCalls {
        fields: fields(),
        impl_type: self_ident.as_ref(),
        methods: &self_methods,
    }
    .visit_block_mut(&mut inner.block);
    let mut pass_on = PassOn {
        fields: fields(),
        variables: &variables,
        by_ref: &by_ref,
        error: None,
    };
    pass_on.visit_block_mut(&mut inner.block);
    if let Some(e) = pass_on.error {
        return Err(e);
    }
    Rename { fields: fields() }.visit_block_mut(&mut inner.block);
    // What is left of a struct in the body must be its `#[no_diff]`
    // fields: the struct itself passed on otherwise would carry no
    // derivative, a silently zero gradient.
    let mut left = Leftover {
        fields: fields(),
        found: None,
    };
    syn::visit::Visit::visit_block(&mut left, &inner.block);
    if method {
        SelfToParam.visit_block_mut(&mut inner.block);
    }
    if let Some((span, param)) = left.found {
        return Err(syn::Error::new(
            span,
            format!(
                "#[differentiable] reads the fields of `{param}` (a struct it differentiates \
                 with respect to), but passes `{param}` (or a struct in it) on only to calls of \
                 functions differentiated with respect to a struct; pass the fields the callee \
                 needs (`&{param}.w`, `{param}.b`)"
            ),
        ));
    }
    let inner_args = quote!(wrt(#(#inner_wrt),*));
    // The struct a free function returns, named for its callers' checks.
    let alias = match (&output, method || self_type.is_some()) {
        (Some(out), false) => {
            let alias = super::locals::output_alias(&item.sig.ident);
            let (vis, ty) = (&item.vis, &out.ty);
            quote! {
                #[doc(hidden)]
                #[allow(non_camel_case_types, dead_code)]
                #vis type #alias = #ty;
            }
        }
        _ => quote!(),
    };
    let checks = match self_type.is_some() {
        true => quote!(),
        false => quote!(#(#checks)*),
    };
    // Struct variables only (no struct parameter or output): the function
    // keeps its signature, so its siblings are those of the rewritten body
    // under its own name, `f_jvp_lanes` included.
    if params.is_empty() && output.is_none() {
        let mut same = inner.clone();
        same.sig.ident = item.sig.ident.clone();
        let args = w.args.clone();
        let siblings = crate::parse::with_self_type(self_type, || {
            crate::parse::with_structs(|| {
                crate::pipeline::derivatives(args, same.to_token_stream())
            })
        })?;
        return Ok(quote!(#checks #siblings));
    }
    let inner_tokens = quote! {
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, unused_mut, clippy::too_many_arguments)]
        #inner
        #alias
        #checks
    };
    let inner_siblings = crate::parse::with_self_type(self_type, || {
        crate::parse::with_structs(|| {
            crate::pipeline::derivatives(inner_args, inner.to_token_stream())
        })
    })?;
    let output = output.map(|o| (o, out_leaves));
    let outer = outer_siblings(&w, &params, &all, &inner_name, output.as_ref())?;
    Ok(quote!(#inner_tokens #inner_siblings #outer))
}

/// The parameters of a struct type the function knows that it does not
/// differentiate (`s0: &State` outside `wrt`), with their types.
fn data_struct_params(
    item: &syn::ItemFn,
    params: &[Field],
    types: &super::locals::Types,
) -> Vec<(Ident, Ident)> {
    item.sig
        .inputs
        .iter()
        .filter_map(|a| {
            let syn::FnArg::Typed(pt) = a else {
                return None;
            };
            let syn::Pat::Ident(pi) = &*pt.pat else {
                return None;
            };
            let ty = match &*pt.ty {
                syn::Type::Reference(r) => &*r.elem,
                ty => ty,
            };
            let ty = super::struct_type(ty)?;
            let known = types.iter().any(|(t, _)| *t == ty);
            let differentiated = params.iter().any(|f| f.name == pi.ident);
            (known && !differentiated).then(|| (pi.ident.clone(), ty))
        })
        .collect()
}

/// Every struct type of a table, nested ones included, with its fields.
fn known_types(fields: &[Field], out: &mut super::locals::Types) {
    for f in fields {
        if let Some(Kind::Nested(ty, Some(sub))) = &f.kind {
            if !out.iter().any(|(t, _)| t == ty) {
                out.push((ty.clone(), sub.clone()));
            }
            known_types(sub, out);
        }
    }
}

/// Whether the struct parameter `name` has `#[no_diff]` fields, which its
/// inner function reads from the struct itself, passed by reference before
/// its leaves.
pub(super) fn has_data(params: &[Field], name: &Ident) -> bool {
    params.iter().any(|f| {
        &f.name == name && matches!(&f.kind, Some(Kind::Nested(_, Some(sub))) if has_no_diff(sub))
    })
}

/// The struct a function returns: its name and fields.
pub(super) struct Output {
    pub(super) ty: Ident,
    pub(super) fields: Vec<Field>,
}
