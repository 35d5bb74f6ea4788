//! Lowering of control flow and sequences: `if`, `for`, indexing, sums.
//!
//! A branch is lowered into a block of its own; the variables it assigns
//! (found by comparing the bindings after each branch) become values both
//! branches yield, as `scf.if` does. A loop body is a block whose
//! parameters are the index and the carried variables (those the body
//! assigns, found by scanning it first); it yields their next values.

use std::collections::{BTreeSet, HashMap};

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::{Bound, Lower};
use crate::ir::{Adapter, BinOp, Class, Op, Range, Value};

impl Lower {
    pub(super) fn if_expr(&mut self, e: &syn::ExprIf, outputs: usize) -> Option<Bound> {
        let cond = self.value(&e.cond)?;
        if !matches!(self.f.class(cond), Class::Bool | Class::Unknown) {
            self.errors
                .at(&e.cond, "the condition of an `if` must be a `bool`");
            return None;
        }
        self.branch(
            cond,
            e,
            &mut |l| l.block_body(&e.then_branch, false, outputs),
            &mut |l| match &e.else_branch {
                Some((_, expr)) => l.expr_shaped(expr, outputs),
                None => Some(Bound::Tuple(vec![])),
            },
        )
    }

    /// `match` on a value that carries no derivative: a chain of branches,
    /// each testing `matches!(value, pattern)`; the last arm is the final
    /// `else` (rustc checks that the match is exhaustive).
    pub(super) fn match_expr(&mut self, m: &syn::ExprMatch, outputs: usize) -> Option<Bound> {
        let v = self.value(&m.expr)?;
        if matches!(self.f.class(v), Class::Float | Class::Slice | Class::Vector) {
            self.errors.at(
                &m.expr,
                "#[differentiable] matches on integers, `bool`s and enums only; compare floats with `if`",
            );
            return None;
        }
        for arm in &m.arms {
            if let Some(binding) = binding_in(&arm.pat) {
                self.errors.at(
                    binding,
                    "bindings in `match` patterns are not supported by #[differentiable]; \
                     match without binding (`Some(_)`, `1 | 2`, `0..=9`) and use the value itself",
                );
                return None;
            }
        }
        self.match_arms(v, &m.arms, outputs, m)
    }

    fn match_arms(
        &mut self,
        v: Value,
        arms: &[syn::Arm],
        outputs: usize,
        at: &syn::ExprMatch,
    ) -> Option<Bound> {
        let Some((first, rest)) = arms.split_first() else {
            self.errors.at(at, "a `match` without arms has no value");
            return None;
        };
        let body = |l: &mut Lower| {
            l.scopes.push(HashMap::new());
            let value = l.expr_shaped(&first.body, outputs);
            l.scopes.pop();
            value
        };
        if rest.is_empty() {
            return body(self);
        }
        let pattern = crate::ir::Tokens::new(quote::ToTokens::to_token_stream(&first.pat));
        let mut cond = self.push(Op::Matches(v, pattern), Class::Bool, first.pat.span());
        if let Some((_, guard)) = &first.guard {
            let g = self.value(guard)?;
            cond = self.push(Op::Binary(BinOp::And, cond, g), Class::Bool, guard.span());
        }
        self.branch(cond, first, &mut |l| body(l), &mut |l| {
            l.match_arms(v, rest, outputs, at)
        })
    }

    /// A branch on `cond` between what `then` and `els` lower, each into a
    /// block of its own: the variables either assigns, and its value, are
    /// what the blocks yield.
    /// Placeholders shaped like `b`, for the arm of a branch that left.
    fn placeholder_like(&mut self, b: &Bound) -> Bound {
        match b {
            Bound::Value(_) => Bound::Value(self.placeholder()),
            Bound::Tuple(items) => {
                Bound::Tuple(items.iter().map(|i| self.placeholder_like(i)).collect())
            }
            Bound::Diverged | Bound::Closure(_) => b.clone(),
        }
    }

