//! Functions returning `Result<T, E>`: the function as written, and its
//! siblings as wrappers that run it first and, where it gave `Ok`, the
//! siblings of its *success path*: a hidden function `__f_ok` returning
//! `T`, the body with `Ok(v)` read as `v`, the paths that give `Err`
//! unreachable (the function as written took none of them at these
//! arguments), `g(..)?` of another such function read as `__g_ok(..)`,
//! and the checks and output left out (`dbg!(v)` read as `v`: the function
//! as written ran them, once).
//!
//! So `f_grad(x)` is `Err(e)` where `f(x)` is, and `Ok(gradient)` where
//! it is `Ok`; the cost is one more evaluation of the primal.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;

use crate::emit::PUBLIC_SIBLINGS as SIBLINGS;

/// `T` and `E` of `-> Result<T, E>`, if the function returns a `Result`.
pub fn result_output(f: &syn::ItemFn) -> Option<(syn::Type, syn::Type)> {
    let syn::ReturnType::Type(_, ty) = &f.sig.output else {
        return None;
    };
    let syn::Type::Path(p) = &**ty else {
        return None;
    };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    });
    let (t, e) = (types.next()?, types.next()?);
    Some((t, e))
}

/// The name of the success path of `f`.
pub fn ok_name(f: &syn::Ident) -> syn::Ident {
    format_ident!("__{}_ok", f)
}

