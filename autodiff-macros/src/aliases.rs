//! Type names the macro cannot see through (`type Vec3 = [f64; 3];`,
//! `type Real = f64;`): their meaning from how the body uses values of
//! them, checked by rustc on the generated code.
//!
//! A parameter of a plain type name that is not a float, an integer, a
//! `bool` or a type parameter is
//!
//! - an *array of floats* where the body indexes it (`v[0]`, or `pos[i][k]`
//!   of `pos: &[Vec3]`), iterates over it in a `for`, or returns an array
//!   literal as it: a
//!   `v: Vec3` is then an array value (its length
//!   `<Vec3 as FloatArray>::LEN`), a `v: &Vec3` a slice (its elements
//!   `<Vec3 as FloatElems>::Elem`), and a `-> Vec3` an array output;
//! - a *float* where the body calls a float method on it (`x.sin()`) or
//!   computes with it and a float literal or float parameter
//!   (`2.0 * x`); an output name the body says nothing else of is a float
//!   where the function returns a float (`return 0.0`, `x * y`).
//!
//! The generated code writes the name itself (`Vec3`, `Real`) wherever it
//! writes the type, and where it needs the length or the element type it
//! asks the runtime traits `FloatArray` and `FloatElems`, whose message
//! names the type where it is something else. A name used both ways is an
//! error that says to write the type out; one the body uses neither way
//! stays data without derivatives, as any other type it does not know
//! (`&Config`).

use std::cell::RefCell;
use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Ident;
use syn::visit::Visit;

/// What a type name stands for.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Meaning {
    Float,
    /// An array (by value), a slice or a `Vec` (behind a reference).
    Floats,
}

thread_local! {
    static ALIASES: RefCell<Option<HashMap<String, Meaning>>> = const { RefCell::new(None) };
}

/// What the type name `name` stands for in the function being expanded.
pub fn meaning(name: &Ident) -> Option<Meaning> {
    ALIASES.with(|a| {
        a.borrow()
            .as_ref()
            .and_then(|m| m.get(&name.to_string()).copied())
    })
}

/// `<A as FloatArray>::LEN` of an array alias `A`.
pub fn len_of(ty: &syn::Type) -> TokenStream {
    quote!(<#ty as ::autodiff::__private::FloatArray>::LEN)
}

/// `<A as FloatElems>::Elem` of a sequence alias `A`.
pub fn elem_of(ty: &syn::Type) -> TokenStream {
    quote!(<#ty as ::autodiff::__private::FloatElems>::Elem)
}

/// The alias of `ty`, if it is one of floats: a plain name with that
/// meaning.
pub fn floats_alias(ty: &syn::Type) -> bool {
    plain_name(ty).and_then(meaning) == Some(Meaning::Floats)
}

/// Runs `f` with the meanings of `item`'s type names known.
pub fn with_aliases_of<R>(item: &syn::ItemFn, f: impl FnOnce() -> R) -> syn::Result<R> {
    let found = infer(item)?;
    let old = ALIASES.with(|a| a.replace(Some(found)));
    struct Reset(Option<HashMap<String, Meaning>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let old = self.0.take();
            ALIASES.with(|a| *a.borrow_mut() = old);
        }
    }
    let _reset = Reset(old);
    Ok(f())
}

/// The plain type name of a parameter's type (through `&`) that the body
/// gave no meaning, for the error that says to write it out.
pub fn unresolved(ty: &syn::Type) -> Option<&Ident> {
    let ty = match ty {
        syn::Type::Reference(r) => &*r.elem,
        ty => ty,
    };
    plain_name(ty).filter(|n| meaning(n).is_none())
}

/// A plain type name the macro does not know (`Vec3`, not `f64`, `usize`,
/// `Vec<f64>`, `T` of the function, `Self`).
fn plain_name(ty: &syn::Type) -> Option<&Ident> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let name = p.path.get_ident()?;
    let known = [
        "f32", "f64", "bool", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
        "u64", "u128", "usize", "Self", "String", "str", "char",
    ];
    (!known.contains(&name.to_string().as_str())).then_some(name)
}