    pub(super) fn branch(
        &mut self,
        cond: Value,
        at: &dyn quote::ToTokens,
        then: &mut dyn FnMut(&mut Lower) -> Option<Bound>,
        els: &mut dyn FnMut(&mut Lower) -> Option<Bound>,
    ) -> Option<Bound> {
        let before = self.scopes.clone();
        let outer = self.block;

        let then_block = self.f.new_block();
        self.block = then_block;
        self.scopes.push(HashMap::new());
        let then_value = then(self);
        self.scopes.pop();
        let then_scopes = std::mem::replace(&mut self.scopes, before.clone());

        let else_block = self.f.new_block();
        self.block = else_block;
        self.scopes.push(HashMap::new());
        let else_value = els(self);
        self.scopes.pop();
        let else_scopes = std::mem::replace(&mut self.scopes, before);
        self.block = outer;
        // The variables either branch assigned, in a stable order.
        let mut changed: Vec<(usize, String)> = Vec::new();
        for (depth, scope) in self.scopes.iter().enumerate() {
            for (name, bound) in scope {
                if then_scopes[depth].get(name) != Some(bound)
                    || else_scopes[depth].get(name) != Some(bound)
                {
                    changed.push((depth, name.clone()));
                }
            }
        }
        changed.sort();

        let mut then_yield = Vec::new();
        let mut else_yield = Vec::new();
        let mut classes = Vec::new();
        for (depth, name) in &changed {
            let pair = (&then_scopes[*depth][name], &else_scopes[*depth][name]);
            let (Bound::Value(t), Bound::Value(f)) = pair else {
                self.errors.at(
                    at,
                    format_args!(
                        "`{name}` holds a tuple and is assigned in a branch; assign its parts"
                    ),
                );
                return None;
            };
            then_yield.push(*t);
            else_yield.push(*f);
            let array_before = matches!(&self.scopes[*depth][name],
                Bound::Value(p) if self.f.class(*p) == Class::Vector);
            let class = self.arms_class(*t, *f, array_before);
            classes.push(class);
        }
        if changed
            .iter()
            .any(|(d, n)| self.sequence_assigned(&then_scopes[*d][n], &else_scopes[*d][n]))
        {
            self.errors.at(
                at,
                "#[differentiable] does not assign an array or slice variable in a branch yet; \
                 index the arrays in each branch instead",
            );
            return None;
        }
        // The value of the `if` expression: nothing, a value, or a tuple; an
        // arm that left the loop or the function yields placeholders.
        let (then_value, else_value) = (then_value?, else_value?);
        let (then_value, else_value) = match (then_value, else_value) {
            (Bound::Diverged, Bound::Diverged) => (Bound::Tuple(vec![]), Bound::Tuple(vec![])),
            (Bound::Diverged, other) => (self.placeholder_like(&other), other),
            (other, Bound::Diverged) => {
                let p = self.placeholder_like(&other);
                (other, p)
            }
            pair => pair,
        };
        let shape = match (&then_value, &else_value) {
            (Bound::Value(t), Bound::Value(f)) => vec![(*t, *f)],
            (Bound::Tuple(ts), Bound::Tuple(fs)) if ts.len() == fs.len() => {
                let mut pairs = Vec::new();
                for pair in ts.iter().zip(fs) {
                    match pair {
                        (Bound::Value(t), Bound::Value(f)) => pairs.push((*t, *f)),
                        _ => {
                            self.errors.at(
                                at,
                                "nested tuples from an `if` are not supported; bind the parts",
                            );
                            return None;
                        }
                    }
                }
                pairs
            }
            _ => {
                self.errors.at(
                    at,
                    "the branches of this `if` have values of different shapes",
                );
                return None;
            }
        };
        // An array value may be what a branch gives (both arms give one);
        // a slice may not.
        let slices = |l: &Self, v: Value| matches!(l.f.class(v), Class::Slice | Class::SliceMut);
        // (What a call returned may be an array: it goes with one.)
        let fits = |l: &Self, v: Value| {
            matches!(l.f.class(v), Class::Vector | Class::Unknown) || l.f.maybe_array(v)
        };
        if shape.iter().any(|&(t, f)| {
            slices(self, t)
                || slices(self, f)
                || (self.f.class(t) == Class::Vector && !fits(self, f))
                || (self.f.class(f) == Class::Vector && !fits(self, t))
        }) {
            self.errors.at(
                at,
                "#[differentiable] does not choose a slice with a branch yet, nor an array in \
                 one arm and something else in the other; index the slices in each branch instead",
            );
            return None;
        }
        for (t, f) in &shape {
            then_yield.push(*t);
            else_yield.push(*f);
            let class = self.arms_class(*t, *f, false);
            classes.push(class);
        }
        self.f.block_mut(then_block).ret = then_yield;
        self.f.block_mut(else_block).ret = else_yield;
        let inst = self.f.push(
            self.block,
            Op::If(cond, then_block, else_block),
            &classes,
            first_span(at),
        );
        let results = self.f.inst(inst).results.clone();
        for ((depth, name), &r) in changed.iter().zip(&results) {
            self.f.set_name(r, name.clone());
            self.scopes[*depth].insert(name.clone(), Bound::Value(r));
        }
        let value: Vec<Bound> = results[changed.len()..]
            .iter()
            .map(|&v| Bound::Value(v))
            .collect();
        match (&then_value, value.as_slice()) {
            (Bound::Value(_), [one]) => Some(one.clone()),
            _ => Some(Bound::Tuple(value)),
        }
    }

