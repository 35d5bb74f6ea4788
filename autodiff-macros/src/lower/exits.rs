//! `return`, `break` and `continue`, lowered to flags.
//!
//! Leaving is setting a hidden `bool` variable (and, for `return v` and
//! `break v`, a hidden variable holding the value); every statement after
//! one that may leave runs under `if !exited { .. }`; a loop runs its body
//! only while it has not been left, and a `while` tests its condition only
//! then. The flags are ordinary variables of the IR: branches yield them,
//! loops carry them, and differentiation treats them like any other `bool`,
//! so forward and reverse mode follow the path the program took.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::{Bound, Lower};
use crate::ir::{BinOp, Class, Op, Tokens, UnOp, Value};

/// The hidden variables in force: the function's, and one set per
/// enclosing loop, innermost last.
#[derive(Default)]
pub(super) struct Exits {
    pub ret: Option<ReturnVars>,
    pub loops: Vec<LoopVars>,
}

pub(super) struct ReturnVars {
    pub flag: String,
    pub values: Vec<String>,
}

#[derive(Default)]
pub(super) struct LoopVars {
    pub brk: Option<String>,
    pub cont: Option<String>,
    pub value: Option<String>,
}

/// Whether a statement may leave the enclosing loop or the function.
pub(super) fn may_exit(stmt: &syn::Stmt) -> bool {
    let mut scan = ExitScan::default();
    scan.visit_stmt(stmt);
    scan.ret || scan.brk || scan.cont
}

/// What a loop body or a function body contains: `return` anywhere,
/// `break`/`continue` of this loop (not of loops nested in it), `break` with
/// a value.
#[derive(Default)]
struct ExitScan {
    depth: usize,
    ret: bool,
    brk: bool,
    cont: bool,
    brk_value: bool,
    returns: usize,
}

impl<'ast> Visit<'ast> for ExitScan {
    fn visit_expr_return(&mut self, e: &'ast syn::ExprReturn) {
        self.ret = true;
        self.returns += 1;
        syn::visit::visit_expr_return(self, e);
    }

    fn visit_expr_break(&mut self, e: &'ast syn::ExprBreak) {
        if self.depth == 0 {
            self.brk = true;
            self.brk_value |= e.expr.is_some();
        }
        syn::visit::visit_expr_break(self, e);
    }

    fn visit_expr_continue(&mut self, e: &'ast syn::ExprContinue) {
        if self.depth == 0 {
            self.cont = true;
        }
        syn::visit::visit_expr_continue(self, e);
    }

    fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
        self.depth += 1;
        syn::visit::visit_expr_for_loop(self, e);
        self.depth -= 1;
    }

    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.depth += 1;
        syn::visit::visit_expr_while(self, e);
        self.depth -= 1;
    }

    fn visit_expr_loop(&mut self, e: &'ast syn::ExprLoop) {
        self.depth += 1;
        syn::visit::visit_expr_loop(self, e);
        self.depth -= 1;
    }

    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
}

impl Lower {
    fn hidden(&mut self, name: &str, value: Value) {
        self.bind(name, Bound::Value(value));
    }

    fn constant(&mut self, tokens: proc_macro2::TokenStream, class: Class) -> Value {
        self.push_extern(Tokens::new(tokens), class, proc_macro2::Span::call_site())
    }

    /// A value of any type, for a variable assigned before it is read:
    /// `Default::default()`, whose type rustc infers from the assignments.
    /// Once the classes are known, a float placeholder is the literal
    /// `0.0` instead ([`typed_placeholders`]): a generic `T: Float` has no
    /// `Default`.
    pub(super) fn placeholder(&mut self) -> Value {
        let p = self.constant(
            quote::quote!(::core::default::Default::default()),
            Class::Unknown,
        );
        self.placeholders.push(p);
        p
    }