/// The meaning of each type name the body's uses decide.
fn infer(item: &syn::ItemFn) -> syn::Result<HashMap<String, Meaning>> {
    let generic: Vec<String> = item
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    let mut uses = Uses::default();
    for input in &item.sig.inputs {
        let syn::FnArg::Typed(pt) = input else {
            continue;
        };
        let syn::Pat::Ident(p) = &*pt.pat else {
            continue;
        };
        // `&[Vec3]`, `&mut [Vec3]`: rows of the name, when indexed twice.
        if let syn::Type::Reference(r) = &*pt.ty
            && let syn::Type::Slice(sl) = &*r.elem
            && let Some(n) = plain_name(&sl.elem)
            && !generic.contains(&n.to_string())
        {
            uses.rows.insert(p.ident.to_string(), n.clone());
        }
        let ty = match &*pt.ty {
            syn::Type::Reference(r) if r.mutability.is_none() => &*r.elem,
            ty => ty,
        };
        match plain_name(ty) {
            Some(n) if !generic.contains(&n.to_string()) => {
                uses.typed.insert(p.ident.to_string(), n.clone());
            }
            _ => {
                if matches!(&*pt.ty, syn::Type::Path(t) if t.path.is_ident("f64") || t.path.is_ident("f32"))
                {
                    uses.floats.push(p.ident.to_string());
                }
            }
        }
    }
    uses.visit_block(&item.block);
    // `-> Vec3` returning an array literal.
    if let syn::ReturnType::Type(_, ty) = &item.sig.output
        && let Some(n) = plain_name(ty)
        && let Some(syn::Stmt::Expr(syn::Expr::Array(a), None)) = item.block.stmts.last()
    {
        uses.note(n, Meaning::Floats, a.to_token_stream());
    }
    // An output of a name the body says nothing of, returned as a float
    // (`return 0.0`, `x * y` in tail position): a float.
    let mut outputs = Vec::new();
    if let syn::ReturnType::Type(_, ty) = &item.sig.output {
        match &**ty {
            syn::Type::Tuple(t) => outputs.extend(t.elems.iter().filter_map(plain_name)),
            ty => outputs.extend(plain_name(ty)),
        }
    }
    let floaty = |e: &syn::Expr| match e {
        syn::Expr::Lit(l) => matches!(l.lit, syn::Lit::Float(_)),
        syn::Expr::Binary(b) => matches!(
            b.op,
            syn::BinOp::Add(_) | syn::BinOp::Sub(_) | syn::BinOp::Mul(_) | syn::BinOp::Div(_)
        ),
        syn::Expr::MethodCall(m) => float_only_method(&m.method.to_string()),
        _ => false,
    };
    let tail_float = matches!(item.block.stmts.last(), Some(syn::Stmt::Expr(e, None)) if floaty(e))
        || uses.returns.iter().any(floaty);
    for n in outputs.into_iter().filter(|_| tail_float) {
        let said = uses.evidence.keys().any(|k| k == n);
        if !said && !generic.contains(&n.to_string()) {
            uses.note(n, Meaning::Float, n.to_token_stream());
        }
    }
    let mut out = HashMap::new();
    for (name, evidence) in uses.evidence {
        let float = evidence.iter().find(|(m, _)| *m == Meaning::Float);
        let floats = evidence.iter().find(|(m, _)| *m == Meaning::Floats);
        match (float, floats) {
            (Some((_, a)), Some((_, b))) => {
                let (a, b) = (
                    a.to_string().replace(' ', ""),
                    b.to_string().replace(' ', ""),
                );
                return Err(syn::Error::new(
                    name.span(),
                    format!(
                        "#[differentiable] cannot see what `{name}` stands for, and the body uses \
                         it both as a float (`{a}`) and as an array (`{b}`); write the type out \
                         here (`f64`, `[f64; 3]`)"
                    ),
                ));
            }
            (Some(_), None) => {
                out.insert(name.to_string(), Meaning::Float);
            }
            (None, Some(_)) => {
                out.insert(name.to_string(), Meaning::Floats);
            }
            (None, None) => {}
        }
    }
    Ok(out)
}