    pub(super) fn for_loop(&mut self, l: &syn::ExprForLoop) {
        if l.label.is_none() && self.chain_for(l) {
            return;
        }
        if let Some(label) = &l.label {
            self.errors.at(
                label,
                "labeled loops are not supported by #[differentiable]; remove the label",
            );
            return;
        }
        let Some(range) = self.range_sequence(&l.expr) else {
            return;
        };
        let span = l.span();

        let mut scan = Assigned::default();
        scan.visit_block(&l.body);
        scan.names.extend(self.open_loop(&l.body, false));
        let carried = self.carried(scan);
        if !self.check_carried(&carried, l) {
            self.close_loop();
            return;
        }

        let index_name = match &*l.pat {
            syn::Pat::Ident(p) => p.ident.to_string(),
            _ => "i".to_string(),
        };
        let index = Some((index_name, l.pat.span()));
        let (body, scope) = self.carried_block(index, &carried, &mut |lw, index| {
            let Some(index) = index else { return };
            lw.scopes.push(HashMap::new());
            lw.bind_pattern(&l.pat, Bound::Value(index), None);
            let value = lw.loop_body(&l.body);
            lw.check_unit_body(value, &l.body);
            lw.scopes.pop();
        });
        self.close_loop();
        let Some(yields) = self.yields(&carried, &scope, &l.body) else {
            return;
        };
        self.f.block_mut(body).ret = yields;
        let init: Vec<Value> = carried.iter().map(|(_, v)| *v).collect();
        let classes: Vec<Class> = init.iter().map(|&v| self.f.class(v)).collect();
        let inst = self
            .f
            .push(self.block, Op::For(range, init, body), &classes, span);
        self.rebind(&carried, inst);
    }

    /// A loop body yields nothing.
    fn check_unit_body(&mut self, value: Option<Bound>, body: &syn::Block) {
        if !matches!(value, None | Some(Bound::Diverged)) && value != Some(Bound::Tuple(vec![])) {
            self.errors
                .at(body, "the body of a loop has no value; end it with `;`");
        }
    }

    /// What a loop body yields: the carried variables' values at its end.
    fn yields(
        &mut self,
        carried: &[(String, Value)],
        scope: &HashMap<String, Bound>,
        body: &syn::Block,
    ) -> Option<Vec<Value>> {
        let mut yields = Vec::new();
        for (name, init) in carried {
            match scope.get(name) {
                Some(Bound::Value(v)) => {
                    // What a call returned, carried as an array, is one.
                    if self.f.class(*init) == Class::Vector {
                        self.call_returns_array(*v);
                    }
                    yields.push(*v)
                }
                _ => {
                    self.errors.at(
                        body,
                        format_args!(
                            "`{name}` holds a tuple and is assigned in a loop; assign its parts"
                        ),
                    );
                    return None;
                }
            }
        }
        Some(yields)
    }

