//! Struct values in the body: `let mid = State { .. }`, `let k = deriv(s)`
//! of a function returning a struct, `s = step(&s, h)` in a loop, and a
//! returned struct variable or call.
//!
//! A struct variable becomes one variable per float leaf (`mid.q` is
//! `__mid_q`), like a struct parameter's leaves: a literal gives each leaf
//! its field's expression, a copy of another struct its leaves, and a call
//! of a function returning a struct the tuple its inner function returns
//! (`let (__k_q, __k_p) = __deriv_fields(..)`). What the passes after this
//! one do to the leaves of parameters (field reads, structs passed on) they
//! then do to these.
//!
//! The type of a variable bound to a call is its annotation, or else the
//! one struct known to the function whose fields include every field the
//! body reads of it; a hidden type alias of each function returning a
//! struct (`__deriv_output`) checks the guess at compile time.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::visit_mut::VisitMut;

use super::Field;
use super::fields::{Leaf, field_chain, leaf_expr, leaf_ident, leaves};

/// Every struct type whose fields the function knows, by name.
pub(super) type Types = Vec<(Ident, Vec<Field>)>;

/// The function that gives a call's struct result as its leaves:
/// `__g_fields` for `g` (the last segment of a path).
pub(super) fn fields_fn(path: &syn::Path) -> syn::Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut()
        && !is_fields_fn(&last.ident)
    {
        last.ident = format_ident!(
            "__{}_fields",
            last.ident.to_string().trim_start_matches("r#"),
            span = last.ident.span()
        );
    }
    path
}

/// Whether a function's name is an inner function's (`__g_fields`).
pub(super) fn is_fields_fn(ident: &Ident) -> bool {
    let s = ident.to_string();
    s.starts_with("__") && s.ends_with("_fields")
}

/// The hidden alias of a function's struct output: `__g_output`.
pub(super) fn output_alias(name: &Ident) -> Ident {
    format_ident!("__{}_output", name.to_string().trim_start_matches("r#"))
}

/// Rewrites the struct variables of a body into their leaves.
pub(super) struct Locals<'a> {
    types: &'a Types,
    /// The name `Self` stands for, in an `impl` block.
    self_type: Option<Ident>,
    /// The struct parameters, then each struct variable as it is met: a
    /// field named like it, of its struct's kind.
    pub(super) roots: Vec<Field>,
    /// The leaves of the variables, paths starting at the variable.
    pub(super) leaves: Vec<Leaf>,
    /// Their `#[no_diff]` fields: variables of data (`__k_n`).
    pub(super) data_leaves: Vec<Leaf>,
    /// The whole body, where the fields read of a variable are looked up.
    body: syn::Block,
    /// Compile-time checks of the types guessed for calls' results.
    pub(super) checks: Vec<TokenStream>,
    pub(super) error: Option<syn::Error>,
    /// The struct variables declared so far.
    pub(super) declared: Vec<Ident>,
    /// Struct parameters not differentiated (data), by name with their
    /// type: copied into variables (`let mut s = s0.clone()`).
    pub(super) data: Vec<(Ident, Ident)>,
    fresh: usize,
}

/// A struct value: one expression per leaf (and per `#[no_diff]` field),
/// or a call that gives the leaves' tuple.
enum Values {
    Leaves(Vec<syn::Expr>, Vec<syn::Expr>),
    Tuple(syn::Expr),
}

/// The `#[no_diff]` fields under `fields` (nested ones too), as leaves
/// whose paths start with `prefix`.
fn data_leaves(fields: &[Field], prefix: &[Ident], out: &mut Vec<Leaf>) {
    for f in fields {
        let mut path = prefix.to_vec();
        path.push(f.name.clone());
        match &f.kind {
            None => out.push(Leaf {
                path,
                ty: f.ty.clone(),
                kind: super::Kind::Scalar,
            }),
            Some(super::Kind::Nested(_, Some(sub))) => data_leaves(sub, &path, out),
            _ => {}
        }
    }
}

