//! Iterator chains, closures and the slice methods users reach for,
//! lowered by writing them as the loops they stand for and lowering those.
//!
//! A chain (`x.iter().zip(&y).map(|(a, b)| a * b).sum()`) is a source
//! (a range, the elements of a slice, its chunks or windows), adapters, and
//! a consumer. While the adapters keep the elements addressable by
//! position (`map`, `zip`, `enumerate`, `rev`, `take`, `skip`, `step_by`),
//! the chain is *indexed*: a length and the element at position `k`, so that
//! `zip` pairs two of them and `rev` reads from the end. From the first
//! adapter that drops elements (`filter`, `take_while`, `skip_while`) on,
//! elements are *pushed* through the rest with counters. The consumer
//! (`sum`, `fold`, `max_by`, `collect`, a `for` loop, ...) gives the body
//! of one index loop `for k in 0..n`, which the rest of the lowering
//! treats as if the user had written it: the reverse sweep of a chain costs
//! what the index loop costs.
//!
//! Closures are inlined where they are called, with the variables they
//! capture as they were where the closure was written. The hidden names
//! the rewriting introduces start with `__`, which user code does not
//! spell.

use std::collections::HashMap;
use std::rc::Rc;

use proc_macro2::Span;
use quote::{ToTokens, format_ident, quote_spanned};
use syn::parse_quote_spanned;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;

use super::flow::strip;
use super::{Bound, Lower};
use crate::ir::Class;

/// A closure bound by `let`: inlined at each call, with the bindings in
/// force where it was written.
pub(super) struct ClosureDef {
    pub syntax: syn::ExprClosure,
    pub scope: HashMap<String, Bound>,
}

impl std::fmt::Debug for ClosureDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "closure {}", self.syntax.to_token_stream())
    }
}

impl PartialEq for ClosureDef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

pub(super) struct Chain {
    source: Source,
    stages: Vec<Stage>,
    span: Span,
    /// The chain as written, where errors point.
    syntax: proc_macro2::TokenStream,
    /// Where each stage is written (its method's name).
    at: Vec<Span>,
}

enum Source {
    Range {
        lo: syn::Expr,
        hi: syn::Expr,
        inclusive: bool,
    },
    /// The elements of a slice, from `offset` (`x[a..b].iter()`), places
    /// to write for `iter_mut`.
    Elements {
        of: syn::Expr,
        range: Option<(Option<syn::Expr>, Option<syn::Expr>, bool)>,
        mutable: bool,
    },
    Chunks {
        of: syn::Expr,
        size: syn::Expr,
        exact: bool,
    },
    Windows {
        of: syn::Expr,
        size: syn::Expr,
    },
}

enum Stage {
    Map(Callable),
    Filter(Callable),
    Inspect(Callable),
    TakeWhile(Callable),
    SkipWhile(Callable),
    Enumerate,
    Rev(Span),
    Take(syn::Expr),
    Skip(syn::Expr),
    StepBy(syn::Expr),
    Zip(Chain),
    Chain(Chain),
}

impl Stage {
    fn indexed(&self) -> bool {
        matches!(
            self,
            Stage::Map(_)
                | Stage::Enumerate
                | Stage::Rev(_)
                | Stage::Take(_)
                | Stage::Skip(_)
                | Stage::StepBy(_)
                | Stage::Zip(_)
        )
    }

    /// Whether the stage keeps state across elements.
    fn stateful(&self) -> bool {
        !matches!(self, Stage::Map(_) | Stage::Filter(_) | Stage::Inspect(_))
    }
}

/// What an adapter or consumer calls: a closure written there, or a path
/// (a function, a closure bound by `let`, `f64::max`).
#[derive(Clone)]
pub(super) enum Callable {
    Closure(syn::ExprClosure),
    Path(syn::ExprPath),
}

/// An element: a value, a place to write (`iter_mut`), or a tuple of them
/// (`zip`, `enumerate`).
#[derive(Clone)]
enum Item {
    Value(syn::Expr),
    Place(syn::Expr),
    Tuple(Vec<Item>),
}