    /// Carried: the variables of the enclosing scopes that a loop assigns,
    /// and the lengths of the vectors it pushes to.
    fn carried(&mut self, scan: Assigned) -> Vec<(String, Value)> {
        let lengths: Vec<String> = scan
            .pushed
            .iter()
            .filter_map(|name| match self.lookup(name) {
                Some(Bound::Value(a)) if self.f.class(*a) == Class::Array => {
                    Some(super::arrays::length_var(*a))
                }
                _ => None,
            })
            .collect();
        // (What a call returned, written by element, is an array.)
        let mut values = Vec::new();
        for name in &scan.indexed {
            if let Some(&Bound::Value(v)) = self.lookup(name) {
                self.call_returns_array(v);
                if !scan.names.contains(name) && self.f.class(v) == Class::Vector {
                    values.push(name.clone());
                }
            }
        }
        scan.names
            .into_iter()
            .chain(values)
            .chain(lengths)
            .filter_map(|name| match self.lookup(&name) {
                Some(Bound::Value(v)) => Some((name, *v)),
                _ => None,
            })
            .collect()
    }

    /// Whether either value is a slice (which branches do not choose
    /// yet), or an array value in one and something else in the other
    /// (the hidden value of a `return` that did not happen, a placeholder,
    /// goes with an array).
    fn sequence_assigned(&self, a: &Bound, b: &Bound) -> bool {
        // What a call returned may be an array: it goes with one.
        let class = |x: &Bound| match x {
            Bound::Value(v) if self.f.maybe_array(*v) => Some(Class::Unknown),
            Bound::Value(v) => Some(self.f.class(*v)),
            _ => None,
        };
        let (ca, cb) = (class(a), class(b));
        let slice = |c: Option<Class>| matches!(c, Some(Class::Slice | Class::SliceMut));
        let vector = |c: Option<Class>| c == Some(Class::Vector);
        let fits = |c: Option<Class>| matches!(c, Some(Class::Vector | Class::Unknown));
        slice(ca) || slice(cb) || (vector(ca) && !fits(cb)) || (vector(cb) && !fits(ca))
    }

    /// The class of what the arms of a branch yield. What a call returned
    /// is an array value (and becomes one) where the other arm gives an
    /// array value, or where both give calls' results to a variable that
    /// held an array before (`array_before`).
    fn arms_class(&mut self, t: Value, f: Value, array_before: bool) -> Class {
        let array = |v: Value| self.f.class(v) == Class::Vector;
        let call = |v: Value| self.f.maybe_array(v);
        let vector = (array(t) && call(f))
            || (call(t) && array(f))
            || (array_before && (array(t) || call(t)) && (array(f) || call(f)));
        if !vector {
            return super::join(self.f.class(t), self.f.class(f));
        }
        self.call_returns_array(t);
        self.call_returns_array(f);
        Class::Vector
    }

    /// A loop that assigns a slice variable: not supported yet.
    pub(super) fn check_carried(
        &mut self,
        carried: &[(String, Value)],
        at: &dyn quote::ToTokens,
    ) -> bool {
        if let Some((name, _)) = carried
            .iter()
            .find(|(_, v)| self.f.class(*v) == Class::Slice)
        {
            self.errors.at(
                at,
                format_args!(
                    "#[differentiable] does not assign the slice variable `{name}` in a loop yet; \
                     index the slice with an offset that the loop changes instead (`x[k + i]`)"
                ),
            );
            return false;
        }
        true
    }

    /// After a loop: the carried variables hold its results.
    fn rebind(&mut self, carried: &[(String, Value)], inst: crate::ir::Inst) {
        let results = self.f.inst(inst).results.clone();
        for ((name, _), r) in carried.iter().zip(results) {
            self.f.set_name(r, name.clone());
            self.set(name, Bound::Value(r));
        }
    }

    /// A block whose parameters are an index (for a `for`), then the carried
    /// variables, bound in a new scope; returns the scope after `lower` ran
    /// in it (given the index).
    fn carried_block(
        &mut self,
        index: Option<(String, Span)>,
        carried: &[(String, Value)],
        lower: &mut dyn FnMut(&mut Lower, Option<Value>),
    ) -> (crate::ir::Block, HashMap<String, Bound>) {
        let block = self.f.new_block();
        let index = index.map(|(name, span)| self.f.add_param(block, Class::Int, span, Some(name)));
        let mut scope = HashMap::new();
        for (name, init) in carried {
            let class = self.f.class(*init);
            let p = self
                .f
                .add_param(block, class, self.f.span(*init), Some(name.clone()));
            self.f.open_loops.push((p, *init));
            scope.insert(name.clone(), Bound::Value(p));
        }
        let outer = std::mem::replace(&mut self.block, block);
        self.scopes.push(scope);
        lower(self, index);
        let scope = self.scopes.pop().unwrap_or_default();
        self.block = outer;
        (block, scope)
    }

