//! Phase 2, lower: the syn body to the IR. After this phase nothing reads
//! syn again.
//!
//! Locals are SSA-renamed: a scope maps each name to the value it holds now,
//! so `let mut s = a; s += b;` binds `s` to two values in turn, and shadowing
//! and block scopes fall out of the scope stack. Tuples live only in the
//! bindings (`let (a, b) = g(x)`, a tuple output), never in the IR.
//!
//! Each unsupported construct is reported at its own tokens with the way
//! out; lowering goes on after an error, so that one build shows all of them.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;

use crate::error::Errors;
use crate::ir::{BinOp, Callee, Class, Function, Lit, Op, Tokens, UnOp, Value};
use crate::parse::{Output, Parsed, class_of_type};
use crate::primitives::{Arg, Prim};

mod arrays;
mod effects;

pub(crate) use effects::is_check_or_output;
mod exits;
mod flow;
mod iter;
mod methods;

/// What an expression evaluates to.
#[derive(Clone, Debug, PartialEq)]
enum Bound {
    Value(Value),
    /// A tuple of values; `()` is the empty tuple.
    Tuple(Vec<Bound>),
    /// Nothing: the expression left the loop or the function (`break`,
    /// `continue`, `return`); a branch yields a placeholder for it.
    Diverged,
    /// A closure bound by `let`, inlined where it is called.
    Closure(std::rc::Rc<iter::ClosureDef>),
}

pub fn lower(parsed: &Parsed) -> syn::Result<Function> {
    let mut l = Lower {
        f: Function::new(),
        scopes: vec![HashMap::new()],
        errors: Errors::default(),
        poison: None,
        block: crate::ir::Block::default_entry(),
        exits: exits::Exits::default(),
        mut_data: std::collections::HashSet::new(),
        placeholders: Vec::new(),
        fresh: 0,
    };
    let entry = l.f.entry;
    if parsed.sig.receiver.is_some() {
        let v =
            l.f.add_param(entry, Class::Other, Span::call_site(), Some("self".into()));
        l.bind("self", Bound::Value(v));
    }
    for p in &parsed.sig.params {
        let v =
            l.f.add_param(entry, p.class, p.name.span(), Some(p.name.to_string()));
        l.bind(&p.name.to_string(), Bound::Value(v));
        if p.class == Class::Ref && p.ty.to_string().starts_with("& mut") {
            l.mut_data.insert(v);
        }
    }
    let outputs = parsed.sig.output.types().len();
    l.prepare_returns(&parsed.body, &parsed.sig.output.types());
    let tail = l.block_body(&parsed.body, true, outputs);
    let tail = l.returned_or(tail, &parsed.body);
    // An array output returned straight from a call: the call returns one.
    let array_outputs: Vec<bool> = parsed
        .sig
        .output
        .types()
        .iter()
        .map(|t| {
            syn::parse2::<syn::Type>((*t).clone()).is_ok_and(|t| crate::parse::is_float_array(&t))
        })
        .collect();
    match (&tail, array_outputs.as_slice()) {
        (Some(Bound::Value(v)), [true]) => l.call_returns_array(*v),
        (Some(Bound::Tuple(items)), flags) if items.len() == flags.len() => {
            for (item, &array) in items.iter().zip(flags) {
                if let (Bound::Value(v), true) = (item, array) {
                    l.call_returns_array(*v);
                }
            }
        }
        _ => {}
    }
    let ret = match (tail, &parsed.sig.output) {
        (Some(Bound::Value(v)), Output::Scalar(_)) => vec![v],
        (Some(Bound::Tuple(items)), Output::Tuple(tys)) if items.len() == tys.len() => items
            .iter()
            .filter_map(|b| match b {
                Bound::Value(v) => Some(*v),
                Bound::Tuple(_) | Bound::Diverged | Bound::Closure(_) => None,
            })
            .collect(),
        (Some(Bound::Tuple(items)), _) if items.is_empty() => {
            match parsed.body.stmts.last() {
                Some(last) => l.errors.at(last, MISSING_TAIL),
                None => l.errors.at(&parsed.body, MISSING_TAIL),
            }
            vec![]
        }
        (Some(_), _) => {
            l.errors.at(
                parsed.body.stmts.last(),
                "the value of the function does not have the shape of its return type",
            );
            vec![]
        }
        (None, _) => vec![],
    };
    if !l.errors.is_empty() || ret.len() != outputs {
        if l.errors.is_empty() {
            l.errors.at(&parsed.body, MISSING_TAIL);
        }
        return l.errors.finish(Function::new());
    }
    l.f.block_mut(entry).ret = ret;
    // The loops are closed: their instructions join what they carry.
    l.f.open_loops.clear();
    infer_unknown_classes(&mut l.f);
    exits::typed_placeholders(&mut l.f, &l.placeholders);
    infer_unknown_classes(&mut l.f);
    mark_effects(&mut l.f);
    Ok(l.f)
}

/// Marks the calls whose values the function never reads: made for their
/// effects ([`Callee::effect`]).
fn mark_effects(f: &mut Function) {
    let uses = f.use_counts();
    for d in &mut f.insts {
        if let Op::Call(c, _) = &mut d.op {
            c.effect = d.results.iter().all(|r| uses[r.index()] == 0);
        }
    }
}