impl<'a> Locals<'a> {
    pub(super) fn new(
        types: &'a Types,
        self_type: Option<Ident>,
        params: &[Field],
        body: &syn::Block,
    ) -> Self {
        Locals {
            types,
            self_type,
            roots: params.to_vec(),
            leaves: Vec::new(),
            data_leaves: Vec::new(),
            body: body.clone(),
            checks: Vec::new(),
            error: None,
            declared: Vec::new(),
            data: Vec::new(),
            fresh: 0,
        }
    }

    fn fail(&mut self, at: &dyn ToTokens, message: String) {
        self.error
            .get_or_insert_with(|| syn::Error::new_spanned(at, message));
    }

    /// The fields of the struct named `name` (`Self` included).
    fn fields_of(&self, name: &Ident) -> Option<(Ident, Vec<Field>)> {
        let name = match (&self.self_type, name == "Self") {
            (Some(s), true) => s,
            _ => name,
        };
        self.types.iter().find(|(t, _)| t == name).cloned()
    }

    /// The struct type of a root variable or parameter.
    fn root_type(&self, name: &Ident) -> Option<Ident> {
        self.roots.iter().rev().find_map(|f| match &f.kind {
            Some(super::Kind::Nested(t, Some(_))) if &f.name == name => Some(t.clone()),
            _ => None,
        })
    }

    /// The struct variable an expression copies (`s`, `s.clone()`, `*s`,
    /// `&s`), with the field path under it (`p.l1`).
    fn copied(&self, e: &syn::Expr) -> Option<(Ident, Vec<Ident>, Ident)> {
        let e = strip_copy(e);
        let (root, rel) = field_chain(e)?;
        let ty = self.root_type(&root).or_else(|| {
            self.data
                .iter()
                .find(|(n, _)| *n == root)
                .map(|(_, t)| t.clone())
        })?;
        let mut fields = self.fields_of(&ty)?.1;
        let mut ty = ty;
        for name in &rel {
            match fields.iter().find(|f| &f.name == name)?.kind.clone() {
                Some(super::Kind::Nested(t, Some(sub))) => {
                    ty = t;
                    fields = sub;
                }
                _ => return None,
            }
        }
        Some((root, rel, ty))
    }