    /// Where an accumulator starts: zero (or one, with `one`) of the class
    /// its loop gives it, `0.0` for a float ([`typed_placeholders`]).
    /// (An integer one stays the literal `0` or `1`, of any integer type.)
    pub(super) fn typed_start(&mut self, one: bool) -> Value {
        let p = match one {
            true => self.constant(quote::quote!(1), Class::Unknown),
            false => self.constant(quote::quote!(0), Class::Unknown),
        };
        self.placeholders.push(p);
        p
    }

    /// The flags that make the rest of the current block skipped.
    fn exit_flags(&self, with_continue: bool) -> Vec<String> {
        let mut flags: Vec<String> = self.exits.ret.iter().map(|r| r.flag.clone()).collect();
        if let Some(l) = self.exits.loops.last() {
            flags.extend(l.brk.clone());
            if with_continue {
                flags.extend(l.cont.clone());
            }
        }
        flags
    }

    /// `true` when any of `flags` is set.
    fn any_set(&mut self, flags: &[String], span: proc_macro2::Span) -> Option<Value> {
        let mut acc: Option<Value> = None;
        for name in flags {
            let Some(Bound::Value(v)) = self.lookup(name).cloned() else {
                continue;
            };
            acc = Some(match acc {
                None => v,
                Some(a) => self.push(Op::Binary(BinOp::Or, a, v), Class::Bool, span),
            });
        }
        acc
    }