    /// `while cond { body }`: the derivative of the iterations that run.
    pub(super) fn while_loop(&mut self, w: &syn::ExprWhile) {
        if let Some(label) = &w.label {
            self.errors.at(
                label,
                "labeled loops are not supported by #[differentiable]; remove the label",
            );
            return;
        }
        if let syn::Expr::Let(l) = &*w.cond {
            self.errors.at(
                l,
                "`while let` is not supported by #[differentiable]; write `while` with a condition",
            );
            return;
        }
        self.while_like(Some(&w.cond), &w.body, false, w);
    }

    /// A `while` (or a `loop`, without condition): the condition is tested
    /// only while the loop was not left by `break` or `return`. Returns the
    /// value of `break v` for a `loop` with `value`.
    pub(super) fn while_like(
        &mut self,
        condition: Option<&syn::Expr>,
        body_syntax: &syn::Block,
        value: bool,
        at: &dyn quote::ToTokens,
    ) -> Option<Bound> {
        let span = first_span(at);
        let depth = self.exits.loops.len();
        let mut scan = Assigned::default();
        scan.visit_block(body_syntax);
        if let Some(c) = condition {
            scan.visit_expr(c);
        }
        scan.names.extend(self.open_loop(body_syntax, value));
        let carried = self.carried(scan);
        if !self.check_carried(&carried, at) {
            self.close_loop();
            return None;
        }
        let mut cond_value = None;
        let (cond, _) = self.carried_block(None, &carried, &mut |l, _| {
            let left = l.left(span);
            cond_value = match (left, condition) {
                (None, Some(c)) => l.value(c),
                (Some(left), None) => {
                    Some(l.push(Op::Unary(crate::ir::UnOp::Not, left), Class::Bool, span))
                }
                (Some(left), Some(c)) => {
                    // `c` is not evaluated once the loop was left.
                    let f = l.push_extern(
                        crate::ir::Tokens::new(quote::quote!(false)),
                        Class::Bool,
                        span,
                    );
                    match l.branch(left, at, &mut |_| Some(Bound::Value(f)), &mut |l| {
                        l.value(c).map(Bound::Value)
                    }) {
                        Some(Bound::Value(v)) => Some(v),
                        _ => None,
                    }
                }
                (None, None) => None,
            };
        });
        let Some(c) = cond_value else {
            self.close_loop();
            return None;
        };
        if !matches!(self.f.class(c), Class::Bool | Class::Unknown) {
            if let Some(cond) = condition {
                self.errors
                    .at(cond, "the condition of a `while` must be a `bool`");
            }
            self.close_loop();
            return None;
        }
        self.f.block_mut(cond).ret = vec![c];
        let (body, scope) = self.carried_block(None, &carried, &mut |l, _| {
            l.scopes.push(HashMap::new());
            let value = l.loop_body(body_syntax);
            l.scopes.pop();
            l.check_unit_body(value, body_syntax);
        });
        self.close_loop();
        let yields = self.yields(&carried, &scope, body_syntax)?;
        self.f.block_mut(body).ret = yields;
        let init: Vec<Value> = carried.iter().map(|(_, v)| *v).collect();
        let classes: Vec<Class> = init.iter().map(|&v| self.f.class(v)).collect();
        let inst = self
            .f
            .push(self.block, Op::While(init, cond, body), &classes, span);
        self.rebind(&carried, inst);
        Some(if value {
            self.loop_value(depth)
        } else {
            Bound::Tuple(vec![])
        })
    }