    /// The struct type of a new variable `name`: its annotation, a
    /// literal's, a copied variable's, or for a call the one known struct
    /// with every field the body reads of `name`.
    fn type_of(
        &mut self,
        name: &Ident,
        annotation: Option<&syn::Type>,
        init: &syn::Expr,
    ) -> Option<Ident> {
        if let Some(ty) = annotation {
            let syn::Type::Path(p) = ty else { return None };
            let ident = p.path.get_ident()?;
            return self.fields_of(ident).map(|(t, _)| t);
        }
        match strip_parens(init) {
            syn::Expr::Struct(lit) => {
                let ident = lit.path.get_ident()?;
                return self.fields_of(ident).map(|(t, _)| t);
            }
            syn::Expr::Call(_) => {}
            e => return self.copied(e).map(|(_, _, t)| t),
        }
        // Without fields read, a struct only where the other calls say so
        // (floats and arrays are passed on too).
        let (read, _) = uses_of(&self.body, name);
        if read.is_empty() {
            return self.by_calls(name, init);
        }
        let candidates: Vec<&Ident> = self
            .types
            .iter()
            .filter(|(_, fields)| read.iter().all(|r| fields.iter().any(|f| &f.name == r)))
            .map(|(t, _)| t)
            .collect();
        if let [one] = candidates[..] {
            return Some(one.clone());
        }
        let reads = read
            .iter()
            .map(|r| format!("`{name}.{r}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let why = match candidates.len() {
            0 => format!("reads {reads}, and no struct it names has those fields"),
            _ => format!(
                "reads {reads}, which {} all have",
                candidates
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        };
        let ty = match candidates.first() {
            Some(t) => t.to_string(),
            None => "Type".to_string(),
        };
        self.fail(
            init,
            format!(
                "#[differentiable] needs the struct type of `{name}`, the value of this call: the \
                 function {why}; write the type: `let {name}: {ty} = ...`"
            ),
        );
        None
    }

    /// The struct type of `name`, bound to the call `init`, from the other
    /// calls of the body: the type of another variable bound to a call of
    /// the same function, or of what another call passes where `name` is
    /// passed (`deriv(s, ..)` and `deriv(&mid, ..)`).
    fn by_calls(&self, name: &Ident, init: &syn::Expr) -> Option<Ident> {
        let callee = |e: &syn::Expr| match strip_parens(e) {
            syn::Expr::Call(c) => match &*c.func {
                syn::Expr::Path(p) => Some(p.path.clone()),
                _ => None,
            },
            _ => None,
        };
        let g = callee(init)?;
        let calls = calls_in(&self.body);
        // Another variable bound to a call of `g`.
        for (var, value) in bindings_in(&self.body) {
            if &var != name
                && callee(&value).as_ref() == Some(&g)
                && let Some(t) = self.root_type(&var)
            {
                return Some(t);
            }
        }
        // What the other calls of the function `name` is passed to pass
        // there.
        for c in &calls {
            let syn::Expr::Path(f) = &*c.func else {
                continue;
            };
            for (j, a) in c.args.iter().enumerate() {
                if matches!(strip_copy(a), syn::Expr::Path(p) if p.path.is_ident(name))
                    && let Some(t) = self.passed_at(&calls, &f.path, j)
                {
                    return Some(t);
                }
            }
        }
        None
    }

    /// The struct type the calls of `g` pass at position `j`, where one of
    /// them passes a struct the function knows there.
    fn passed_at(&self, calls: &[syn::ExprCall], g: &syn::Path, j: usize) -> Option<Ident> {
        calls.iter().find_map(|other| match &*other.func {
            syn::Expr::Path(of) if of.path == *g => {
                self.copied(other.args.iter().nth(j)?).map(|(_, _, t)| t)
            }
            _ => None,
        })
    }

    /// A statement's struct arguments made by calls (`deriv(&advance(s,
    /// k, h), spring)`, where another call of `deriv` passes a struct
    /// there): each bound to a variable of its own before the statement.
    fn hoist(&mut self, stmt: &mut syn::Stmt) -> Vec<syn::Stmt> {
        struct Hoist<'l, 'a> {
            locals: &'l mut Locals<'a>,
            calls: Vec<syn::ExprCall>,
            out: Vec<syn::Stmt>,
        }
        impl VisitMut for Hoist<'_, '_> {
            fn visit_expr_call_mut(&mut self, c: &mut syn::ExprCall) {
                syn::visit_mut::visit_expr_call_mut(self, c);
                let syn::Expr::Path(f) = &*c.func else { return };
                let path = f.path.clone();
                for (j, a) in c.args.iter_mut().enumerate() {
                    let inner = match &*a {
                        syn::Expr::Reference(r) if r.mutability.is_none() => &*r.expr,
                        a => a,
                    };
                    if !matches!(strip_parens(inner), syn::Expr::Call(_)) {
                        continue;
                    }
                    let Some(ty) = self.locals.passed_at(&self.calls, &path, j) else {
                        continue;
                    };
                    let value = inner.clone();
                    self.locals.fresh += 1;
                    let name = format_ident!("__arg{}", self.locals.fresh);
                    self.out.push(syn::parse_quote!(let #name: #ty = #value;));
                    *a = syn::parse_quote!(&#name);
                }
            }
            // Blocks are hoisted into when the visitor reaches them; what
            // runs more than once or maybe not at all stays where it is (a
            // `while` condition, the right side of `&&` and `||`).
            fn visit_block_mut(&mut self, _: &mut syn::Block) {}
            fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
            fn visit_expr_while_mut(&mut self, _: &mut syn::ExprWhile) {}
            fn visit_expr_binary_mut(&mut self, b: &mut syn::ExprBinary) {
                match b.op {
                    syn::BinOp::And(_) | syn::BinOp::Or(_) => self.visit_expr_mut(&mut b.left),
                    _ => syn::visit_mut::visit_expr_binary_mut(self, b),
                }
            }
        }
        let calls = calls_in(&self.body);
        let mut h = Hoist {
            locals: self,
            calls,
            out: Vec::new(),
        };
        h.visit_stmt_mut(stmt);
        h.out
    }

    /// The leaves' values of a struct value `init` of type `ty`.
    fn values(&mut self, ty: &Ident, init: &syn::Expr) -> Option<Values> {
        let (_, fields) = self.fields_of(ty)?;
        let mut paths = Vec::new();
        leaves(&fields, &[], &mut paths);
        let mut data = Vec::new();
        data_leaves(&fields, &[], &mut data);
        match strip_parens(init) {
            syn::Expr::Struct(lit) => {
                let named = lit.path.get_ident().and_then(|i| self.fields_of(i));
                if named.is_none_or(|(t, _)| t != *ty) {
                    self.fail(lit, format!("expected a `{ty}` here"));
                    return None;
                }
                let exprs = |ls: &[Leaf]| -> Result<Vec<syn::Expr>, syn::Error> {
                    ls.iter().map(|l| leaf_expr(lit, &l.path)).collect()
                };
                match (exprs(&paths), exprs(&data)) {
                    (Ok(out), Ok(data_out)) => Some(Values::Leaves(out, data_out)),
                    (Err(e), _) | (_, Err(e)) => {
                        self.error.get_or_insert(e);
                        None
                    }
                }
            }
            syn::Expr::Call(call) => {
                if !data.is_empty() {
                    self.fail(
                        call,
                        format!(
                            "#[differentiable] gives a struct variable what a call returns only \
                             for structs without `#[no_diff]` fields (a call gives the float \
                             fields); `{ty}` has some: build it with a literal"
                        ),
                    );
                    return None;
                }
                let syn::Expr::Path(func) = &*call.func else {
                    self.fail(
                        call,
                        "#[differentiable] supports struct values from calls of functions by name"
                            .into(),
                    );
                    return None;
                };
                if func.path.segments.len() == 1
                    && let Some(last) = func.path.segments.last()
                {
                    // Spanned at the call, where the error belongs.
                    let span = call.func.span_of();
                    let alias = Ident::new(&output_alias(&last.ident).to_string(), span);
                    let ty = Ident::new(&ty.to_string(), span);
                    let check = quote::quote_spanned!(span =>
                        const _: () = ::autodiff::__private::returns::<#alias, #ty>();
                    );
                    self.checks.push(check);
                }
                let mut call = call.clone();
                *call.func = syn::Expr::Path(syn::ExprPath {
                    attrs: func.attrs.clone(),
                    qself: func.qself.clone(),
                    path: fields_fn(&func.path),
                });
                Some(Values::Tuple(syn::Expr::Call(call)))
            }
            e => {
                let Some((root, rel, t)) = self.copied(e) else {
                    self.fail(
                        init,
                        format!(
                            "#[differentiable] makes a `{ty}` value from a struct literal, another \
                             `{ty}` variable or a call of a function returning one; bind this \
                             expression's parts to variables first"
                        ),
                    );
                    return None;
                };
                if &t != ty {
                    self.fail(init, format!("expected a `{ty}` here, found a `{t}`"));
                    return None;
                }
                let read = |l: &Leaf| -> syn::Expr {
                    let path = &l.path;
                    syn::parse_quote!(#root #(. #rel)* #(. #path)*)
                };
                let out = paths.iter().map(read).collect();
                Some(Values::Leaves(out, data.iter().map(read).collect()))
            }
        }
    }

    /// The struct variable `name` of type `ty`, from now on.
    fn declare(&mut self, name: &Ident, ty: &Ident) -> Vec<Ident> {
        let fields = self.fields_of(ty).map(|(_, f)| f).unwrap_or_default();
        let root = Field {
            name: name.clone(),
            ty: syn::parse_quote!(#ty),
            kind: Some(super::Kind::Nested(ty.clone(), Some(fields.clone()))),
        };
        let mut new = Vec::new();
        leaves(std::slice::from_ref(&root), &[], &mut new);
        let idents = new.iter().map(|l| leaf_ident(&l.path)).collect();
        self.leaves.retain(|l| &l.path[0] != name);
        self.leaves.extend(new);
        self.data_leaves.retain(|l| &l.path[0] != name);
        data_leaves(&fields, std::slice::from_ref(name), &mut self.data_leaves);
        self.roots.push(root);
        self.declared.push(name.clone());
        idents
    }

    /// `let` of a struct variable, or an assignment of one: the statements
    /// on its leaves; `None` for any other statement.
    fn rewrite(&mut self, stmt: &syn::Stmt) -> Option<Vec<syn::Stmt>> {
        match stmt {
            syn::Stmt::Local(local) => {
                let (pat, annotation) = match &local.pat {
                    syn::Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
                    p => (p, None),
                };
                let syn::Pat::Ident(pi) = pat else {
                    return None;
                };
                if pi.by_ref.is_some() || pi.subpat.is_some() {
                    return None;
                }
                let init = local.init.as_ref()?;
                if init.diverge.is_some() {
                    return None;
                }
                let ty = self.type_of(&pi.ident, annotation, &init.expr)?;
                let fields = self.fields_of(&ty)?.1;
                let mut paths = Vec::new();
                leaves(&fields, &[], &mut paths);
                if paths.iter().any(|l| matches!(l.kind, super::Kind::Vec(_))) {
                    self.fail(
                        local,
                        format!(
                            "#[differentiable] supports struct variables of structs with float \
                             and array fields; `{ty}` has a `Vec` field: make `{}` a parameter",
                            pi.ident
                        ),
                    );
                    return None;
                }
                let values = self.values(&ty, &init.expr)?;
                let idents = self.declare(&pi.ident, &ty);
                let m = &pi.mutability;
                let mut data = Vec::new();
                data_leaves(&fields, std::slice::from_ref(&pi.ident), &mut data);
                Some(match values {
                    // Typed: a copy of data (`s0.q`) is an array value.
                    Values::Leaves(values, data_values) => idents
                        .iter()
                        .zip(values)
                        .zip(&paths)
                        .map(|((i, v), l)| (i.clone(), v, &l.ty))
                        .chain(
                            data.iter()
                                .zip(data_values)
                                .map(|(l, v)| (leaf_ident(&l.path), v, &l.ty)),
                        )
                        .map(|(i, v, t)| syn::parse_quote!(let #m #i: #t = #v;))
                        .collect(),
                    Values::Tuple(call) => {
                        let pat = crate::emit::tuple_or_single(
                            &idents.iter().map(|i| quote!(#m #i)).collect::<Vec<_>>(),
                        );
                        vec![syn::parse_quote!(let #pat = #call;)]
                    }
                })
            }
            syn::Stmt::Expr(syn::Expr::Assign(a), Some(_)) => {
                let syn::Expr::Path(p) = &*a.left else {
                    return None;
                };
                let name = p.path.get_ident()?;
                if !self.declared.contains(name) {
                    return None;
                }
                let ty = self.root_type(name)?;
                let values = self.values(&ty, &a.right)?;
                let mut idents: Vec<Ident> = Vec::new();
                for l in self.leaves.iter().filter(|l| &l.path[0] == name) {
                    idents.push(leaf_ident(&l.path));
                }
                for l in self.data_leaves.iter().filter(|l| &l.path[0] == name) {
                    idents.push(leaf_ident(&l.path));
                }
                self.fresh += 1;
                let temps: Vec<Ident> = (0..idents.len())
                    .map(|k| format_ident!("__new{}_{}", self.fresh, k))
                    .collect();
                let mut out: Vec<syn::Stmt> = match values {
                    Values::Leaves(values, data) => temps
                        .iter()
                        .zip(values.into_iter().chain(data))
                        .map(|(t, v)| syn::parse_quote!(let #t = #v;))
                        .collect(),
                    Values::Tuple(call) => {
                        let pat = crate::emit::tuple_or_single(&temps);
                        vec![syn::parse_quote!(let #pat = #call;)]
                    }
                };
                for (i, t) in idents.iter().zip(&temps) {
                    out.push(syn::parse_quote!(#i = #t;));
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// A returned struct (`s`, `step(&s)`) of the output type: its leaves'
    /// tuple; literals are left to the output's own pass.
    pub(super) fn returned(&mut self, out: &Ident, e: &mut syn::Expr) {
        match strip_parens(e) {
            syn::Expr::Struct(_) => {}
            syn::Expr::Call(_) => {
                if let Some(Values::Tuple(call)) = self.values(out, e) {
                    *e = call;
                }
            }
            other => {
                if self.copied(other).is_some()
                    && let Some(Values::Leaves(values, _)) = self.values(out, e)
                {
                    let t = crate::emit::tuple_or_single(&values);
                    *e = syn::parse_quote!(#t);
                }
            }
        }
    }
}

impl VisitMut for Locals<'_> {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        let mut stmts = Vec::new();
        for mut stmt in std::mem::take(&mut b.stmts) {
            for hoisted in self.hoist(&mut stmt) {
                match self.rewrite(&hoisted) {
                    Some(new) => stmts.extend(new),
                    None => stmts.push(hoisted),
                }
            }
            match self.rewrite(&stmt) {
                Some(new) => stmts.extend(new),
                None => stmts.push(stmt),
            }
        }
        b.stmts = stmts;
        for s in &mut b.stmts {
            self.visit_stmt_mut(s);
        }
    }

    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
}

/// Applies `f` to each expression a block's value can be: its tail,
/// through `if`, `match` and blocks, and each `return`'s.
pub(super) fn for_each_returned(block: &mut syn::Block, f: &mut dyn FnMut(&mut syn::Expr)) {
    struct Returns<'f>(&'f mut dyn FnMut(&mut syn::Expr));
    impl VisitMut for Returns<'_> {
        fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
            if let syn::Expr::Return(r) = e
                && let Some(v) = &mut r.expr
            {
                tails(v, self.0);
                return;
            }
            syn::visit_mut::visit_expr_mut(self, e);
        }
        fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
        fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    }
    Returns(f).visit_block_mut(block);
    if let Some(syn::Stmt::Expr(e, None)) = block.stmts.last_mut() {
        tails(e, f);
    }
}

fn tails(e: &mut syn::Expr, f: &mut dyn FnMut(&mut syn::Expr)) {
    let block_tail = |b: &mut syn::Block, f: &mut dyn FnMut(&mut syn::Expr)| {
        if let Some(syn::Stmt::Expr(e, None)) = b.stmts.last_mut() {
            tails(e, f);
        }
    };
    match e {
        syn::Expr::If(i) => {
            block_tail(&mut i.then_branch, f);
            if let Some((_, e)) = &mut i.else_branch {
                tails(e, f);
            }
        }
        syn::Expr::Match(m) => {
            for arm in &mut m.arms {
                tails(&mut arm.body, f);
            }
        }
        syn::Expr::Block(b) => block_tail(&mut b.block, f),
        syn::Expr::Paren(p) => tails(&mut p.expr, f),
        e => f(e),
    }
}

fn strip_parens(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip_parens(&p.expr),
        e => e,
    }
}

/// `s` of `s.clone()`, `*s`, `&s`.
fn strip_copy(e: &syn::Expr) -> &syn::Expr {
    match strip_parens(e) {
        syn::Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => {
            strip_copy(&m.receiver)
        }
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => strip_copy(&u.expr),
        syn::Expr::Reference(r) if r.mutability.is_none() => strip_copy(&r.expr),
        e => e,
    }
}

/// The names a body copies whole into variables: `let s = s0.clone()`,
/// `*s0`, `s0`.
pub(super) fn copied_params(body: &syn::Block) -> Vec<Ident> {
    bindings_in(body)
        .into_iter()
        .filter_map(|(_, value)| match strip_copy(&value) {
            syn::Expr::Path(p) => p.path.get_ident().cloned(),
            _ => None,
        })
        .collect()
}

/// Every call of a function by path in a body.
fn calls_in(body: &syn::Block) -> Vec<syn::ExprCall> {
    struct Calls(Vec<syn::ExprCall>);
    impl<'ast> syn::visit::Visit<'ast> for Calls {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            self.0.push(c.clone());
            syn::visit::visit_expr_call(self, c);
        }
    }
    let mut c = Calls(Vec::new());
    syn::visit::Visit::visit_block(&mut c, body);
    c.0
}

/// Every variable a body binds or assigns by name, with the value.
fn bindings_in(body: &syn::Block) -> Vec<(Ident, syn::Expr)> {
    struct Bindings(Vec<(Ident, syn::Expr)>);
    impl<'ast> syn::visit::Visit<'ast> for Bindings {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            let pat = match &l.pat {
                syn::Pat::Type(pt) => &*pt.pat,
                p => p,
            };
            if let (syn::Pat::Ident(pi), Some(init)) = (pat, &l.init) {
                self.0.push((pi.ident.clone(), (*init.expr).clone()));
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            if let syn::Expr::Path(p) = &*a.left
                && let Some(i) = p.path.get_ident()
            {
                self.0.push((i.clone(), (*a.right).clone()));
            }
            syn::visit::visit_expr_assign(self, a);
        }
    }
    let mut b = Bindings(Vec::new());
    syn::visit::Visit::visit_block(&mut b, body);
    b.0
}

/// The fields the body reads of `name` (`name.q`), and whether it passes
/// `name` itself to a call.
fn uses_of(body: &syn::Block, name: &Ident) -> (Vec<Ident>, bool) {
    struct Uses<'n> {
        name: &'n Ident,
        read: Vec<Ident>,
        passed: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for Uses<'_> {
        fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
            if let syn::Expr::Path(p) = strip_parens(&f.base)
                && p.path.is_ident(self.name)
                && let syn::Member::Named(m) = &f.member
            {
                if !self.read.contains(m) {
                    self.read.push(m.clone());
                }
                return;
            }
            syn::visit::visit_expr_field(self, f);
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            for a in &c.args {
                if let syn::Expr::Path(p) = strip_copy(a)
                    && p.path.is_ident(self.name)
                {
                    self.passed = true;
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
    }
    let mut u = Uses {
        name,
        read: Vec::new(),
        passed: false,
    };
    syn::visit::Visit::visit_block(&mut u, body);
    (u.read, u.passed)
}

/// The struct types a body names, whose fields a function needs to know
/// for its struct variables: those of literals (`State { .. }`) and of
/// annotated variables whose fields it reads (`let k: State = ..; k.q`),
/// then those of annotated variables it only passes on, which count only
/// where the first do or the function has struct parameters (such an
/// annotation alone may name an alias of an array type).
pub fn local_struct_types(item: &syn::ItemFn) -> (Vec<Ident>, Vec<Ident>) {
    struct Types<'g> {
        generics: &'g syn::Generics,
        literals: Vec<Ident>,
        passed: Vec<Ident>,
        body: &'g syn::Block,
    }
    impl Types<'_> {
        fn known(&self, ident: &Ident) -> bool {
            let generic = self.generics.params.iter().any(|p| match p {
                syn::GenericParam::Type(t) => &t.ident == ident,
                _ => false,
            });
            generic || ident == "Self" || self.literals.contains(ident)
        }
    }
    impl<'ast> syn::visit::Visit<'ast> for Types<'_> {
        fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
            if s.qself.is_none()
                && let Some(i) = s.path.get_ident()
                && !self.known(i)
            {
                self.passed.retain(|a| a != i);
                self.literals.push(i.clone());
            }
            syn::visit::visit_expr_struct(self, s);
        }
        fn visit_local(&mut self, l: &'ast syn::Local) {
            if let syn::Pat::Type(pt) = &l.pat
                && let syn::Pat::Ident(pi) = &*pt.pat
                && let Some(ty) = super::struct_type(&pt.ty)
                && !self.known(&ty)
            {
                let (read, passed) = uses_of(self.body, &pi.ident);
                if !read.is_empty() {
                    self.passed.retain(|a| a != &ty);
                    self.literals.push(ty);
                } else if passed && !self.passed.contains(&ty) {
                    self.passed.push(ty);
                }
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_macro(&mut self, _: &'ast syn::Macro) {}
    }
    let mut t = Types {
        generics: &item.sig.generics,
        literals: Vec::new(),
        passed: Vec::new(),
        body: &item.block,
    };
    syn::visit::Visit::visit_block(&mut t, &item.block);
    (t.literals, t.passed)
}

/// `Span` of an expression, for spans of generated checks.
trait SpanOf {
    fn span_of(&self) -> Span;
}

impl SpanOf for syn::Expr {
    fn span_of(&self) -> Span {
        syn::spanned::Spanned::span(self)
    }
}