/// Gives a class to the values that start as a placeholder of unknown type
/// (the value of `break v`, of `return v`) and to what follows from them: a
/// loop's carried variable has the class of what the body assigns it, a
/// branch's result that of what its arms yield, arithmetic that of its
/// operands. To a fixed point, since a loop's results feed later loops.
fn infer_unknown_classes(f: &mut Function) {
    loop {
        let mut changed = false;
        let mut set = |f: &mut Function, v: Value, class: Class| {
            if f.class(v) == Class::Unknown && class != Class::Unknown {
                f.values[v.index()].class = class;
                changed = true;
            }
        };
        for i in 0..f.insts.len() {
            let d = f.insts[i].clone();
            match &d.op {
                Op::If(_, t, e) => {
                    for (k, &r) in d.results.iter().enumerate() {
                        let c = join(f.class(f.block(*t).ret[k]), f.class(f.block(*e).ret[k]));
                        set(f, r, c);
                    }
                }
                Op::For(_, init, body) | Op::While(init, _, body) => {
                    let skip = usize::from(matches!(d.op, Op::For(..)));
                    let params = f.block(*body).params[skip..].to_vec();
                    let cond_params = match &d.op {
                        Op::While(_, cond, _) => f.block(*cond).params.clone(),
                        _ => vec![],
                    };
                    for (k, &p) in params.iter().enumerate() {
                        let y = f.block(*body).ret[k];
                        let c = [init[k], y, d.results[k]]
                            .into_iter()
                            .fold(f.class(p), |c, v| join(c, f.class(v)));
                        set(f, p, c);
                        set(f, d.results[k], c);
                        if let Some(&cp) = cond_params.get(k) {
                            set(f, cp, c);
                        }
                    }
                }
                Op::Unary(_, a) => {
                    let c = f.class(*a);
                    set(f, d.results[0], c);
                }
                Op::Binary(op, a, b) if op.is_arithmetic() => {
                    let c = join(f.class(*a), f.class(*b));
                    set(f, d.results[0], c);
                }
                _ => {}
            }
        }
        if !changed {
            break;
        }
    }
}

struct Lower {
    f: Function,
    scopes: Vec<HashMap<String, Bound>>,
    errors: Errors,
    /// A value standing for an expression that failed to lower, so that the
    /// rest of the body is still checked.
    poison: Option<Value>,
    /// Where instructions go: the entry block, or the branch or loop body
    /// being lowered.
    block: crate::ir::Block,
    /// The flags that `return`, `break` and `continue` set.
    exits: exits::Exits,
    /// The `&mut` parameters of data without floats (`r: &mut [usize]`),
    /// which the function may write and lend mutably.
    mut_data: std::collections::HashSet<Value>,
    /// The values `return` and `break v` start from, typed once the
    /// classes are known ([`exits::typed_placeholders`]).
    placeholders: Vec<Value>,
    /// How many hidden names the rewriting of chains has made.
    fresh: usize,
}

/// The slice methods that write elements, which the lowering rewrites as
/// loops that do: a loop that calls one writes the slice.
const WRITING_METHODS: &[&str] = &[
    "iter_mut",
    "fill",
    "copy_from_slice",
    "clone_from_slice",
    "swap",
    "sort_by",
    "sort_unstable_by",
];

const MISSING_TAIL: &str = "a #[differentiable] function must end with the expression it returns \
     (a tail expression or a final `return`)";