    /// The indices a `for` loop over a range runs through: `a..b`,
    /// `a..=b`, with `.rev()` and `.step_by(k)`. Other sequences are
    /// chains ([`super::iter`]).
    fn range_sequence(&mut self, e: &syn::Expr) -> Option<Range> {
        match strip(e) {
            syn::Expr::Range(r) => {
                let (Some(start), Some(end)) = (&r.start, &r.end) else {
                    self.errors.at(
                        r,
                        "a loop range needs a start and an end: `a..b` or `a..=b`",
                    );
                    return None;
                };
                let lo = self.value(start);
                let hi = self.value(end);
                let (lo, hi) = (lo?, hi?);
                for (v, x) in [(lo, start), (hi, end)] {
                    if !matches!(self.f.class(v), Class::Int | Class::Unknown) {
                        self.errors
                            .at(x, "the bounds of a loop range must be integers");
                        return None;
                    }
                }
                Some(Range {
                    lo,
                    hi,
                    inclusive: matches!(r.limits, syn::RangeLimits::Closed(_)),
                    adapters: vec![],
                })
            }
            syn::Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
                let mut r = self.range_sequence(&m.receiver)?;
                r.adapters.push(Adapter::Rev);
                Some(r)
            }
            syn::Expr::MethodCall(m) if m.method == "step_by" && m.args.len() == 1 => {
                let mut r = self.range_sequence(&m.receiver)?;
                let step = self.value(&m.args[0])?;
                r.adapters.push(Adapter::StepBy(step));
                Some(r)
            }
            other => {
                self.errors.at(
                    other,
                    "#[differentiable] loops over ranges and iterator chains",
                );
                None
            }
        }
    }

    /// Data to iterate over: a reference or a constant (`&[usize]`), or an
    /// array of integers the function writes.
    pub(super) fn is_data_sequence(&self, x: Value) -> bool {
        Some(x) != self.poison && (self.f.class(x).is_data() || self.is_data_array(x))
    }

    pub(super) fn index(&mut self, e: &syn::ExprIndex) -> Option<Value> {
        let x = self.value(&e.expr);
        let i = self.value(&e.index);
        let (x, i) = (x?, i?);
        if Some(x) == self.poison {
            return Some(x);
        }
        self.call_returns_array(x);
        // Data that carries no derivative (`idx: &[usize]`, a constant
        // table): read as it is, never differentiated.
        if self.f.class(x).is_data() {
            if !matches!(self.f.class(i), Class::Int | Class::Unknown) {
                self.errors.at(&e.index, "an index must be an integer");
                return None;
            }
            return Some(self.push(Op::Index(x, i), Class::Unknown, e.span()));
        }
        // An array of integers or `bool`s the function writes is data.
        if self.is_data_array(x) {
            if !matches!(self.f.class(i), Class::Int | Class::Unknown) {
                self.errors.at(&e.index, "an index must be an integer");
                return None;
            }
            return Some(self.push(Op::Index(x, i), Class::Unknown, e.span()));
        }
        if self.f.class(x) == Class::Array {
            let i = match self.f.class(i) {
                Class::Int | Class::Unknown => i,
                _ => {
                    self.errors.at(&e.index, "an index must be an integer");
                    return None;
                }
            };
            return Some(self.push(Op::Index(x, i), Class::Float, e.span()));
        }
        if !self.f.class(x).is_sequence() {
            match &*e.expr {
                // `v[i][k]` of a `v` the macro took for floats: a call's
                // rows, whose type it cannot see.
                syn::Expr::Index(inner) if self.f.class(x) == Class::Float => {
                    let v = inner.expr.to_token_stream().to_string().replace(' ', "");
                    self.errors.at(
                        &e.expr,
                        format_args!(
                            "#[differentiable] takes `{v}` for a sequence of floats, whose \
                             elements are not indexed; where `{v}` holds rows of arrays, give \
                             its type where it is bound (`let {v}: Vec<[f64; 3]> = ..`)"
                        ),
                    );
                }
                _ => self.errors.at(
                    &e.expr,
                    "#[differentiable] supports indexing f32/f64 slices and arrays only",
                ),
            }
            return None;
        }
        match self.f.class(i) {
            Class::Int | Class::Unknown => Some(self.push(Op::Index(x, i), Class::Float, e.span())),
            Class::Float => {
                self.errors.at(
                    &e.index,
                    "an index must be an integer; a float index has no derivative \
                     (cast it with `as usize` if that is what you mean)",
                );
                None
            }
            _ => {
                self.errors.at(
                    &e.index,
                    "#[differentiable] supports integer indices only (no ranges)",
                );
                None
            }
        }
    }
}