    /// Sets up the variables of `return`, when the body returns before its
    /// end.
    pub(super) fn prepare_returns(&mut self, body: &syn::Block, outputs: &[&TokenStream]) {
        let mut scan = ExitScan::default();
        scan.visit_block(body);
        let trailing = matches!(
            body.stmts.last(),
            Some(syn::Stmt::Expr(syn::Expr::Return(_), _))
        );
        if scan.returns <= usize::from(trailing) {
            return;
        }
        let flag = "@returned".to_string();
        let f = self.constant(quote::quote!(false), Class::Bool);
        self.hidden(&flag, f);
        let mut values = Vec::new();
        for (k, ty) in outputs.iter().enumerate() {
            let name = format!("@return{k}");
            // An array output's placeholder is zeros of its type: rustc
            // must know it where the derivatives take its shape.
            let p = match syn::parse2::<syn::Type>((*ty).clone()) {
                Ok(syn::Type::Array(a))
                    if crate::parse::is_float_array(&syn::Type::Array(a.clone())) =>
                {
                    let (elem, len) = (&a.elem, &a.len);
                    let rt = quote::quote!(::autodiff::__private);
                    self.constant(quote::quote!([#rt::lit::<#elem>(0.0); #len]), Class::Vector)
                }
                _ => self.placeholder(),
            };
            self.hidden(&name, p);
            values.push(name);
        }
        self.exits.ret = Some(ReturnVars { flag, values });
    }

    /// The value of the function: what `return` stored if it ran, else the
    /// value of its body.
    pub(super) fn returned_or(&mut self, tail: Option<Bound>, at: &syn::Block) -> Option<Bound> {
        let Some(ret) = &self.exits.ret else {
            return tail;
        };
        let flag = ret.flag.clone();
        let Some(Bound::Value(f)) = self.lookup(&flag).cloned() else {
            return tail;
        };
        let mut tail = Some(tail?);
        self.branch(f, at, &mut |l| Some(l.returned_value()), &mut |_| {
            tail.take()
        })
    }

    fn returned_value(&mut self) -> Bound {
        let names = self
            .exits
            .ret
            .as_ref()
            .map(|r| r.values.clone())
            .unwrap_or_default();
        let values: Vec<Bound> = names
            .iter()
            .filter_map(|n| self.lookup(n).cloned())
            .collect();
        match values.as_slice() {
            [one] => one.clone(),
            _ => Bound::Tuple(values),
        }
    }

    /// The rest of a block after a statement that may leave: run it only if
    /// nothing left. When something left, the function body's value is what
    /// `return` stored; another block's is never used.
    pub(super) fn guard(
        &mut self,
        at: &syn::Stmt,
        rest: &mut dyn FnMut(&mut Lower) -> Option<Bound>,
        fn_body: bool,
    ) -> Option<Bound> {
        let flags = self.exit_flags(true);
        let span = at.span();
        let Some(exited) = self.any_set(&flags, span) else {
            return rest(self);
        };
        let go_on = self.push(Op::Unary(UnOp::Not, exited), Class::Bool, span);
        self.branch(go_on, at, rest, &mut |l| {
            Some(if fn_body && l.exits.ret.is_some() {
                l.returned_value()
            } else {
                Bound::Diverged
            })
        })
    }

    pub(super) fn early_return(&mut self, r: &syn::ExprReturn) -> Option<Bound> {
        let outputs = self.exits.ret.as_ref().map(|r| r.values.len()).unwrap_or(1);
        let value = match &r.expr {
            Some(e) => self.expr_shaped(e, outputs)?,
            None => Bound::Tuple(vec![]),
        };
        let Some(ret) = &self.exits.ret else {
            return None;
        };
        let (flag, names) = (ret.flag.clone(), ret.values.clone());
        let parts = match (value, names.len()) {
            (Bound::Value(v), 1) => vec![Bound::Value(v)],
            (Bound::Tuple(items), n) if items.len() == n => items,
            _ => {
                self.errors.at(
                    r,
                    "this `return` does not have the shape of the function's return type",
                );
                return None;
            }
        };
        for (name, part) in names.iter().zip(parts) {
            self.set(name, part);
        }
        let t = self.constant(quote::quote!(true), Class::Bool);
        self.set(&flag, Bound::Value(t));
        Some(Bound::Diverged)
    }

    pub(super) fn break_expr(&mut self, b: &syn::ExprBreak) -> Option<Bound> {
        if let Some(label) = &b.label {
            self.errors.at(
                label,
                "`break` to a label is not supported by #[differentiable]; use a flag",
            );
            return None;
        }
        let Some(vars) = self.exits.loops.last() else {
            self.errors.at(b, "`break` outside of a loop");
            return None;
        };
        let (brk, value_var) = (vars.brk.clone(), vars.value.clone());
        if let Some(e) = &b.expr {
            let v = self.expr(e)?;
            match value_var {
                Some(name) => self.set(&name, v),
                None => {
                    self.errors
                        .at(b, "`break` with a value is supported in `loop` only");
                    return None;
                }
            }
        }
        if let Some(brk) = brk {
            let t = self.constant(quote::quote!(true), Class::Bool);
            self.set(&brk, Bound::Value(t));
        }
        Some(Bound::Diverged)
    }

    pub(super) fn continue_expr(&mut self, c: &syn::ExprContinue) -> Option<Bound> {
        if let Some(label) = &c.label {
            self.errors.at(
                label,
                "`continue` to a label is not supported by #[differentiable]; use a flag",
            );
            return None;
        }
        let Some(cont) = self.exits.loops.last().and_then(|l| l.cont.clone()) else {
            self.errors.at(c, "`continue` outside of a loop");
            return None;
        };
        let t = self.constant(quote::quote!(true), Class::Bool);
        self.set(&cont, Bound::Value(t));
        Some(Bound::Diverged)
    }

    /// Before lowering a loop: its flags, bound in the current scope, and
    /// the names of the hidden variables the loop assigns (which it
    /// carries).
    pub(super) fn open_loop(&mut self, body: &syn::Block, value: bool) -> Vec<String> {
        let mut scan = ExitScan::default();
        scan.visit_block(body);
        let depth = self.exits.loops.len();
        let mut vars = LoopVars::default();
        let mut carried = Vec::new();
        if scan.brk || value {
            let name = format!("@break{depth}");
            let f = self.constant(quote::quote!(false), Class::Bool);
            self.hidden(&name, f);
            carried.push(name.clone());
            vars.brk = Some(name);
        }
        if scan.cont {
            let name = format!("@continue{depth}");
            let f = self.constant(quote::quote!(false), Class::Bool);
            self.hidden(&name, f);
            carried.push(name.clone());
            vars.cont = Some(name);
        }
        if value {
            let name = format!("@value{depth}");
            let p = self.placeholder();
            self.hidden(&name, p);
            carried.push(name.clone());
            vars.value = Some(name);
        }
        if scan.ret
            && let Some(ret) = &self.exits.ret
        {
            carried.push(ret.flag.clone());
            carried.extend(ret.values.clone());
        }
        self.exits.loops.push(vars);
        carried
    }

    pub(super) fn close_loop(&mut self) {
        self.exits.loops.pop();
    }

    /// The body of a loop that may be left: `continue` is reset at each
    /// iteration, and the body runs only while the loop was not left.
    pub(super) fn loop_body(&mut self, body: &syn::Block) -> Option<Bound> {
        if let Some(cont) = self.exits.loops.last().and_then(|l| l.cont.clone()) {
            let f = self.constant(quote::quote!(false), Class::Bool);
            self.set(&cont, Bound::Value(f));
        }
        let flags = self.exit_flags(false);
        let Some(left) = self.any_set(&flags, body.span()) else {
            return self.block_body(body, false, 1);
        };
        let go_on = self.push(Op::Unary(UnOp::Not, left), Class::Bool, body.span());
        self.branch(
            go_on,
            body,
            &mut |l| l.block_body(body, false, 1),
            &mut |_| Some(Bound::Tuple(vec![])),
        )
    }

    /// Whether the loop was left, for a `while` to stop: the flags of the
    /// loop and of `return`.
    pub(super) fn left(&mut self, span: proc_macro2::Span) -> Option<Value> {
        let flags = self.exit_flags(false);
        self.any_set(&flags, span)
    }

    /// `loop { .. }`: a `while` whose condition is that nothing left it;
    /// its value is what `break` stored.
    pub(super) fn loop_expr(&mut self, l: &syn::ExprLoop) -> Option<Bound> {
        if let Some(label) = &l.label {
            self.errors.at(
                label,
                "labeled loops are not supported by #[differentiable]; remove the label",
            );
            return None;
        }
        let mut scan = ExitScan::default();
        scan.visit_block(&l.body);
        if !scan.brk && !scan.ret {
            self.errors
                .at(l, "this `loop` never ends: it has no `break` or `return`");
            return None;
        }
        self.while_like(None, &l.body, scan.brk_value, l)
    }

    /// Used by `while` and `loop`: after the loop, the value of `break v`.
    pub(super) fn loop_value(&mut self, depth: usize) -> Bound {
        match self.lookup(&format!("@value{depth}")).cloned() {
            Some(v) => v,
            None => Bound::Tuple(vec![]),
        }
    }
}

/// Gives each placeholder the class of the variable it starts (a hidden
/// `return` or `break` value: one slot with what the branches and loops
/// give it, [`Function::slot`]), and makes a float one the literal `0.0`.
/// Without it a float placeholder yielded next to an array or a float
/// would have no derivative of the right shape, and a generic function
/// would need `T: Default`.
pub(super) fn typed_placeholders(f: &mut crate::ir::Function, placeholders: &[Value]) {
    for &p in placeholders {
        let crate::ir::ValueDef::Result(inst, _) = f.def(p) else {
            continue;
        };
        if f.class(p) != Class::Unknown {
            continue;
        }
        let class = f
            .slot(p)
            .into_iter()
            .map(|v| f.class(v))
            .find(|c| *c != Class::Unknown);
        match class {
            Some(Class::Float) => {
                f.values[p.index()].class = Class::Float;
                let one = matches!(&f.insts[inst.index()].op, Op::Extern(t) if t.text == "1");
                let zero = proc_macro2::Literal::f64_unsuffixed(if one { 1.0 } else { 0.0 });
                f.insts[inst.index()].op = Op::Lit(crate::ir::Lit::new(zero));
            }
            Some(Class::Vector) => f.values[p.index()].class = Class::Vector,
            _ => {}
        }
    }
}