impl Item {
    fn expr(&self) -> syn::Expr {
        match self {
            Item::Value(e) | Item::Place(e) => e.clone(),
            Item::Tuple(items) => {
                let items = items.iter().map(Item::expr);
                syn::parse_quote!((#(#items),*))
            }
        }
    }
}

/// A chain whose elements are addressable: its length (a hidden name) and
/// its element at a position.
struct Indexed {
    len: syn::Ident,
    item: Box<dyn Fn(&syn::Expr) -> Item>,
}

type Stmts = Vec<syn::Stmt>;

/// What a consumer does with each element.
type Body = Box<dyn FnMut(&mut Lower, Item) -> syn::Result<Stmts>>;

/// Adapters of `Iterator` that chains do not support, with the way out.
const UNSUPPORTED_ADAPTERS: &[&str] = &[
    "flat_map",
    "flatten",
    "filter_map",
    "map_while",
    "scan",
    "peekable",
    "cycle",
    "fuse",
    "chunks_mut",
    "chunks_exact_mut",
    "rchunks",
    "array_chunks",
    "array_windows",
    "partition",
    "unzip",
    "position",
    "find",
    "find_map",
    "nth",
    "max_by_key",
    "min_by_key",
    "try_fold",
    "try_for_each",
];

/// The consumers a chain ends with.
const CONSUMERS: &[&str] = &[
    "sum", "product", "fold", "count", "any", "all", "collect", "for_each", "max_by", "min_by",
    "max", "min", "reduce", "last",
];

/// `e` as an iterator chain, or `None` when it is not one.
pub(super) fn parse_chain(e: &syn::Expr) -> syn::Result<Option<Chain>> {
    let span = e.span();
    match strip(e) {
        syn::Expr::Range(r) => {
            let (Some(lo), Some(hi)) = (&r.start, &r.end) else {
                return Err(syn::Error::new_spanned(
                    r,
                    "a range to iterate over needs a start and an end: `a..b` or `a..=b`",
                ));
            };
            Ok(Some(Chain {
                source: Source::Range {
                    lo: (**lo).clone(),
                    hi: (**hi).clone(),
                    inclusive: matches!(r.limits, syn::RangeLimits::Closed(_)),
                },
                stages: vec![],
                span,
                syntax: e.to_token_stream(),
                at: vec![],
            }))
        }
        syn::Expr::MethodCall(m) => {
            let method = m.method.to_string();
            let arg = m.args.first();
            let source = |source| {
                Ok(Some(Chain {
                    source,
                    stages: vec![],
                    span,
                    syntax: e.to_token_stream(),
                    at: vec![],
                }))
            };
            match (method.as_str(), m.args.len()) {
                ("iter" | "into_iter" | "iter_mut", 0) => {
                    if let Some(chain) = parse_chain(&m.receiver)? {
                        return Ok(Some(chain));
                    }
                    source(elements(&m.receiver, method == "iter_mut"))
                }
                ("chunks" | "chunks_exact", 1) => source(Source::Chunks {
                    of: (*m.receiver).clone(),
                    size: m.args[0].clone(),
                    exact: method == "chunks_exact",
                }),
                ("windows", 1) => source(Source::Windows {
                    of: (*m.receiver).clone(),
                    size: m.args[0].clone(),
                }),
                _ => {
                    let stage = match (method.as_str(), arg) {
                        ("copied" | "cloned" | "by_ref", None) => None,
                        ("map", Some(a)) => Some(Stage::Map(callable(a)?)),
                        ("filter", Some(a)) => Some(Stage::Filter(callable(a)?)),
                        ("inspect", Some(a)) => Some(Stage::Inspect(callable(a)?)),
                        ("take_while", Some(a)) => Some(Stage::TakeWhile(callable(a)?)),
                        ("skip_while", Some(a)) => Some(Stage::SkipWhile(callable(a)?)),
                        ("enumerate", None) => Some(Stage::Enumerate),
                        ("rev", None) => Some(Stage::Rev(m.method.span())),
                        ("take", Some(a)) => Some(Stage::Take(a.clone())),
                        ("skip", Some(a)) => Some(Stage::Skip(a.clone())),
                        ("step_by", Some(a)) => Some(Stage::StepBy(a.clone())),
                        ("zip", Some(a)) => Some(Stage::Zip(into_chain(a)?)),
                        ("chain", Some(a)) => Some(Stage::Chain(into_chain(a)?)),
                        _ => {
                            if UNSUPPORTED_ADAPTERS.contains(&method.as_str())
                                && parse_chain(&m.receiver)?.is_some()
                            {
                                return Err(syn::Error::new_spanned(
                                    &m.method,
                                    format_args!(
                                        "`.{method}()` is not supported in an iterator chain by \
                                         #[differentiable]; write this step as a `for` loop over \
                                         the chain before it"
                                    ),
                                ));
                            }
                            return Ok(None);
                        }
                    };
                    let Some(mut chain) = parse_chain(&m.receiver)? else {
                        return Ok(None);
                    };
                    if let Some(stage) = stage {
                        chain.stages.push(stage);
                        chain.at.push(m.method.span());
                    }
                    chain.span = span;
                    chain.syntax = e.to_token_stream();
                    Ok(Some(chain))
                }
            }
        }
        _ => Ok(None),
    }
}

/// What `IntoIterator` makes a chain of: `y`, `&y`, `&mut y`, `y.iter()`,
/// a range.
fn into_chain(e: &syn::Expr) -> syn::Result<Chain> {
    if let Some(c) = parse_chain(e)? {
        return Ok(c);
    }
    let (of, mutable) = match strip(e) {
        syn::Expr::Reference(r) => (&*r.expr, r.mutability.is_some()),
        other => (other, false),
    };
    Ok(Chain {
        source: elements(of, mutable),
        stages: vec![],
        span: e.span(),
        syntax: e.to_token_stream(),
        at: vec![],
    })
}

/// The elements of `of` (`x`, `&x`, `x[a..b]`).
fn elements(of: &syn::Expr, mutable: bool) -> Source {
    let of = match strip(of) {
        syn::Expr::Reference(r) => &*r.expr,
        other => other,
    };
    if let syn::Expr::Index(ix) = strip(of)
        && let syn::Expr::Range(r) = strip(&ix.index)
    {
        return Source::Elements {
            of: (*ix.expr).clone(),
            range: Some((
                r.start.as_deref().cloned(),
                r.end.as_deref().cloned(),
                matches!(r.limits, syn::RangeLimits::Closed(_)),
            )),
            mutable,
        };
    }
    Source::Elements {
        of: of.clone(),
        range: None,
        mutable,
    }
}

/// A comparator passed to `sort_by`: see [`Callable::greater`].
pub(super) fn comparator(e: &syn::Expr) -> syn::Result<Callable> {
    callable(e)
}

fn callable(e: &syn::Expr) -> syn::Result<Callable> {
    match strip(e) {
        syn::Expr::Closure(c) => {
            check_closure(c)?;
            Ok(Callable::Closure(c.clone()))
        }
        syn::Expr::Path(p) => Ok(Callable::Path(p.clone())),
        other => Err(syn::Error::new_spanned(
            other,
            "#[differentiable] passes closures (`|v| v * v`) and functions by name (`f64::sqrt`, \
             `g`) to iterator adapters; write a closure here",
        )),
    }
}

/// A closure the macro can inline: no `return` (which would leave the
/// closure, not the function) and no `async`.
fn check_closure(c: &syn::ExprClosure) -> syn::Result<()> {
    #[derive(Default)]
    struct Returns(Option<proc_macro2::Span>);
    impl<'ast> Visit<'ast> for Returns {
        fn visit_expr_return(&mut self, e: &'ast syn::ExprReturn) {
            self.0.get_or_insert(e.span());
        }
        fn visit_expr_try(&mut self, e: &'ast syn::ExprTry) {
            self.0.get_or_insert(e.question_token.span());
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut scan = Returns::default();
    scan.visit_expr(&c.body);
    if let Some(span) = scan.0 {
        return Err(syn::Error::new(
            span,
            "#[differentiable] inlines closures, and `return` or `?` inside one would leave the \
             function; give the closure's value as its last expression",
        ));
    }
    if c.asyncness.is_some() || c.constness.is_some() || c.lifetimes.is_some() {
        return Err(syn::Error::new_spanned(
            c,
            "#[differentiable] inlines plain closures only (`|v| v * v`)",
        ));
    }
    Ok(())
}

/// A pattern with its references taken off: elements are values here
/// (`|&v|`, `|(i, &v)|` bind `v` to the element).
fn value_pattern(pat: &syn::Pat) -> syn::Pat {
    match pat {
        syn::Pat::Reference(r) => value_pattern(&r.pat),
        syn::Pat::Paren(p) => value_pattern(&p.pat),
        syn::Pat::Tuple(t) => {
            let mut t = t.clone();
            for p in t.elems.iter_mut() {
                *p = value_pattern(p);
            }
            syn::Pat::Tuple(t)
        }
        syn::Pat::Type(pt) if matches!(*pt.ty, syn::Type::Reference(_)) => value_pattern(&pt.pat),
        syn::Pat::Type(pt) => {
            let mut pt = pt.clone();
            *pt.pat = value_pattern(&pt.pat);
            syn::Pat::Type(pt)
        }
        other => other.clone(),
    }
}

/// Binds `pat` to `item`: `let` statements for values, and names that
/// stand for places (`*e *= s` for `e` of `x.iter_mut()` writes `x[k]`).
fn bind_item(pat: &syn::Pat, item: Item, stmts: &mut Stmts, places: &mut Vec<(String, syn::Expr)>) {
    match (pat, item) {
        (syn::Pat::Reference(r), item) => bind_item(&r.pat, item, stmts, places),
        (syn::Pat::Paren(p), item) => bind_item(&p.pat, item, stmts, places),
        (syn::Pat::Type(pt), item) if matches!(*pt.ty, syn::Type::Reference(_)) => {
            bind_item(&pt.pat, item, stmts, places)
        }
        (syn::Pat::Tuple(t), Item::Tuple(items)) if t.elems.len() == items.len() => {
            for (p, item) in t.elems.iter().zip(items) {
                bind_item(p, item, stmts, places);
            }
        }
        (syn::Pat::Ident(pi), Item::Place(e)) if pi.subpat.is_none() => {
            places.push((pi.ident.to_string(), e));
        }
        (syn::Pat::Wild(_), _) => {}
        (pat, item) => {
            let pat = value_pattern(pat);
            let e = item.expr();
            stmts.push(syn::parse_quote!(let #pat = #e;));
        }
    }
}

/// Writes each name of `places` as its place: `*e` and `e` become `x[k]`.
fn substitute(e: &mut syn::Expr, places: &[(String, syn::Expr)]) {
    struct Places<'a>(&'a [(String, syn::Expr)]);
    impl Places<'_> {
        fn place(&self, e: &syn::Expr) -> Option<syn::Expr> {
            let syn::Expr::Path(p) = strip(e) else {
                return None;
            };
            let name = p.path.get_ident()?.to_string();
            let (_, place) = self.0.iter().rev().find(|(n, _)| *n == name)?;
            Some(place.clone())
        }
    }
    impl VisitMut for Places<'_> {
        fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
            if let syn::Expr::Unary(u) = e
                && let syn::UnOp::Deref(_) = u.op
                && let Some(place) = self.place(&u.expr)
            {
                *e = place;
                return;
            }
            if let Some(place) = self.place(e) {
                *e = place;
                return;
            }
            syn::visit_mut::visit_expr_mut(self, e);
        }
    }
    if !places.is_empty() {
        Places(places).visit_expr_mut(e);
    }
}

impl Callable {
    /// The expression that calls it with `args`.
    fn apply(&self, args: Vec<Item>) -> syn::Expr {
        match self {
            Callable::Closure(c) => {
                let span = c.span();
                let mut stmts = Vec::new();
                let mut places = Vec::new();
                for (pat, item) in c.inputs.iter().zip(args) {
                    bind_item(pat, item, &mut stmts, &mut places);
                }
                let mut body = (*c.body).clone();
                substitute(&mut body, &places);
                parse_quote_spanned!(span=> { #(#stmts)* #body })
            }
            Callable::Path(p) => {
                let args = args.iter().map(Item::expr);
                syn::parse_quote!(#p(#(#args),*))
            }
        }
    }

    fn arity(&self) -> Option<usize> {
        match self {
            Callable::Closure(c) => Some(c.inputs.len()),
            Callable::Path(_) => None,
        }
    }

    fn check_arity(&self, n: usize, what: &str) -> syn::Result<()> {
        match (self, self.arity()) {
            (Callable::Closure(c), Some(k)) if k != n => Err(syn::Error::new_spanned(
                &c.inputs,
                format_args!("the closure of `{what}` takes {n} argument(s)"),
            )),
            _ => Ok(()),
        }
    }

    /// For a comparator (`|a, b| a.total_cmp(b)`, `a.partial_cmp(b).unwrap()`,
    /// `f64::total_cmp`): the condition `cmp(a, b) == Greater`.
    pub(super) fn greater(&self, a: syn::Expr, b: syn::Expr) -> syn::Result<syn::Expr> {
        fn operands(e: &syn::Expr) -> Option<(syn::Expr, syn::Expr, bool)> {
            match strip(e) {
                syn::Expr::MethodCall(m)
                    if matches!(
                        m.method.to_string().as_str(),
                        "unwrap" | "expect" | "unwrap_or"
                    ) =>
                {
                    operands(&m.receiver)
                }
                syn::Expr::MethodCall(m) if m.method == "reverse" && m.args.is_empty() => {
                    operands(&m.receiver).map(|(x, y, r)| (x, y, !r))
                }
                syn::Expr::MethodCall(m)
                    if (m.method == "total_cmp" || m.method == "partial_cmp")
                        && m.args.len() == 1 =>
                {
                    let unref = |e: &syn::Expr| match strip(e) {
                        syn::Expr::Reference(r) => (*r.expr).clone(),
                        other => other.clone(),
                    };
                    Some((unref(&m.receiver), unref(&m.args[0]), false))
                }
                syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                    syn::Stmt::Expr(e, None) => operands(e),
                    _ => None,
                },
                _ => None,
            }
        }
        match self {
            Callable::Path(p)
                if p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "total_cmp" || s.ident == "partial_cmp") =>
            {
                Ok(syn::parse_quote!(#a > #b))
            }
            Callable::Closure(c) if c.inputs.len() == 2 => {
                let Some((x, y, reversed)) = operands(&c.body) else {
                    return Err(syn::Error::new_spanned(
                        &c.body,
                        "#[differentiable] reads comparators that compare floats: write \
                         `|a, b| a.total_cmp(b)` or `|a, b| a.partial_cmp(b).unwrap()`, \
                         on keys if need be (`|a, b| f(a).total_cmp(&f(b))`)",
                    ));
                };
                let (x, y) = if reversed { (y, x) } else { (x, y) };
                let mut stmts = Vec::new();
                let mut places = Vec::new();
                bind_item(&c.inputs[0], Item::Value(a), &mut stmts, &mut places);
                bind_item(&c.inputs[1], Item::Value(b), &mut stmts, &mut places);
                Ok(syn::parse_quote!({ #(#stmts)* (#x) > (#y) }))
            }
            Callable::Closure(c) => Err(syn::Error::new_spanned(
                &c.inputs,
                "a comparator takes two arguments: `|a, b| a.total_cmp(b)`",
            )),
            Callable::Path(p) => Err(syn::Error::new_spanned(
                p,
                "#[differentiable] reads comparators written as closures: `|a, b| a.total_cmp(b)`",
            )),
        }
    }
}

/// How an `Option` a consumer gives is taken apart.
pub(super) enum Unwrap {
    /// `.unwrap()`, `.expect(..)`: panics on an empty chain.
    Panic,
    /// `.unwrap_or(v)`.
    Or(syn::Expr),
}

impl Lower {
    fn fresh(&mut self, what: &str, span: Span) -> syn::Ident {
        self.fresh += 1;
        format_ident!("__{}{}", what, self.fresh, span = span)
    }

    /// A consumer ending a chain (`x.iter().map(..).sum()`), lowered; `None`
    /// when `m` is not one.
    pub(super) fn chain_consumer(
        &mut self,
        m: &syn::ExprMethodCall,
        unwrap: Option<Unwrap>,
        outputs: usize,
    ) -> Option<Option<Bound>> {
        let method = m.method.to_string();
        if !CONSUMERS.contains(&method.as_str()) {
            return None;
        }
        let chain = match parse_chain(&m.receiver) {
            Ok(Some(chain)) => chain,
            Ok(None) => return None,
            Err(e) => {
                self.errors.push(e);
                return Some(None);
            }
        };
        match self.consume(m, &method, chain, unwrap) {
            Ok((block, bindings)) => Some(self.lower_with(bindings, &block, outputs)),
            Err(e) => {
                self.errors.push(e);
                Some(None)
            }
        }
    }

    /// Lowers `e` with hidden names bound to values already lowered.
    pub(super) fn lower_with(
        &mut self,
        bindings: Vec<(syn::Ident, Bound)>,
        e: &syn::Expr,
        outputs: usize,
    ) -> Option<Bound> {
        self.scopes.push(
            bindings
                .into_iter()
                .map(|(n, b)| (n.to_string(), b))
                .collect(),
        );
        let value = self.expr_shaped(e, outputs);
        self.scopes.pop();
        value
    }

    /// The block that runs `chain` into the consumer `method` of `m`, and
    /// the hidden values it reads (the accumulators' starting values).
    fn consume(
        &mut self,
        m: &syn::ExprMethodCall,
        method: &str,
        chain: Chain,
        unwrap: Option<Unwrap>,
    ) -> syn::Result<(syn::Expr, Vec<(syn::Ident, Bound)>)> {
        let span = m.span();
        let arg = |i: usize| -> syn::Result<&syn::Expr> {
            m.args.get(i).ok_or_else(|| {
                syn::Error::new_spanned(&m.method, format_args!("`{method}` takes an argument"))
            })
        };
        let mut bindings = Vec::new();
        let mut pre = Vec::new();
        let acc = self.fresh("acc", span);
        let some = self.fresh("some", span);
        // A zero or a one of the class the elements turn out to have.
        let mut start = |l: &mut Lower, one: bool| -> syn::Ident {
            let name = l.fresh(if one { "one" } else { "zero" }, span);
            let value = l.typed_start(one);
            bindings.push((name.clone(), Bound::Value(value)));
            name
        };
        let option = matches!(
            method,
            "max_by" | "min_by" | "max" | "min" | "reduce" | "last"
        );
        if option != unwrap.is_some() {
            return Err(syn::Error::new_spanned(
                &m.method,
                if option {
                    format!(
                        "`.{method}(..)` gives an `Option`: take its value with `.unwrap()`, \
                         `.expect(..)` or `.unwrap_or(v)`"
                    )
                } else {
                    format!("`.{method}(..)` does not give an `Option`")
                },
            ));
        }
        let (init, body, result): (Stmts, Body, syn::Expr) = match method {
            "sum" | "product" => {
                let s = start(self, method == "product");
                let op: syn::BinOp = if method == "sum" {
                    syn::parse_quote!(+=)
                } else {
                    syn::parse_quote!(*=)
                };
                let acc2 = acc.clone();
                (
                    vec![syn::parse_quote!(let mut #acc = #s;)],
                    Box::new(move |_, item| {
                        let e = item.expr();
                        Ok(vec![syn::parse_quote!(#acc2 #op #e;)])
                    }),
                    syn::parse_quote!(#acc),
                )
            }
            "fold" => {
                let init = arg(0)?.clone();
                let f = callable(arg(1)?)?;
                f.check_arity(2, "fold")?;
                let acc2 = acc.clone();
                (
                    vec![syn::parse_quote!(let mut #acc = #init;)],
                    Box::new(move |_, item| {
                        let e = f.apply(vec![Item::Value(syn::parse_quote!(#acc2)), item]);
                        Ok(vec![syn::parse_quote!(#acc2 = #e;)])
                    }),
                    syn::parse_quote!(#acc),
                )
            }
            "count" => {
                let acc2 = acc.clone();
                (
                    vec![syn::parse_quote!(let mut #acc = 0usize;)],
                    Box::new(move |_, _| Ok(vec![syn::parse_quote!(#acc2 += 1;)])),
                    syn::parse_quote!(#acc),
                )
            }
            "any" | "all" => {
                let f = callable(arg(0)?)?;
                f.check_arity(1, method)?;
                let all = method == "all";
                let acc2 = acc.clone();
                (
                    vec![syn::parse_quote!(let mut #acc = #all;)],
                    Box::new(move |_, item| {
                        let e = f.apply(vec![item]);
                        Ok(vec![if all {
                            syn::parse_quote!(if !(#e) { #acc2 = false; })
                        } else {
                            syn::parse_quote!(if #e { #acc2 = true; })
                        }])
                    }),
                    syn::parse_quote!(#acc),
                )
            }
            "collect" => {
                let acc2 = acc.clone();
                (
                    vec![syn::parse_quote!(let mut #acc = ::std::vec::Vec::new();)],
                    Box::new(move |_, item| {
                        let e = item.expr();
                        Ok(vec![parse_quote_spanned!(span=> #acc2.push(#e);)])
                    }),
                    syn::parse_quote!(#acc),
                )
            }
            "for_each" => {
                let f = callable(arg(0)?)?;
                f.check_arity(1, "for_each")?;
                (
                    vec![],
                    Box::new(move |_, item| {
                        let e = f.apply(vec![item]);
                        Ok(vec![syn::parse_quote!(#e;)])
                    }),
                    syn::parse_quote!(()),
                )
            }
            _ => {
                // The consumers that give an `Option`.
                let cmp = match method {
                    "max_by" | "min_by" => Some(callable(arg(0)?)?),
                    _ => None,
                };
                let reduce = match method {
                    "reduce" => {
                        let f = callable(arg(0)?)?;
                        f.check_arity(2, "reduce")?;
                        Some(f)
                    }
                    _ => None,
                };
                let z = start(self, false);
                let (acc2, some2) = (acc.clone(), some.clone());
                let method = method.to_string();
                let init = vec![
                    syn::parse_quote!(let mut #acc = #z;),
                    syn::parse_quote!(let mut #some = false;),
                ];
                let body = Box::new(move |l: &mut Lower, item: Item| -> syn::Result<Stmts> {
                    let v = l.fresh("v", span);
                    let e = item.expr();
                    let best: syn::Expr = syn::parse_quote!(#acc2);
                    let value: syn::Expr = syn::parse_quote!(#v);
                    let mut stmts: Stmts = vec![syn::parse_quote!(let #v = #e;)];
                    // Ties: `max` gives the last greatest element and
                    // `min` the first least, as `Iterator` does.
                    let take: syn::Expr = match method.as_str() {
                        "max_by" => {
                            let g = cmp.as_ref().unwrap().greater(best.clone(), value.clone())?;
                            syn::parse_quote!(!#some2 || !(#g))
                        }
                        "min_by" => {
                            let g = cmp.as_ref().unwrap().greater(best.clone(), value.clone())?;
                            syn::parse_quote!(!#some2 || #g)
                        }
                        "max" => syn::parse_quote!(!#some2 || !(#acc2 > #v)),
                        "min" => syn::parse_quote!(!#some2 || #acc2 > #v),
                        _ => syn::parse_quote!(true),
                    };
                    if let Some(f) = &reduce {
                        let e = f.apply(vec![Item::Value(best), Item::Value(value)]);
                        stmts.push(syn::parse_quote!(
                            if #some2 { #acc2 = #e; } else { #acc2 = #v; }
                        ));
                    } else {
                        stmts.push(syn::parse_quote!(if #take { #acc2 = #v; }));
                    }
                    stmts.push(syn::parse_quote!(#some2 = true;));
                    Ok(stmts)
                });
                let result = match unwrap {
                    Some(Unwrap::Or(d)) => syn::parse_quote!(if #some { #acc } else { #d }),
                    _ => syn::parse_quote!({
                        ::core::assert!(#some, "called `Option::unwrap()` on a `None` value");
                        #acc
                    }),
                };
                (init, body, result)
            }
        };
        let mut body = body;
        let loops = self.drive(&chain, &mut pre, &mut |l, item| body(l, item))?;
        let block = quote_spanned!(span=> { #(#pre)* #(#init)* #(#loops)* #result });
        Ok((syn::parse2(block)?, bindings))
    }

    /// A `for` loop over a chain (or a slice, which `IntoIterator` makes
    /// one): the chain's loop, with the loop's body as its consumer.
    /// `false` for a range, which the loop lowering takes as it is.
    pub(super) fn chain_for(&mut self, l: &syn::ExprForLoop) -> bool {
        let chain = match into_chain(&l.expr) {
            Ok(chain) if !chain.native() => chain,
            Ok(_) => return false,
            Err(e) => {
                self.errors.push(e);
                return true;
            }
        };
        let span = l.span();
        let mut pre = Vec::new();
        let body = &l.body;
        let loops = self.drive(&chain, &mut pre, &mut |_, item| {
            let mut stmts = Vec::new();
            let mut places = Vec::new();
            bind_item(&l.pat, item, &mut stmts, &mut places);
            let mut block = syn::Expr::Block(syn::ExprBlock {
                attrs: vec![],
                label: None,
                block: body.clone(),
            });
            substitute(&mut block, &places);
            stmts.push(syn::Stmt::Expr(block, None));
            Ok(stmts)
        });
        match loops {
            Ok(loops) => {
                let block: syn::Expr = parse_quote_spanned!(span=> { #(#pre)* #(#loops)* });
                self.lower_with(vec![], &block, 0);
            }
            Err(e) => self.errors.push(e),
        }
        true
    }

    /// The loops that run `chain`, calling `body` on each element; what
    /// they need first goes to `pre`.
    fn drive(
        &mut self,
        chain: &Chain,
        pre: &mut Stmts,
        body: &mut dyn FnMut(&mut Lower, Item) -> syn::Result<Stmts>,
    ) -> syn::Result<Stmts> {
        if let Some(c) = chain
            .stages
            .iter()
            .position(|s| matches!(s, Stage::Chain(_)))
        {
            let Stage::Chain(second) = &chain.stages[c] else {
                unreachable!("found a chain stage")
            };
            let rest: Vec<&Stage> = chain.stages[c + 1..].iter().collect();
            if let Some(k) = rest.iter().position(|s| s.stateful()) {
                return Err(syn::Error::new(
                    chain.at[c + 1 + k],
                    "#[differentiable] takes `map`, `filter` and `inspect` after `.chain(..)`; \
                     apply the other adapters to each part before chaining them",
                ));
            }
            let mut then = |l: &mut Lower, item: Item| {
                // (Stateless stages need nothing before the loop.)
                l.push_stages(&rest, item, &mut Vec::new(), body)
            };
            let mut out = self.drive_part(
                &chain.source,
                &chain.stages[..c],
                chain.span,
                pre,
                &mut then,
            )?;
            out.extend(self.drive(second, pre, &mut then)?);
            return Ok(out);
        }
        self.drive_part(&chain.source, &chain.stages, chain.span, pre, body)
    }

    /// The loop over `source` through `stages` (none of them `chain`).
    fn drive_part(
        &mut self,
        source: &Source,
        stages: &[Stage],
        span: Span,
        pre: &mut Stmts,
        body: &mut dyn FnMut(&mut Lower, Item) -> syn::Result<Stmts>,
    ) -> syn::Result<Stmts> {
        let split = stages
            .iter()
            .position(|s| !s.indexed())
            .unwrap_or(stages.len());
        // `rev` after `filter`, `map` and `inspect` (which Rust reverses
        // too) commutes with them: it moves to the indexed part.
        let mut front: Vec<&Stage> = stages[..split].iter().collect();
        let mut back: Vec<&Stage> = Vec::new();
        for stage in &stages[split..] {
            let stateless = back
                .iter()
                .all(|s| matches!(s, Stage::Filter(_) | Stage::Map(_) | Stage::Inspect(_)));
            match stage {
                Stage::Rev(_) if stateless => front.push(stage),
                _ => back.push(stage),
            }
        }
        let indexed = self.indexed(source, &front, span, pre)?;
        let k = self.fresh("k", span);
        // (The positions composed from it are written in parentheses.)
        let item = (indexed.item)(&syn::parse_quote!(#k));
        let inner = self.push_stages(&back, item, pre, body)?;
        let n = indexed.len;
        Ok(vec![
            parse_quote_spanned!(span=> for #k in 0..#n { #(#inner)* }),
        ])
    }

    /// The length and elements of `source` through `stages` (all indexed).
    fn indexed(
        &mut self,
        source: &Source,
        stages: &[&Stage],
        span: Span,
        pre: &mut Stmts,
    ) -> syn::Result<Indexed> {
        let mut ix = self.source(source, span, pre)?;
        for stage in stages {
            let n = ix.len.clone();
            let inner = ix.item;
            ix = match stage {
                Stage::Map(f) => {
                    f.check_arity(1, "map")?;
                    let f = f.clone();
                    Indexed {
                        len: n,
                        item: Box::new(move |k| Item::Value(f.apply(vec![inner(k)]))),
                    }
                }
                Stage::Enumerate => Indexed {
                    len: n,
                    item: Box::new(move |k| Item::Tuple(vec![Item::Value(k.clone()), inner(k)])),
                },
                Stage::Rev(_) => {
                    let n2 = n.clone();
                    Indexed {
                        len: n,
                        item: Box::new(move |k| inner(&syn::parse_quote!((#n2 - 1 - #k)))),
                    }
                }
                Stage::Take(t) => {
                    let (m, len) = (self.fresh("m", span), self.fresh("n", span));
                    pre.push(syn::parse_quote!(let #m = #t;));
                    pre.push(syn::parse_quote!(let #len = if #n < #m { #n } else { #m };));
                    Indexed { len, item: inner }
                }
                Stage::Skip(t) => {
                    let (m, len) = (self.fresh("m", span), self.fresh("n", span));
                    pre.push(syn::parse_quote!(let #m = #t;));
                    pre.push(syn::parse_quote!(let #len = if #n > #m { #n - #m } else { 0 };));
                    let m2 = m.clone();
                    Indexed {
                        len,
                        item: Box::new(move |k| inner(&syn::parse_quote!((#k + #m2)))),
                    }
                }
                Stage::StepBy(t) => {
                    let (m, len) = (self.fresh("step", span), self.fresh("n", span));
                    pre.push(syn::parse_quote!(let #m = #t;));
                    pre.push(syn::parse_quote!(let #len = (#n + #m - 1) / #m;));
                    let m2 = m.clone();
                    Indexed {
                        len,
                        item: Box::new(move |k| inner(&syn::parse_quote!((#k * #m2)))),
                    }
                }
                Stage::Zip(other) => {
                    let b = self.zipped(other, pre)?;
                    let len = self.fresh("n", span);
                    let m = b.len;
                    pre.push(syn::parse_quote!(let #len = if #n < #m { #n } else { #m };));
                    let other = b.item;
                    Indexed {
                        len,
                        item: Box::new(move |k| Item::Tuple(vec![inner(k), other(k)])),
                    }
                }
                _ => unreachable!("only indexed stages here"),
            };
        }
        Ok(ix)
    }

    /// The other chain of a `zip`, which must keep its elements
    /// addressable: its length and elements.
    fn zipped(&mut self, other: &Chain, pre: &mut Stmts) -> syn::Result<Indexed> {
        if other.stages.iter().any(|s| !s.indexed()) {
            return Err(syn::Error::new_spanned(
                &other.syntax,
                "#[differentiable] zips with chains whose elements are addressable \
                 (`y.iter()`, `map`, `enumerate`, `rev`, `take`, `skip`, `step_by`); \
                 filter after the `zip`",
            ));
        }
        let stages: Vec<&Stage> = other.stages.iter().collect();
        self.indexed(&other.source, &stages, other.span, pre)
    }

    /// The length and elements of a source.
    fn source(&mut self, source: &Source, span: Span, pre: &mut Stmts) -> syn::Result<Indexed> {
        let len = self.fresh("n", span);
        self.check_sequence(source)?;
        // The slice, by name: a path as it is, anything else bound first.
        let base = |l: &mut Lower, of: &syn::Expr, pre: &mut Stmts| -> syn::Expr {
            match strip(of) {
                syn::Expr::Path(p) if p.path.get_ident().is_some() => syn::Expr::Path(p.clone()),
                other => {
                    let s = l.fresh("s", span);
                    pre.push(syn::parse_quote!(let #s = #other;));
                    syn::parse_quote!(#s)
                }
            }
        };
        Ok(match source {
            Source::Range { lo, hi, inclusive } => {
                let zero = matches!(strip(lo), syn::Expr::Lit(l) if l.lit.to_token_stream().to_string() == "0");
                let lo_name = self.fresh("lo", span);
                let hi_name = self.fresh("hi", span);
                pre.push(syn::parse_quote!(let #hi_name = #hi;));
                if zero && !inclusive {
                    pre.push(syn::parse_quote!(let #len = #hi_name;));
                    return Ok(Indexed {
                        len,
                        item: Box::new(|k| Item::Value(k.clone())),
                    });
                }
                pre.push(syn::parse_quote!(let #lo_name = #lo;));
                pre.push(if *inclusive {
                    syn::parse_quote!(let #len = if #hi_name >= #lo_name { #hi_name - #lo_name + 1 } else { 0 };)
                } else {
                    syn::parse_quote!(let #len = if #hi_name > #lo_name { #hi_name - #lo_name } else { 0 };)
                });
                Indexed {
                    len,
                    item: Box::new(move |k| Item::Value(syn::parse_quote!(#lo_name + #k))),
                }
            }
            Source::Elements { of, range, mutable } => {
                if *mutable && !matches!(strip(of), syn::Expr::Path(_)) {
                    return Err(syn::Error::new_spanned(
                        of,
                        "#[differentiable] writes through `iter_mut()` of a slice or array \
                         by name (`v.iter_mut()`, `v[a..b].iter_mut()`)",
                    ));
                }
                let x = base(self, of, pre);
                let offset = match range {
                    None => {
                        pre.push(syn::parse_quote!(let #len = #x.len();));
                        None
                    }
                    Some((lo, hi, inclusive)) => {
                        let off = self.fresh("off", span);
                        let lo: syn::Expr = lo.clone().unwrap_or_else(|| syn::parse_quote!(0));
                        pre.push(syn::parse_quote!(let #off = #lo;));
                        let hi: syn::Expr = match (hi, inclusive) {
                            (None, _) => syn::parse_quote!(#x.len()),
                            (Some(h), false) => h.clone(),
                            (Some(h), true) => syn::parse_quote!(#h + 1),
                        };
                        pre.push(syn::parse_quote!(let #len = #hi - #off;));
                        Some(off)
                    }
                };
                let mutable = *mutable;
                Indexed {
                    len,
                    item: Box::new(move |k| {
                        let at: syn::Expr = match &offset {
                            Some(off) => syn::parse_quote!(#x[#off + #k]),
                            None => syn::parse_quote!(#x[#k]),
                        };
                        if mutable {
                            Item::Place(at)
                        } else {
                            Item::Value(at)
                        }
                    }),
                }
            }
            Source::Chunks { of, size, exact } => {
                let x = base(self, of, pre);
                let (c, total) = (self.fresh("size", span), self.fresh("total", span));
                pre.push(syn::parse_quote!(let #c = #size;));
                pre.push(syn::parse_quote!(let #total = #x.len();));
                pre.push(if *exact {
                    syn::parse_quote!(let #len = #total / #c;)
                } else {
                    syn::parse_quote!(let #len = (#total + #c - 1) / #c;)
                });
                let exact = *exact;
                Indexed {
                    len,
                    item: Box::new(move |k| {
                        let lo: syn::Expr = syn::parse_quote!(#k * #c);
                        Item::Value(if exact {
                            syn::parse_quote!(&#x[#lo..#lo + #c])
                        } else {
                            syn::parse_quote!(&#x[#lo..if #lo + #c < #total { #lo + #c } else { #total }])
                        })
                    }),
                }
            }
            Source::Windows { of, size } => {
                let x = base(self, of, pre);
                let (w, total) = (self.fresh("size", span), self.fresh("total", span));
                pre.push(syn::parse_quote!(let #w = #size;));
                pre.push(syn::parse_quote!(let #total = #x.len();));
                pre.push(
                    syn::parse_quote!(let #len = if #total >= #w { #total - #w + 1 } else { 0 };),
                );
                Indexed {
                    len,
                    item: Box::new(move |k| Item::Value(syn::parse_quote!(&#x[#k..#k + #w]))),
                }
            }
        })
    }

    /// A source that is a number or an element, not a sequence, is an
    /// error at its name.
    fn check_sequence(&self, source: &Source) -> syn::Result<()> {
        let (Source::Elements { of, .. } | Source::Chunks { of, .. } | Source::Windows { of, .. }) =
            source
        else {
            return Ok(());
        };
        match strip(of) {
            syn::Expr::Path(p) => {
                let Some(ident) = p.path.get_ident() else {
                    return Ok(());
                };
                if let Some(Bound::Value(v)) = self.lookup(&ident.to_string())
                    && matches!(self.f.class(*v), Class::Float | Class::Int | Class::Bool)
                    && !self.f.maybe_array(*v)
                {
                    return Err(syn::Error::new_spanned(
                        of,
                        format_args!(
                            "`{ident}` is a number, not a sequence; #[differentiable] iterates \
                             over slices, arrays and ranges (`0..n`)"
                        ),
                    ));
                }
                Ok(())
            }
            syn::Expr::Index(ix) if !matches!(strip(&ix.index), syn::Expr::Range(_)) => {
                Err(syn::Error::new_spanned(
                    of,
                    "#[differentiable] iterates over slices and arrays of numbers, not over an \
                     element of a collection; index the flat slice (`x[3 * i + k]`), or iterate \
                     over `x.chunks(3)` where the parts are used",
                ))
            }
            _ => Ok(()),
        }
    }

    /// The statements that take `item` through `stages` (from the first
    /// that drops elements on) into `body`.
    fn push_stages(
        &mut self,
        stages: &[&Stage],
        item: Item,
        pre: &mut Stmts,
        body: &mut dyn FnMut(&mut Lower, Item) -> syn::Result<Stmts>,
    ) -> syn::Result<Stmts> {
        let Some((stage, rest)) = stages.split_first() else {
            return body(self, item);
        };
        let span = Span::call_site();
        let mut stmts = Vec::new();
        let item = self.bound_item(item, &mut stmts);
        match stage {
            Stage::Map(f) => {
                f.check_arity(1, "map")?;
                let v = self.fresh("v", span);
                let e = f.apply(vec![item]);
                stmts.push(syn::parse_quote!(let #v = #e;));
                stmts.extend(self.push_stages(
                    rest,
                    Item::Value(syn::parse_quote!(#v)),
                    pre,
                    body,
                )?);
            }
            Stage::Filter(f) | Stage::TakeWhile(f) | Stage::SkipWhile(f) | Stage::Inspect(f) => {
                f.check_arity(1, "the adapter")?;
                let test = f.apply(vec![item.clone()]);
                let inner = self.push_stages(rest, item, pre, body)?;
                match stage {
                    Stage::Filter(_) => stmts.push(syn::parse_quote!(if #test { #(#inner)* })),
                    Stage::Inspect(_) => {
                        stmts.push(syn::parse_quote!(#test;));
                        stmts.extend(inner);
                    }
                    Stage::TakeWhile(_) => {
                        let go = self.fresh("go", span);
                        pre.push(syn::parse_quote!(let mut #go = true;));
                        stmts.push(syn::parse_quote!(
                            if #go { if #test { #(#inner)* } else { #go = false; } }
                        ));
                    }
                    _ => {
                        let skip = self.fresh("skipping", span);
                        pre.push(syn::parse_quote!(let mut #skip = true;));
                        stmts.push(syn::parse_quote!(if #skip { if !(#test) { #skip = false; } }));
                        stmts.push(syn::parse_quote!(if !#skip { #(#inner)* }));
                    }
                }
            }
            Stage::Enumerate
            | Stage::Take(_)
            | Stage::Skip(_)
            | Stage::StepBy(_)
            | Stage::Zip(_) => {
                let count = self.fresh("count", span);
                let at = self.fresh("at", span);
                pre.push(syn::parse_quote!(let mut #count = 0usize;));
                stmts.push(syn::parse_quote!(let #at = #count;));
                stmts.push(syn::parse_quote!(#count += 1;));
                let at_e: syn::Expr = syn::parse_quote!(#at);
                match stage {
                    Stage::Enumerate => {
                        let item = Item::Tuple(vec![Item::Value(at_e), item]);
                        stmts.extend(self.push_stages(rest, item, pre, body)?);
                    }
                    Stage::Take(t) | Stage::Skip(t) | Stage::StepBy(t) => {
                        let m = self.fresh("m", span);
                        pre.push(syn::parse_quote!(let #m = #t;));
                        let cond: syn::Expr = match stage {
                            Stage::Take(_) => syn::parse_quote!(#at < #m),
                            Stage::Skip(_) => syn::parse_quote!(#at >= #m),
                            _ => syn::parse_quote!(#at % #m == 0),
                        };
                        let inner = self.push_stages(rest, item, pre, body)?;
                        stmts.push(syn::parse_quote!(if #cond { #(#inner)* }));
                    }
                    Stage::Zip(other) => {
                        let b = self.zipped(other, pre)?;
                        let n = b.len;
                        let item = Item::Tuple(vec![item, (b.item)(&at_e)]);
                        let inner = self.push_stages(rest, item, pre, body)?;
                        stmts.push(syn::parse_quote!(if #at < #n { #(#inner)* }));
                    }
                    _ => unreachable!("a counted stage"),
                }
            }
            Stage::Rev(at) => {
                return Err(syn::Error::new(
                    *at,
                    "#[differentiable] reverses chains before `take_while` and `skip_while` \
                     and the counters after a `filter`; move `.rev()` before them",
                ));
            }
            Stage::Chain(_) => unreachable!("chains are split in `drive`"),
        }
        Ok(stmts)
    }

    /// An element bound to hidden names where it is an expression to
    /// compute, so that stages that read it twice compute it once.
    fn bound_item(&mut self, item: Item, stmts: &mut Stmts) -> Item {
        match item {
            Item::Value(e) if !matches!(strip(&e), syn::Expr::Path(_) | syn::Expr::Lit(_)) => {
                let v = self.fresh("v", Span::call_site());
                stmts.push(syn::parse_quote!(let #v = #e;));
                Item::Value(syn::parse_quote!(#v))
            }
            Item::Tuple(items) => Item::Tuple(
                items
                    .into_iter()
                    .map(|i| self.bound_item(i, stmts))
                    .collect(),
            ),
            other => other,
        }
    }

    /// A closure bound by `let`, kept to be inlined where it is called.
    pub(super) fn bind_closure(&mut self, name: &str, c: &syn::ExprClosure) {
        if let Err(e) = check_closure(c) {
            self.errors.push(e);
            return;
        }
        let mut scope = HashMap::new();
        for s in &self.scopes {
            scope.extend(s.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        // What the closure assigns of the variables it captures.
        let mut assigned = super::flow::assigned_names(&c.body);
        let mut locals = Locals::default();
        locals.visit_expr(&c.body);
        for input in &c.inputs {
            locals.visit_pat(input);
        }
        assigned.retain(|n| scope.contains_key(n) && !locals.0.contains(n));
        if let Some(name) = assigned.first() {
            self.errors.at(
                c,
                format_args!(
                    "this closure assigns `{name}`, which it captures; #[differentiable] inlines \
                     closures that compute a value from their arguments: return the new value \
                     and assign it where the closure is called"
                ),
            );
            return;
        }
        self.bind(
            name,
            Bound::Closure(Rc::new(ClosureDef {
                syntax: c.clone(),
                scope,
            })),
        );
    }

    /// A call of a closure bound by `let`: its body, with its arguments
    /// bound to its parameters, in the scope where it was written.
    pub(super) fn call_closure(
        &mut self,
        def: &ClosureDef,
        c: &syn::ExprCall,
        outputs: usize,
    ) -> Option<Bound> {
        if def.syntax.inputs.len() != c.args.len() {
            self.errors.at(
                c,
                format_args!("this closure takes {} argument(s)", def.syntax.inputs.len()),
            );
            return None;
        }
        let args: Option<Vec<Bound>> = c.args.iter().map(|a| self.expr(a)).collect();
        let args = args?;
        self.scopes.push(def.scope.clone());
        self.scopes.push(HashMap::new());
        for (pat, arg) in def.syntax.inputs.iter().zip(args) {
            self.bind_pattern(&value_pattern(pat), arg, None);
        }
        let value = self.expr_shaped(&def.syntax.body, outputs);
        self.scopes.pop();
        self.scopes.pop();
        value
    }
}

/// The names a pattern or a `let` binds.
#[derive(Default)]
struct Locals(Vec<String>);

impl<'ast> Visit<'ast> for Locals {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.0.push(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
}

impl Chain {
    /// Whether the loop lowering takes this sequence as it is: a range,
    /// with `rev` and `step_by`.
    fn native(&self) -> bool {
        matches!(self.source, Source::Range { .. })
            && self
                .stages
                .iter()
                .all(|s| matches!(s, Stage::Rev(_) | Stage::StepBy(_)))
    }
}