/// A variable bound by a pattern, if any: `k` in `Some(k)`; a path (`None`,
/// `Mode::Fast`) and `_` bind nothing.
fn binding_in(pat: &syn::Pat) -> Option<&syn::Pat> {
    match pat {
        syn::Pat::Ident(_) => Some(pat),
        syn::Pat::Or(o) => o.cases.iter().find_map(binding_in),
        syn::Pat::Paren(p) => binding_in(&p.pat),
        syn::Pat::Reference(r) => binding_in(&r.pat),
        syn::Pat::Tuple(t) => t.elems.iter().find_map(binding_in),
        syn::Pat::TupleStruct(t) => t.elems.iter().find_map(binding_in),
        syn::Pat::Struct(s) => s.fields.iter().find_map(|f| binding_in(&f.pat)),
        syn::Pat::Slice(s) => s.elems.iter().find_map(binding_in),
        syn::Pat::Type(t) => binding_in(&t.pat),
        _ => None,
    }
}

pub(super) fn strip(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        other => other,
    }
}

/// The names `e` assigns, writes the elements of, or pushes to.
pub(super) fn assigned_names(e: &syn::Expr) -> Vec<String> {
    let mut scan = Assigned::default();
    scan.visit_expr(e);
    let mut names: Vec<String> = scan.names.into_iter().collect();
    names.extend(scan.indexed);
    names.extend(scan.pushed);
    names
}

/// The names a loop body assigns: `x = ..`, `x += ..`, anywhere in it;
/// and the vectors it pushes to.
#[derive(Default)]
struct Assigned {
    names: BTreeSet<String>,
    pushed: BTreeSet<String>,
    /// Variables whose elements are written (`q[i] = e`): assigned when
    /// they hold array values.
    indexed: BTreeSet<String>,
}

impl Assigned {
    fn target(&mut self, e: &syn::Expr) {
        match strip(e) {
            syn::Expr::Path(p) => {
                if let Some(i) = p.path.get_ident() {
                    self.names.insert(i.to_string());
                }
            }
            syn::Expr::Index(x) => {
                if let syn::Expr::Path(p) = strip(&x.expr)
                    && let Some(i) = p.path.get_ident()
                {
                    self.indexed.insert(i.to_string());
                }
            }
            _ => {}
        }
    }
}

impl<'ast> Visit<'ast> for Assigned {
    fn visit_expr_method_call(&mut self, e: &'ast syn::ExprMethodCall) {
        let receiver = match strip(&e.receiver) {
            syn::Expr::Index(x) => strip(&x.expr),
            other => other,
        };
        if let syn::Expr::Path(p) = receiver
            && let Some(i) = p.path.get_ident()
        {
            let method = e.method.to_string();
            if method == "push" || method == "extend_from_slice" {
                self.pushed.insert(i.to_string());
            }
            // The methods that write elements (rewritten as loops that do).
            if super::WRITING_METHODS.contains(&method.as_str()) {
                self.indexed.insert(i.to_string());
            }
        }
        syn::visit::visit_expr_method_call(self, e);
    }

    fn visit_expr_assign(&mut self, e: &'ast syn::ExprAssign) {
        self.target(&e.left);
        syn::visit::visit_expr_assign(self, e);
    }

    fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
        use syn::BinOp as B;
        if matches!(
            e.op,
            B::AddAssign(_)
                | B::SubAssign(_)
                | B::MulAssign(_)
                | B::DivAssign(_)
                | B::RemAssign(_)
                | B::BitAndAssign(_)
                | B::BitOrAssign(_)
                | B::BitXorAssign(_)
                | B::ShlAssign(_)
                | B::ShrAssign(_)
        ) {
            self.target(&e.left);
        }
        syn::visit::visit_expr_binary(self, e);
    }
}

/// The span of the first token of `at`: where a construct starts.
fn first_span(at: &dyn quote::ToTokens) -> Span {
    at.to_token_stream()
        .into_iter()
        .next()
        .map(|t| t.span())
        .unwrap_or_else(Span::call_site)
}