impl Lower {
    fn bind(&mut self, name: &str, b: Bound) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.to_string(), b);
        }
    }

    fn lookup(&self, name: &str) -> Option<&Bound> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn poison(&mut self) -> Bound {
        let v = match self.poison {
            Some(v) => v,
            None => {
                let v = self.f.push1(
                    self.f.entry,
                    Op::Extern(Tokens::new(TokenStream::new())),
                    Class::Unknown,
                    Span::call_site(),
                );
                self.poison = Some(v);
                v
            }
        };
        Bound::Value(v)
    }

    fn push(&mut self, op: Op, class: Class, span: Span) -> Value {
        self.f.push1(self.block, op, class, span)
    }

    /// A value from outside: read once, at the top of the function, even
    /// when used in a branch or a loop (it does not change there), so that
    /// a pullback closure captures the value and not `self`.
    fn push_extern(&mut self, tokens: Tokens, class: Class, span: Span) -> Value {
        self.f.push1(self.f.entry, Op::Extern(tokens), class, span)
    }

    /// Lowers the statements of a block; returns the value of its tail
    /// (`()` when it has none). `outputs` is how many values the tail must
    /// have, to shape a call in tail position.
    fn block_body(&mut self, block: &syn::Block, fn_body: bool, outputs: usize) -> Option<Bound> {
        self.stmts(&block.stmts, fn_body, outputs)
    }

    /// Lowers statements; after one that may leave the loop or the
    /// function, the rest runs under `if !exited { .. }`.
    fn stmts(&mut self, stmts: &[syn::Stmt], fn_body: bool, outputs: usize) -> Option<Bound> {
        let mut tail = Some(Bound::Tuple(vec![]));
        let n = stmts.len();
        for (i, stmt) in stmts.iter().enumerate() {
            let last = i + 1 == n;
            if i > 0 && exits::may_exit(&stmts[i - 1]) {
                return self.guard(
                    stmt,
                    &mut |l| l.stmts(&stmts[i..], fn_body, outputs),
                    fn_body,
                );
            }
            match stmt {
                syn::Stmt::Local(local) => self.local(local),
                syn::Stmt::Item(item) => self.errors.at(
                    item,
                    "items (`fn`, `const`, `static`, `struct`, `use`, ...) inside a #[differentiable] \
                     function are not supported; move the item out of the function",
                ),
                syn::Stmt::Macro(m) => {
                    if let Some(Bound::Diverged) = self.macro_call(&m.mac)
                        && last
                    {
                        tail = Some(Bound::Diverged);
                    }
                }
                syn::Stmt::Expr(syn::Expr::Return(r), _) if last && fn_body && self.exits.ret.is_none() => {
                    tail = match &r.expr {
                        Some(e) => self.expr_shaped(e, outputs),
                        None => Some(Bound::Tuple(vec![])),
                    };
                }
                syn::Stmt::Expr(e, None) if last => tail = self.expr_shaped(e, outputs),
                // A call as a statement (`ode(x, &mut k);`): its value, if
                // any, is dropped; it is called for what it writes.
                syn::Stmt::Expr(e @ (syn::Expr::Call(_) | syn::Expr::MethodCall(_)), Some(_)) => {
                    self.expr_shaped(e, 0);
                }
                syn::Stmt::Expr(e, _) => {
                    // A block whose last statement leaves (`return x;`,
                    // `break;`) leaves too.
                    if let Some(Bound::Diverged) = self.expr(e)
                        && last
                    {
                        tail = Some(Bound::Diverged);
                    }
                }
            }
        }
        tail
    }

    fn local(&mut self, local: &syn::Local) {
        let Some(init) = &local.init else {
            self.errors.at(
                local,
                "`let` without a value is not supported by #[differentiable]; give the variable its value where it is declared",
            );
            let poison = self.poison();
            self.bind_pattern(&local.pat, poison, None);
            return;
        };
        if let Some((_, diverge)) = &init.diverge {
            self.errors.at(
                diverge,
                "`let ... else` is not supported by #[differentiable]; bind with a plain `let`",
            );
        }
        if let syn::Expr::Closure(c) = flow::strip(&init.expr) {
            let name = match &local.pat {
                syn::Pat::Ident(p) => Some(p.ident.to_string()),
                syn::Pat::Type(t) => match &*t.pat {
                    syn::Pat::Ident(p) => Some(p.ident.to_string()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(name) = name {
                self.bind_closure(&name, c);
                return;
            }
        }
        let outputs = pattern_arity(&local.pat);
        let value = self
            .expr_shaped(&init.expr, outputs)
            .unwrap_or_else(|| self.poison());
        self.bind_pattern(&local.pat, value, None);
    }

    /// Binds `pat` to `value`; `ty` is the type annotation in force.
    fn bind_pattern(&mut self, pat: &syn::Pat, value: Bound, ty: Option<&syn::Type>) {
        match pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                let name = pi.ident.to_string();
                if let (Bound::Value(v), Some(ty)) = (&value, ty) {
                    self.refine_class(*v, ty);
                }
                if let Bound::Value(v) = value {
                    let is_inst = matches!(self.f.def(v), crate::ir::ValueDef::Result(..));
                    if is_inst && self.f.name(v).is_none() && Some(v) != self.poison {
                        self.f.set_name(v, name.clone());
                    }
                }
                self.bind(&name, value);
            }
            syn::Pat::Wild(_) => {}
            syn::Pat::Slice(ps) => self.bind_elements(ps, value),
            syn::Pat::Paren(p) => self.bind_pattern(&p.pat, value, ty),
            syn::Pat::Type(pt) => self.bind_pattern(&pt.pat, value, Some(&pt.ty)),
            syn::Pat::Tuple(pt) => {
                let items = match value {
                    Bound::Tuple(items) if items.len() == pt.elems.len() => items,
                    Bound::Value(v) if Some(v) == self.poison => vec![value; pt.elems.len()],
                    _ => {
                        self.errors.at(pt, "this tuple pattern does not match the shape of the value");
                        return;
                    }
                };
                let tys: Vec<Option<&syn::Type>> = match ty {
                    Some(syn::Type::Tuple(t)) if t.elems.len() == items.len() => t.elems.iter().map(Some).collect(),
                    _ => vec![None; items.len()],
                };
                for ((p, item), t) in pt.elems.iter().zip(items).zip(tys) {
                    self.bind_pattern(p, item, t);
                }
            }
            other => self.errors.at(
                other,
                "#[differentiable] supports `let` with a name, `_`, a tuple or an array of them; use one of those patterns",
            ),
        }
    }

    /// A type annotation tells the class of a value the macro could not
    /// know: an outside constant, or what a call returns.
    fn refine_class(&mut self, v: Value, ty: &syn::Type) {
        if crate::parse::is_float_array(ty) {
            self.call_returns_array(v);
            // A field of data (`s0.q` of a struct not differentiated): an
            // array value without derivative.
            if self.f.class(v) == Class::Unknown
                && matches!(self.f.def_op(v), Some(Op::Field(..) | Op::Extern(_)))
            {
                self.f.values[v.index()].class = Class::Vector;
            }
            return;
        }
        let Some(class) = class_of_type(ty) else {
            return;
        };
        let unknown = self.f.class(v) == Class::Unknown && self.f.def_op(v).is_some();
        if (unknown || matches!(self.f.def_op(v), Some(Op::Extern(_) | Op::Call(..))))
            && Some(v) != self.poison
        {
            self.f.values[v.index()].class = class;
        }
    }

    fn expr(&mut self, e: &syn::Expr) -> Option<Bound> {
        self.expr_shaped(e, 1)
    }

    /// Lowers an expression to a single value.
    fn value(&mut self, e: &syn::Expr) -> Option<Value> {
        match self.expr(e)? {
            Bound::Value(v) => Some(v),
            Bound::Diverged => {
                self.errors.at(
                    e,
                    "this expression leaves the loop or the function; it has no value to use here",
                );
                None
            }
            Bound::Tuple(_) => {
                self.errors.at(
                    e,
                    "a tuple (or `()`) is used where #[differentiable] expects a number; \
                     bind its parts with `let (a, b) = ...`",
                );
                None
            }
            Bound::Closure(_) => {
                self.errors.at(
                    e,
                    "#[differentiable] inlines closures where they are called or passed to an \
                     iterator adapter; it does not store, pass or return them: call it here, \
                     or write it as a #[differentiable] function",
                );
                None
            }
        }
    }

    /// Lowers an expression that has `outputs` values (a call in a tuple
    /// `let`, or in the tail of a function returning a tuple).
    fn expr_shaped(&mut self, e: &syn::Expr, outputs: usize) -> Option<Bound> {
        let span = e.span();
        match e {
            syn::Expr::Lit(l) => self.literal(&l.lit).map(Bound::Value),
            syn::Expr::Path(p) => Some(self.path(p)),
            syn::Expr::Paren(p) => self.expr_shaped(&p.expr, outputs),
            syn::Expr::Group(g) => self.expr_shaped(&g.expr, outputs),
            syn::Expr::Unary(u) => self.unary(u, span).map(Bound::Value),
            syn::Expr::Binary(b) => self.binary(b, span),
            syn::Expr::Assign(a) => {
                let value = self.expr(&a.right)?;
                self.assign(&a.left, value);
                Some(Bound::Tuple(vec![]))
            }
            syn::Expr::Cast(c) => self.cast(c, span).map(Bound::Value),
            syn::Expr::MethodCall(m) => self.method_call(m, span, outputs),
            syn::Expr::Call(c) => self.call(c, span, outputs),
            syn::Expr::Block(b) => {
                if let Some(label) = &b.label {
                    self.errors.at(
                        label,
                        "labeled blocks are not supported by #[differentiable]; remove the label",
                    );
                }
                self.scopes.push(HashMap::new());
                let tail = self.block_body(&b.block, false, outputs);
                self.scopes.pop();
                tail
            }
            syn::Expr::Tuple(t) => {
                let items: Option<Vec<Bound>> = t.elems.iter().map(|e| self.expr(e)).collect();
                items.map(Bound::Tuple)
            }
            syn::Expr::Field(f) => self.field(f),
            syn::Expr::If(i) => self.if_expr(i, outputs),
            syn::Expr::Return(r) if self.exits.ret.is_some() => self.early_return(r),
            syn::Expr::Break(b) => self.break_expr(b),
            syn::Expr::Continue(c) => self.continue_expr(c),
            syn::Expr::Loop(l) => self.loop_expr(l),
            syn::Expr::Match(m) => self.match_expr(m, outputs),
            syn::Expr::ForLoop(l) => {
                self.for_loop(l);
                Some(Bound::Tuple(vec![]))
            }
            syn::Expr::While(w) => {
                self.while_loop(w);
                Some(Bound::Tuple(vec![]))
            }
            syn::Expr::Index(i) => self.index(i).map(Bound::Value),
            syn::Expr::Macro(m) if m.mac.path.is_ident("vec") => self.vec_macro(m),
            syn::Expr::Macro(m) => self.macro_call(&m.mac),
            syn::Expr::Repeat(r) => self.repeat(r),
            syn::Expr::Array(a) => self.array_literal(a).map(Bound::Value),
            syn::Expr::Reference(r) => self.reference(r).map(Bound::Value),
            other => {
                self.unsupported(other);
                None
            }
        }
    }

    fn unsupported(&mut self, e: &syn::Expr) {
        let what = match e {
            syn::Expr::Closure(_) => "closures are not supported by #[differentiable]; \
                 write the closure as a #[differentiable] function and call it"
                .to_string(),
            syn::Expr::Unsafe(_) => "`unsafe` blocks are not supported by #[differentiable]; \
                 move the unsafe code to a function outside"
                .to_string(),
            syn::Expr::Macro(m) => {
                self.macro_call(&m.mac);
                return;
            }
            syn::Expr::Reference(_) | syn::Expr::RawAddr(_) => {
                "references are not supported yet by #[differentiable]; use the value itself"
                    .to_string()
            }
            syn::Expr::Array(_) | syn::Expr::Repeat(_) => {
                "arrays are not supported yet by #[differentiable] \
                 (they come with a later release)"
                    .to_string()
            }
            syn::Expr::Struct(_) => "struct expressions are not supported by #[differentiable]; \
                 compute with the fields' values, or build the struct outside"
                .to_string(),
            syn::Expr::Range(_) => {
                "a range is supported as the sequence of a `for` loop only".to_string()
            }
            syn::Expr::Async(_) | syn::Expr::Await(_) => {
                "`async` and `.await` are not supported by #[differentiable]".to_string()
            }
            syn::Expr::Try(_) | syn::Expr::TryBlock(_) => {
                "the `?` operator is not supported by #[differentiable]; handle the error \
                 before calling the differentiable function"
                    .to_string()
            }
            syn::Expr::Let(_) => {
                "`let` expressions are not supported by #[differentiable]".to_string()
            }
            syn::Expr::Yield(_) => "`yield` is not supported by #[differentiable]".to_string(),
            syn::Expr::Const(_) => "`const` blocks are not supported by #[differentiable]; \
                 compute the constant in a `const` item outside the function"
                .to_string(),
            syn::Expr::Infer(_) => "`_` is not a value".to_string(),
            _ => "this expression is not supported by #[differentiable]".to_string(),
        };
        self.errors.at(e, what);
    }

    fn literal(&mut self, lit: &syn::Lit) -> Option<Value> {
        let span = lit.span();
        let (literal, class) = match lit {
            syn::Lit::Float(f) => (f.token(), Class::Float),
            syn::Lit::Int(i) if matches!(i.suffix(), "f32" | "f64") => (i.token(), Class::Float),
            syn::Lit::Int(i) => (i.token(), Class::Int),
            syn::Lit::Bool(b) => {
                let tokens = Tokens::new(b.to_token_stream());
                return Some(self.push_extern(tokens, Class::Bool, span));
            }
            other => {
                self.errors.at(
                    other,
                    "only number and `bool` literals are supported by #[differentiable]",
                );
                return None;
            }
        };
        Some(self.push(Op::Lit(Lit::new(literal)), class, span))
    }

    fn path(&mut self, p: &syn::ExprPath) -> Bound {
        if p.qself.is_none()
            && let Some(ident) = p.path.get_ident()
            && let Some(b) = self.lookup(&ident.to_string())
        {
            return b.clone();
        }
        // Not a local: a constant from outside (`C`, `std::f64::consts::PI`).
        let tokens = Tokens::new(p.to_token_stream());
        Bound::Value(self.push_extern(tokens, Class::Unknown, p.span()))
    }

    fn field(&mut self, f: &syn::ExprField) -> Option<Bound> {
        if is_self_field(&f.base) {
            let tokens = Tokens::new(f.to_token_stream());
            return Some(Bound::Value(self.push_extern(
                tokens,
                Class::Unknown,
                f.span(),
            )));
        }
        let base = self.expr(&f.base)?;
        match (&base, &f.member) {
            (Bound::Tuple(items), syn::Member::Unnamed(i)) if (i.index as usize) < items.len() => {
                Some(items[i.index as usize].clone())
            }
            (Bound::Value(v), _) if Some(*v) == self.poison => Some(base),
            // A field of data that carries no derivative (`config.n`).
            (Bound::Value(v), member) if self.f.class(*v).is_data() => {
                let member = Tokens::new(member.to_token_stream());
                Some(Bound::Value(self.push(
                    Op::Field(*v, member),
                    Class::Unknown,
                    f.span(),
                )))
            }
            _ => {
                self.errors.at(
                    f,
                    "#[differentiable] supports fields of `self` and of tuples bound by `let`; \
                     bind the outputs of a call with a tuple pattern: `let (a, b) = g(x);`",
                );
                None
            }
        }
    }

    fn unary(&mut self, u: &syn::ExprUnary, span: Span) -> Option<Value> {
        let op = match u.op {
            syn::UnOp::Neg(_) => UnOp::Neg,
            syn::UnOp::Not(_) => UnOp::Not,
            // `*v` for an element bound by reference (`for v in x.iter()`,
            // `|&a, b| a + *b`): elements are values here.
            syn::UnOp::Deref(_) => {
                let v = self.value(&u.expr)?;
                if !matches!(self.f.class(v), Class::Ref | Class::Other) {
                    return Some(v);
                }
                self.errors.at(
                    u,
                    "#[differentiable] does not dereference a reference to data; pass the \
                     value itself (`n: usize` rather than `n: &usize`)",
                );
                return None;
            }
            _ => {
                self.errors.at(
                    u,
                    "dereferencing is not supported by #[differentiable] (references are not supported yet)",
                );
                return None;
            }
        };
        let a = self.value(&u.expr)?;
        let class = self.f.class(a);
        Some(self.push(Op::Unary(op, a), class, span))
    }

    fn binary(&mut self, b: &syn::ExprBinary, span: Span) -> Option<Bound> {
        use syn::BinOp as B;
        let (op, assign) = match b.op {
            B::Add(_) => (BinOp::Add, false),
            B::Sub(_) => (BinOp::Sub, false),
            B::Mul(_) => (BinOp::Mul, false),
            B::Div(_) => (BinOp::Div, false),
            B::Rem(_) => (BinOp::Rem, false),
            B::And(_) => (BinOp::And, false),
            B::Or(_) => (BinOp::Or, false),
            B::BitXor(_) => (BinOp::BitXor, false),
            B::BitAnd(_) => (BinOp::BitAnd, false),
            B::BitOr(_) => (BinOp::BitOr, false),
            B::Shl(_) => (BinOp::Shl, false),
            B::Shr(_) => (BinOp::Shr, false),
            B::Eq(_) => (BinOp::Eq, false),
            B::Lt(_) => (BinOp::Lt, false),
            B::Le(_) => (BinOp::Le, false),
            B::Ne(_) => (BinOp::Ne, false),
            B::Ge(_) => (BinOp::Ge, false),
            B::Gt(_) => (BinOp::Gt, false),
            B::AddAssign(_) => (BinOp::Add, true),
            B::SubAssign(_) => (BinOp::Sub, true),
            B::MulAssign(_) => (BinOp::Mul, true),
            B::DivAssign(_) => (BinOp::Div, true),
            B::RemAssign(_) => (BinOp::Rem, true),
            B::BitXorAssign(_) => (BinOp::BitXor, true),
            B::BitAndAssign(_) => (BinOp::BitAnd, true),
            B::BitOrAssign(_) => (BinOp::BitOr, true),
            B::ShlAssign(_) => (BinOp::Shl, true),
            B::ShrAssign(_) => (BinOp::Shr, true),
            _ => {
                self.errors
                    .at(b, "this operator is not supported by #[differentiable]");
                return None;
            }
        };
        if let (true, syn::Expr::Index(index)) = (assign, &*b.left) {
            // An element of an array value: any operator.
            if let Some(variable) = self.array_value_variable(&index.expr) {
                let v = self.value(&b.right)?;
                self.write_element(index, variable, Some(op), v, span);
                return Some(Bound::Tuple(vec![]));
            }
            let how = match op {
                BinOp::Add => arrays::Write::Add,
                BinOp::Sub => arrays::Write::Sub,
                BinOp::Mul | BinOp::Div => arrays::Write::Update(op),
                _ => {
                    self.errors.at(
                        b,
                        "#[differentiable] writes elements with `=`, `+=`, `-=`, `*=` and `/=` \
                         only; write `a[i] = ..` with the operation spelled out",
                    );
                    return None;
                }
            };
            let v = self.value(&b.right)?;
            self.store(index, v, how, span);
            return Some(Bound::Tuple(vec![]));
        }
        let lhs = self.value(&b.left);
        let rhs = self.value(&b.right);
        let (lhs, rhs) = (lhs?, rhs?);
        let class = if op.is_comparison() || matches!(op, BinOp::And | BinOp::Or) {
            Class::Bool
        } else {
            join(self.f.class(lhs), self.f.class(rhs))
        };
        let v = self.push(Op::Binary(op, lhs, rhs), class, span);
        if assign {
            self.assign(&b.left, Bound::Value(v));
            Some(Bound::Tuple(vec![]))
        } else {
            Some(Bound::Value(v))
        }
    }

    /// `place = value`, for a local variable `place`.
    fn assign(&mut self, place: &syn::Expr, value: Bound) {
        let name = match place {
            syn::Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
            _ => None,
        };
        let Some(name) = name else {
            if let syn::Expr::Index(index) = place {
                match value {
                    Bound::Value(v) => self.store(index, v, arrays::Write::Set, place.span()),
                    _ => self.errors.at(place, "an element takes a number"),
                }
                return;
            }
            self.errors.at(
                place,
                "#[differentiable] supports assignment to local variables and array elements only; \
                 assign to a `let mut` variable",
            );
            return;
        };
        if self.lookup(&name).is_none() {
            self.errors.at(
                place,
                format_args!("`{name}` is not a local variable; #[differentiable] supports assignment to locals only"),
            );
            return;
        }
        if let Bound::Value(v) = value
            && matches!(self.f.def(v), crate::ir::ValueDef::Result(..))
            && self.f.name(v).is_none()
            && Some(v) != self.poison
        {
            self.f.set_name(v, name.clone());
        }
        // What a call returned, given to a variable holding an array, is
        // one.
        if let (Some(&Bound::Value(old)), Bound::Value(v)) = (self.lookup(&name), &value)
            && self.f.class(old) == Class::Vector
        {
            self.call_returns_array(*v);
        }
        self.set(&name, value);
    }

    /// Assigns a variable (a user's or a hidden one) in the scope that has
    /// it.
    fn set(&mut self, name: &str, value: Bound) {
        if let Some(scope) = self.scopes.iter_mut().rev().find(|s| s.contains_key(name)) {
            scope.insert(name.to_string(), value);
        }
    }

    fn cast(&mut self, c: &syn::ExprCast, span: Span) -> Option<Value> {
        let a = self.value(&c.expr)?;
        let class = match class_of_type(&c.ty) {
            Some(class @ (Class::Float | Class::Int)) => class,
            _ => {
                self.errors.at(
                    &c.ty,
                    "#[differentiable] supports casts to `f64`, `f32` and integer types only",
                );
                return None;
            }
        };
        Some(self.push(
            Op::Cast(a, Tokens::new(c.ty.to_token_stream())),
            class,
            span,
        ))
    }

    fn method_call(
        &mut self,
        m: &syn::ExprMethodCall,
        span: Span,
        outputs: usize,
    ) -> Option<Bound> {
        if let Some(value) = self.chain_consumer(m, None, outputs) {
            return value;
        }
        if matches!(
            m.method.to_string().as_str(),
            "unwrap" | "expect" | "unwrap_or"
        ) && let syn::Expr::MethodCall(inner) = flow::strip(&m.receiver)
        {
            let unwrap = match m.args.first() {
                Some(d) if m.method == "unwrap_or" => iter::Unwrap::Or(d.clone()),
                _ => iter::Unwrap::Panic,
            };
            if let Some(value) = self.first_or_last(inner, &unwrap) {
                return value;
            }
            if let Some(value) = self.chain_consumer(inner, Some(unwrap), outputs) {
                return value;
            }
        }
        if let Some(value) = self.slice_method(m) {
            return value;
        }
        // `T::from(x).unwrap()` in a function generic over the scalar `T`:
        // a cast, or a literal.
        if (m.method == "unwrap" || m.method == "expect")
            && let Some((ty, arg)) = scalar_from(&m.receiver)
        {
            if let syn::Expr::Lit(l) = arg
                && let syn::Lit::Float(_) | syn::Lit::Int(_) = &l.lit
            {
                let text = l.lit.to_token_stream().to_string();
                let x: f64 = text
                    .trim_end_matches(char::is_alphabetic)
                    .trim_end_matches('_')
                    .replace('_', "")
                    .parse()
                    .unwrap_or(f64::NAN);
                if x.is_finite() {
                    return Some(Bound::Value(self.push(
                        Op::Lit(Lit::float(x)),
                        Class::Float,
                        span,
                    )));
                }
            }
            let a = self.value(arg)?;
            return Some(Bound::Value(self.push(
                Op::Cast(a, Tokens::new(ty.to_token_stream())),
                Class::Float,
                span,
            )));
        }
        if m.method == "push" {
            return self.push_value(m);
        }
        if m.method == "len" && m.args.is_empty() && m.turbofish.is_none() {
            let x = self.value(&m.receiver)?;
            self.call_returns_array(x);
            if self.f.class(x) == Class::Array {
                return self.array_len(x, span).map(Bound::Value);
            }
            if !matches!(
                self.f.class(x),
                Class::Slice | Class::Vector | Class::Other | Class::Unknown | Class::Ref
            ) {
                self.errors
                    .at(&m.receiver, "`len` is supported on slices and arrays only");
                return None;
            }
            return Some(Bound::Value(self.push(Op::Len(x), Class::Int, span)));
        }
        if let Some(t) = &m.turbofish {
            self.errors.at(
                t,
                "#[differentiable] does not support turbofish (`::<T>`) on method calls",
            );
            return None;
        }
        let receiver = self.value(&m.receiver);
        let args: Option<Vec<Value>> = m.args.iter().map(|a| self.value(a)).collect();
        let (receiver, mut args) = (receiver?, args?);
        // (A value that failed to lower was reported where it failed.)
        if Some(receiver) == self.poison {
            return Some(Bound::Value(receiver));
        }
        // `a.min(b)`, `a.max(b)` of integers (a length, an index).
        if let ([b], "min" | "max") = (args.as_slice(), m.method.to_string().as_str())
            && self.f.class(receiver) == Class::Int
            && matches!(self.f.class(*b), Class::Int | Class::Unknown)
        {
            let op = if m.method == "min" {
                BinOp::Min
            } else {
                BinOp::Max
            };
            let v = self.push(Op::Binary(op, receiver, *b), Class::Int, span);
            return Some(Bound::Value(v));
        }
        args.insert(0, receiver);
        let spans: Vec<Span> = std::iter::once(m.receiver.span())
            .chain(m.args.iter().map(|a| a.span()))
            .collect();
        if is_self(&m.receiver) {
            let callee = Callee {
                prefix: Tokens::new(TokenStream::new()),
                name: m.method.clone(),
                method: true,
                outputs,
                effect: false,
                flat: false,
            };
            return Some(self.push_call(callee, args, span));
        }
        let Some(prim) = Prim::method(&m.method.to_string()) else {
            self.unknown_method(&m.method);
            return None;
        };
        self.prim(prim, args, &spans, &m.method, span)
            .map(Bound::Value)
    }

    fn unknown_method(&mut self, method: &syn::Ident) {
        self.errors.at(
            method,
            format_args!(
                "`{method}` is not a float method #[differentiable] knows how to differentiate; \
                 the supported methods are: {}. Of other methods, #[differentiable] \
                 differentiates those of `self` only; a method called on another value \
                 (a trait method of a generic `a.apply(x)`) has no derivative it can find: \
                 call a #[differentiable] function instead",
                Prim::method_names().join(", ")
            ),
        );
    }

    /// A primitive applied to `args`, whose expressions are at `spans`.
    fn prim(
        &mut self,
        prim: Prim,
        args: Vec<Value>,
        spans: &[Span],
        at: &syn::Ident,
        span: Span,
    ) -> Option<Value> {
        let expected = prim.args();
        if args.len() != expected.len() {
            self.errors.at(
                at,
                format_args!(
                    "`{}` takes {} argument(s) besides the receiver",
                    prim.name(),
                    expected.len() - 1
                ),
            );
            return None;
        }
        for ((&a, kind), &arg_span) in args.iter().zip(expected).zip(spans) {
            let ok = match kind {
                Arg::Float => self.f.class(a).differentiable(),
                Arg::Int => matches!(self.f.class(a), Class::Int | Class::Unknown),
            };
            if !ok {
                let want = if *kind == Arg::Float {
                    "an f32/f64"
                } else {
                    "an integer"
                };
                self.errors.at_span(
                    arg_span,
                    format_args!("`{}` expects {want} here; #[differentiable] differentiates float methods only", prim.name()),
                );
                return None;
            }
        }
        Some(self.push(Op::Prim(prim, args), Class::Float, span))
    }

    fn call(&mut self, c: &syn::ExprCall, span: Span, outputs: usize) -> Option<Bound> {
        if let syn::Expr::Path(p) = &*c.func
            && let Some(ident) = p.path.get_ident()
            && let Some(Bound::Closure(def)) = self.lookup(&ident.to_string()).cloned()
        {
            return self.call_closure(&def, c, outputs);
        }
        let syn::Expr::Path(func) = &*c.func else {
            self.errors.at(
                &c.func,
                "#[differentiable] supports calls of functions by path (`g(x)`, `m::g(x)`) only",
            );
            return None;
        };
        if func.qself.is_some() || func.path.segments.iter().any(|s| !s.arguments.is_none()) {
            self.errors.at(
                func,
                "#[differentiable] does not support generic arguments or qualified paths in calls; \
                 call the function by a plain path",
            );
            return None;
        }
        let segments = &func.path.segments;
        let last = segments.last()?;
        // `Vec::with_capacity(n)`, `Vec::new()`: an array to `push` into.
        let before_last = segments.iter().rev().nth(1).map(|s| s.ident.to_string());
        if before_last.as_deref() == Some("Vec") {
            match (last.ident.to_string().as_str(), c.args.len()) {
                ("with_capacity", 1) => return self.empty_vec(c.args.first(), span),
                ("new", 0) => return self.empty_vec(None, span),
                _ => {}
            }
        }
        // `T::zero()`, `T::epsilon()`, `T::PI()` of the scalar `T`: a
        // constant.
        if segments.len() == 2
            && c.args.is_empty()
            && crate::parse::is_scalar_param(&segments[0].ident)
        {
            return Some(Bound::Value(self.push(
                Op::Extern(Tokens::new(c.to_token_stream())),
                Class::Unknown,
                span,
            )));
        }
        if scalar_from(&syn::Expr::Call(c.clone())).is_some() {
            self.errors.at(
                c,
                "`T::from(x)` is an `Option`: write `T::from(x).unwrap()`, which \
                 #[differentiable] reads as a cast",
            );
            return None;
        }
        let args: Option<Vec<Value>> = c.args.iter().map(|a| self.value(a)).collect();
        let args = args?;
        // `f64::sin(x)`: a primitive called by path.
        if segments.len() == 2 && func.path.leading_colon.is_none() {
            let ty = segments[0].ident.to_string();
            if ty == "f64" || ty == "f32" || crate::parse::is_scalar_param(&segments[0].ident) {
                let Some(prim) = Prim::method(&last.ident.to_string()) else {
                    self.unknown_method(&last.ident);
                    return None;
                };
                if let Some(&receiver) = args.first() {
                    self.suffix_literal(receiver, &ty);
                }
                let spans: Vec<Span> = c.args.iter().map(|a| a.span()).collect();
                return self
                    .prim(prim, args, &spans, &last.ident, span)
                    .map(Bound::Value);
            }
        }
        let mut prefix = TokenStream::new();
        if let Some(colon) = &func.path.leading_colon {
            colon.to_tokens(&mut prefix);
        }
        for seg in segments.iter().take(segments.len() - 1) {
            let ident = &seg.ident;
            prefix.extend(quote!(#ident ::));
        }
        let callee = Callee {
            prefix: Tokens::new(prefix),
            name: last.ident.clone(),
            method: false,
            outputs,
            effect: false,
            flat: crate::layout::passes_rows(c),
        };
        Some(self.push_call(callee, args, span))
    }

    /// `f64::sqrt(2.0)` is emitted as a method call, `2.0f64.sqrt()`: an
    /// unsuffixed literal receiver takes the type of the path, or rustc could
    /// not tell which float it is.
    fn suffix_literal(&mut self, v: Value, ty: &str) {
        let Some(lit) = self.f.literal(v) else { return };
        if lit.float_value().is_none() || lit.text.ends_with("f32") || lit.text.ends_with("f64") {
            return;
        }
        let digits = if lit.text.ends_with('.') {
            format!("{}0", lit.text)
        } else {
            lit.text.clone()
        };
        if let Ok(mut literal) = format!("{digits}{ty}").parse::<proc_macro2::Literal>() {
            literal.set_span(lit.literal.span());
            if let crate::ir::ValueDef::Result(inst, _) = self.f.def(v) {
                self.f.insts[inst.index()].op = Op::Lit(Lit::new(literal));
            }
        }
    }

    /// A call with `callee.outputs` results (none for a call whose value
    /// is dropped). An output parameter of the caller passed as it is
    /// (`g(out)`) is lent for reading.
    fn push_call(&mut self, callee: Callee, mut args: Vec<Value>, span: Span) -> Bound {
        for a in args.iter_mut().skip(usize::from(callee.method)) {
            // A local `[f64; N]` the function writes, passed by value: what
            // it holds at the call, as an array value.
            if let Some(value) = self.array_value_at(*a, span) {
                *a = value;
            }
            if self.f.class(*a) == Class::Array
                && matches!(self.f.def(*a), crate::ir::ValueDef::Param(..))
            {
                *a = self.push(Op::Ref(*a, false), Class::Slice, span);
            }
            // A `&mut` data parameter passed on is lent mutably: the callee
            // may write it.
            if self.mut_data.contains(a) {
                *a = self.push(Op::Ref(*a, true), Class::Ref, span);
            }
        }
        let outputs = callee.outputs;
        let inst = self.f.push(
            self.block,
            Op::Call(callee, args),
            &vec![Class::Float; outputs],
            span,
        );
        let results = &self.f.inst(inst).results;
        match results.as_slice() {
            [v] => Bound::Value(*v),
            _ => Bound::Tuple(results.iter().map(|&v| Bound::Value(v)).collect()),
        }
    }

    /// `[a[0], a[1], .., a[N - 1]]` for a local array `a` made as
    /// `[c; N]` with a literal `N`: its value as it is now.
    fn array_value_at(&mut self, a: Value, span: Span) -> Option<Value> {
        if self.f.class(a) != Class::Array || self.is_data_array(a) {
            return None;
        }
        let Some(Op::NewArray(_, crate::ir::ArrayShape::Fixed(n))) = self.f.def_op(a) else {
            return None;
        };
        let n: usize = syn::parse2::<syn::LitInt>(n.tokens.clone())
            .ok()?
            .base10_parse()
            .ok()?;
        let items = (0..n)
            .map(|k| {
                let lit = Lit::new(proc_macro2::Literal::usize_unsuffixed(k));
                let k = self.push(Op::Lit(lit), Class::Int, span);
                self.push(Op::Index(a, k), Class::Float, span)
            })
            .collect();
        Some(self.push(Op::ArrayLit(items), Class::Vector, span))
    }
}

/// The class of `a op b` for arithmetic and bit operations.
pub(super) fn join(a: Class, b: Class) -> Class {
    use Class::*;
    match (a, b) {
        (Float, _) | (_, Float) => Float,
        (Int, _) | (_, Int) => Int,
        (Bool, _) | (_, Bool) => Bool,
        // An array in one arm and an outside constant or the placeholder
        // of a `return` that did not happen in the other: an array.
        (Vector, Vector | Unknown) | (Unknown, Vector) => Vector,
        (Unknown, _) | (_, Unknown) => Unknown,
        _ => Other,
    }
}

/// How many values a pattern destructures: `n` for an `n`-tuple pattern.
fn pattern_arity(pat: &syn::Pat) -> usize {
    match pat {
        syn::Pat::Tuple(t) => t.elems.len(),
        syn::Pat::Type(t) => pattern_arity(&t.pat),
        syn::Pat::Paren(p) => pattern_arity(&p.pat),
        _ => 1,
    }
}

fn is_self(e: &syn::Expr) -> bool {
    matches!(e, syn::Expr::Path(p) if p.qself.is_none() && p.path.is_ident("self"))
}

fn is_self_field(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Field(f) => is_self_field(&f.base),
        other => is_self(other),
    }
}

/// `T::from(x)` (or `<T as NumCast>::from(x)` written `T::from`) of the
/// scalar type parameter `T`: the type and the argument.
fn scalar_from(e: &syn::Expr) -> Option<(&syn::Ident, &syn::Expr)> {
    let syn::Expr::Call(c) = e else { return None };
    let syn::Expr::Path(p) = &*c.func else {
        return None;
    };
    let segments = &p.path.segments;
    if segments.len() != 2 || segments[1].ident != "from" || c.args.len() != 1 {
        return None;
    }
    crate::parse::is_scalar_param(&segments[0].ident).then(|| (&segments[0].ident, &c.args[0]))
}