/// The siblings of a function returning `Result<T, E>`.
pub fn derivatives(
    args: TokenStream,
    f: &syn::ItemFn,
    t: syn::Type,
    e: syn::Type,
) -> syn::Result<TokenStream> {
    if let Some(syn::FnArg::Receiver(r)) = f.sig.inputs.first() {
        return Err(syn::Error::new_spanned(
            r,
            "#[differentiable] takes `Result` outputs of functions, not methods yet; \
             write a function taking `&self`'s data",
        ));
    }
    let mut names = Vec::new();
    for input in &f.sig.inputs {
        let syn::FnArg::Typed(pt) = input else {
            continue;
        };
        if let syn::Type::Reference(r) = &*pt.ty
            && r.mutability.is_some()
        {
            return Err(syn::Error::new_spanned(
                pt,
                "#[differentiable] does not take `&mut` parameters in a function returning \
                 `Result` (its siblings run the function first, which would write them); \
                 return the values instead",
            ));
        }
        match &*pt.pat {
            syn::Pat::Ident(p) => names.push(p.ident.clone()),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "a function returning `Result` takes parameters by name here",
                ));
            }
        }
    }
    let name = &f.sig.ident;
    let ok = ok_name(name);
    let mut inner = f.clone();
    inner.sig.ident = ok.clone();
    inner.sig.output = syn::parse_quote!(-> #t);
    inner.vis = syn::Visibility::Inherited;
    inner.attrs.retain(|a| !a.path().is_ident("doc"));
    let mut rewrite = SuccessPath::default();
    rewrite.tail_block(&mut inner.block);
    rewrite.visit_block_mut(&mut inner.block);
    if let Some(e) = rewrite.error {
        return Err(e);
    }
    let siblings = crate::pipeline::derivatives(args, quote!(#inner))?;
    let file: syn::File = syn::parse2(siblings.clone())?;
    let mut wrappers = TokenStream::new();
    let vis = &f.vis;
    for item in &file.items {
        let syn::Item::Fn(g) = item else { continue };
        let Some(suffix) = g
            .sig
            .ident
            .to_string()
            .strip_prefix(&format!("{ok}_"))
            .map(String::from)
        else {
            continue;
        };
        if !SIBLINGS.contains(&suffix.as_str()) {
            continue;
        }
        let mut sig = g.sig.clone();
        sig.ident = format_ident!("{}_{}", name, suffix, span = name.span());
        let r = match &g.sig.output {
            syn::ReturnType::Type(_, ty) => quote!(#ty),
            syn::ReturnType::Default => quote!(()),
        };
        sig.output = syn::parse_quote!(-> ::core::result::Result<#r, #e>);
        let params: Vec<TokenStream> = g
            .sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(pt) => match &*pt.pat {
                    syn::Pat::Ident(p) => {
                        let i = &p.ident;
                        Some(quote!(#i))
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let inner_name = &g.sig.ident;
        let doc = format!("`{name}_{suffix}` of the success path: `Err` where `{name}` gives it.");
        wrappers.extend(quote! {
            #[doc = #doc]
            #[allow(clippy::too_many_arguments, clippy::type_complexity)]
            #vis #sig {
                match #name(#(#names),*) {
                    ::core::result::Result::Ok(_) => ::core::result::Result::Ok(#inner_name(#(#params),*)),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
                }
            }
        });
    }
    Ok(quote! {
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, unreachable_code, clippy::needless_return)]
        #inner
        #siblings
        #wrappers
    })
}

/// Rewrites a body to its success path.
#[derive(Default)]
struct SuccessPath {
    error: Option<syn::Error>,
}

impl SuccessPath {
    /// `Ok(v)` → `v`, `Err(e)` → unreachable, in tail position of a block.
    fn tail_block(&mut self, b: &mut syn::Block) {
        if let Some(syn::Stmt::Expr(e, None)) = b.stmts.last_mut() {
            self.tail(e);
        }
    }

    fn tail(&mut self, e: &mut syn::Expr) {
        match e {
            syn::Expr::Call(c) if is_variant(&c.func, "Ok") && c.args.len() == 1 => {
                *e = c.args[0].clone();
            }
            syn::Expr::Call(c) if is_variant(&c.func, "Err") => *e = unreachable(),
            syn::Expr::If(i) => {
                self.tail_block(&mut i.then_branch);
                if let Some((_, els)) = &mut i.else_branch {
                    self.tail(els);
                }
            }
            syn::Expr::Block(b) => self.tail_block(&mut b.block),
            syn::Expr::Match(m) => {
                for arm in &mut m.arms {
                    self.tail(&mut arm.body);
                }
            }
            syn::Expr::Paren(p) => self.tail(&mut p.expr),
            // `g(x)` of another function returning `Result`, as the value.
            syn::Expr::Call(_) | syn::Expr::Try(_) | syn::Expr::Return(_) => {}
            other => {
                self.error.get_or_insert(syn::Error::new_spanned(
                    &*other,
                    "#[differentiable] reads the value of a function returning `Result` \
                     from `Ok(v)` and `Err(e)`; end the function (and its branches) with them",
                ));
            }
        }
    }
}

impl VisitMut for SuccessPath {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        match e {
            syn::Expr::Return(r) => {
                if let Some(v) = &mut r.expr {
                    self.tail(v);
                }
                if let Some(v) = &r.expr
                    && is_unreachable(v)
                {
                    *e = unreachable();
                    return;
                }
            }
            // `g(..)?`: the success path of `g`.
            syn::Expr::Try(t) => {
                let mut inner = (*t.expr).clone();
                if let syn::Expr::Call(c) = &mut inner
                    && let syn::Expr::Path(p) = &mut *c.func
                    && let Some(last) = p.path.segments.last_mut()
                {
                    last.ident = ok_name(&last.ident);
                    *e = inner;
                    self.visit_expr_mut(e);
                    return;
                }
                self.error.get_or_insert(syn::Error::new_spanned(
                    &*t,
                    "#[differentiable] takes `?` on calls of functions returning `Result` that \
                     are #[differentiable] too (`g(x)?`)",
                ));
                return;
            }
            syn::Expr::Closure(_) => return,
            // `dbg!(v)` printed in the function as written: `v` here.
            syn::Expr::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "dbg") => {
                if let Ok(v) = m.mac.parse_body::<syn::Expr>() {
                    *e = v;
                }
            }
            _ => {}
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        // The effects ran in the function as written.
        b.stmts.retain(|s| match s {
            syn::Stmt::Macro(m) => !crate::lower::is_check_or_output(&m.mac),
            syn::Stmt::Expr(syn::Expr::Macro(m), Some(_)) => {
                !crate::lower::is_check_or_output(&m.mac)
            }
            _ => true,
        });
        syn::visit_mut::visit_block_mut(self, b);
        // `if c { .. return Err(e); }`: on the success path `c` was false.
        b.stmts.retain(|s| match s {
            syn::Stmt::Expr(syn::Expr::If(i), _) => {
                i.else_branch.is_some() || !i.then_branch.stmts.last().is_some_and(diverges)
            }
            _ => true,
        });
    }
}

/// Whether a statement is the unreachable end of an `Err` path.
fn diverges(s: &syn::Stmt) -> bool {
    match s {
        syn::Stmt::Expr(e, _) => is_unreachable(e),
        syn::Stmt::Macro(m) => m
            .mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "unreachable"),
        _ => false,
    }
}

fn is_variant(func: &syn::Expr, name: &str) -> bool {
    matches!(func, syn::Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

fn unreachable() -> syn::Expr {
    syn::parse_quote!(::core::unreachable!(
        "the function gave `Err` where its success path runs"
    ))
}

fn is_unreachable(e: &syn::Expr) -> bool {
    matches!(e, syn::Expr::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "unreachable"))
}