/// Evidence of what the parameters of unknown types are.
#[derive(Default)]
struct Uses {
    /// Parameter → its type name.
    typed: HashMap<String, Ident>,
    /// The `f32`/`f64` parameters.
    floats: Vec<String>,
    /// Parameter → the type name of its rows (`pos: &[Vec3]`).
    rows: HashMap<String, Ident>,
    /// The values of `return` expressions.
    returns: Vec<syn::Expr>,
    evidence: HashMap<Ident, Vec<(Meaning, TokenStream)>>,
}

/// Float methods integers do not have: evidence of a float.
fn float_only_method(name: &str) -> bool {
    const SHARED: &[&str] = &["abs", "min", "max", "pow", "signum", "clamp", "rem_euclid"];
    crate::primitives::Prim::method(name).is_some() && !SHARED.contains(&name)
}

impl Uses {
    fn note(&mut self, ty: &Ident, m: Meaning, at: TokenStream) {
        self.evidence.entry(ty.clone()).or_default().push((m, at));
    }

    /// The type name of the parameter `e` names.
    fn param_type(&self, e: &syn::Expr) -> Option<Ident> {
        match e {
            syn::Expr::Paren(p) => self.param_type(&p.expr),
            syn::Expr::Reference(r) => self.param_type(&r.expr),
            syn::Expr::Path(p) => self.typed.get(&p.path.get_ident()?.to_string()).cloned(),
            _ => None,
        }
    }

    fn is_float(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Lit(l) => matches!(l.lit, syn::Lit::Float(_)),
            syn::Expr::Paren(p) => self.is_float(&p.expr),
            syn::Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.floats.contains(&i.to_string())),
            _ => false,
        }
    }
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        match e {
            syn::Expr::Index(ix) => {
                if let Some(t) = self.param_type(&ix.expr) {
                    self.note(&t, Meaning::Floats, e.to_token_stream());
                }
                // `verts[i]` of `verts: &[Vec3]` (also inside
                // `verts[i][k]`): a row, never data left silently without
                // derivatives.
                if let syn::Expr::Path(p) = &*ix.expr
                    && let Some(t) = p
                        .path
                        .get_ident()
                        .and_then(|i| self.rows.get(&i.to_string()))
                {
                    let t = t.clone();
                    self.note(&t, Meaning::Floats, e.to_token_stream());
                }
            }
            syn::Expr::MethodCall(m) => {
                // (`len()` and `iter()` say nothing: data has them too.)
                if let Some(t) = self.param_type(&m.receiver)
                    && float_only_method(&m.method.to_string())
                {
                    self.note(&t, Meaning::Float, e.to_token_stream());
                }
            }
            syn::Expr::Binary(b) => {
                let arithmetic = matches!(
                    b.op,
                    syn::BinOp::Add(_)
                        | syn::BinOp::Sub(_)
                        | syn::BinOp::Mul(_)
                        | syn::BinOp::Div(_)
                        | syn::BinOp::AddAssign(_)
                        | syn::BinOp::SubAssign(_)
                        | syn::BinOp::MulAssign(_)
                        | syn::BinOp::DivAssign(_)
                );
                if arithmetic {
                    for (side, other) in [(&b.left, &b.right), (&b.right, &b.left)] {
                        if let Some(t) = self.param_type(side)
                            && self.is_float(other)
                        {
                            self.note(&t, Meaning::Float, e.to_token_stream());
                        }
                    }
                }
            }
            syn::Expr::Return(r) => {
                if let Some(v) = &r.expr {
                    self.returns.push((**v).clone());
                }
            }
            syn::Expr::ForLoop(fl) => {
                if let Some(t) = self.param_type(&fl.expr) {
                    self.note(&t, Meaning::Floats, fl.expr.to_token_stream());
                }
            }
            _ => {}
        }
        syn::visit::visit_expr(self, e);
    }
}
