//! Phase 5a, differentiate in forward mode (JVP).
//!
//! The primal is copied instruction by instruction; after each one whose
//! result is active comes its tangent, by the rule of its operation. The
//! function gains a tangent parameter per active argument and returns the
//! outputs followed by their tangents (a literal zero where an output does
//! not depend on the active arguments). A branch yields the tangents of its
//! active results too; a loop carries the tangents of its active carried
//! values next to them.

use proc_macro2::Span;

use crate::activity::Activity;
use crate::builder::{Builder, Deriv, derived_name};
use crate::ir::{BinOp, Block, Class, Function, Op, UnOp, Value};
use crate::primitives::Prim;

pub fn jvp(primal: &Function, active_params: &[Value], act: &Activity) -> syn::Result<Function> {
    let mut j = Jvp {
        b: Builder::new(primal),
        tan: vec![None; primal.values.len()],
        act,
    };
    j.b.copy_params();
    for &p in active_params {
        let name = derived_name("d", primal.name(p));
        let entry = j.b.f.entry;
        j.tan[p.index()] = Some(
            j.b.f
                .add_param(entry, primal.class(p), primal.span(p), name),
        );
    }
    // An output parameter's tangent is written next to it.
    for &p in &primal.block(primal.entry).params {
        if primal.class(p) == Class::Array {
            let name = derived_name("d", primal.name(p));
            let entry = j.b.f.entry;
            j.tan[p.index()] = Some(j.b.f.add_param(entry, Class::Array, primal.span(p), name));
        }
    }
    let entry = j.b.f.entry;
    j.block(primal.entry, entry)?;

    let outputs = primal.block(primal.entry).ret.clone();
    let mut ret: Vec<Value> = outputs.iter().map(|&v| j.b.get(v)).collect();
    for &v in &outputs {
        // An array's tangent is an array, made with it.
        let t = if primal.class(v) == Class::Array {
            j.tan[v.index()]
        } else {
            j.tangent_of(v)
        };
        let t = match (t, primal.class(v)) {
            // An array value without a tangent: zeros shaped like it.
            (None, Class::Vector) => {
                let op = Op::Zeros(j.b.get(v), None);
                j.b.f.push1(entry, op, Class::Vector, primal.span(v))
            }
            (t, _) => j.b.materialize(t, primal.span(v)),
        };
        ret.push(t);
    }
    j.b.f.block_mut(entry).ret = ret;
    Ok(j.b.f)
}

struct Jvp<'a> {
    b: Builder<'a>,
    /// The tangent of each primal value; `None` is zero.
    tan: Vec<Deriv>,
    act: &'a Activity,
}

impl Jvp<'_> {
    fn tangent_of(&self, v: Value) -> Deriv {
        if self.act.is_active(v) {
            self.tan[v.index()]
        } else {
            None
        }
    }

    /// Copies primal block `src` into `dst` with tangents.
    fn block(&mut self, src: Block, dst: Block) -> syn::Result<()> {
        let outer = std::mem::replace(&mut self.b.block, dst);
        for &inst in &self.b.primal.block(src).insts.clone() {
            self.inst(inst)?;
        }
        self.b.block = outer;
        Ok(())
    }

    /// `values` as seen in the copy, followed by the tangents of those at
    /// positions `active`, zeros made in the current block.
    fn with_tangents(&mut self, values: &[Value], active: &[usize], span: Span) -> Vec<Value> {
        let mut out: Vec<Value> = values.iter().map(|&v| self.b.get(v)).collect();
        for &k in active {
            let t = self.tangent_of(values[k]);
            let t = match t {
                // An array value without a tangent: zeros shaped like it.
                None if self.b.primal.class(values[k]) == Class::Vector => {
                    let block = self.b.block;
                    let op = Op::Zeros(self.b.get(values[k]), None);
                    self.b.f.push1(block, op, Class::Vector, span)
                }
                t => self.b.materialize(t, span),
            };
            out.push(t);
        }
        out
    }

    fn inst(&mut self, inst: crate::ir::Inst) -> syn::Result<()> {
        let primal = self.b.primal;
        let d = primal.inst(inst);
        let span = d
            .results
            .first()
            .map(|&r| primal.span(r))
            .unwrap_or_else(Span::call_site);
        let active = d.results.iter().any(|&r| self.act.is_active(r))
            || self.act.writes_active(primal, &d.op);
        match &d.op {
            Op::Call(callee, args) if active => {
                self.b.check_call_args(callee, args, span)?;
                let operands: Vec<Value> = args.iter().map(|&a| self.b.get(a)).collect();
                let mut tangents = Vec::new();
                for &a in callee.active_args(args) {
                    let t = self.tan[a.index()];
                    if primal.class(a).is_sequence() {
                        // A slice without a tangent lends zeros; an array
                        // value passes them.
                        let class = match primal.class(a) {
                            Class::Vector => Class::Vector,
                            _ => Class::Buffer,
                        };
                        let t = t.unwrap_or_else(|| {
                            let block = self.b.block;
                            self.b
                                .f
                                .push1(block, Op::Zeros(self.b.get(a), None), class, span)
                        });
                        tangents.push(t);
                    } else if primal.class(a).differentiable() {
                        let t = match t {
                            // What a call returned may be an array.
                            None if primal.maybe_array(a) => {
                                let block = self.b.block;
                                let op = Op::Zeros(self.b.get(a), None);
                                self.b.f.push1(block, op, Class::Float, span)
                            }
                            t => self.b.materialize(t, span),
                        };
                        tangents.push(t);
                    }
                }
                // After the tangents of the derivative arguments, those of
                // the arrays lent mutably, which the callee writes.
                for &a in callee.active_args(args) {
                    if primal.class(a) == Class::SliceMut {
                        let t = self.view_tangent(a, span);
                        tangents.push(t);
                    }
                }
                let mut results = d.results.clone();
                results.extend(d.results.iter().copied());
                let new = self
                    .b
                    .copy_results(Op::CallJvp(callee.clone(), operands, tangents), &results);
                let all: Vec<usize> = (0..d.results.len()).collect();
                self.record_tangents(&d.results, &all, &new);
            }
            Op::If(cond, then, els) => {
                let active: Vec<usize> = (0..d.results.len())
                    .filter(|&k| self.act.is_active(d.results[k]))
                    .collect();
                let mut blocks = Vec::new();
                for src in [*then, *els] {
                    let dst = self.b.f.new_block();
                    self.block(src, dst)?;
                    let outer = std::mem::replace(&mut self.b.block, dst);
                    let ret = primal.block(src).ret.clone();
                    let yields = self.with_tangents(&ret, &active, span);
                    self.b.block = outer;
                    self.b.f.block_mut(dst).ret = yields;
                    blocks.push(dst);
                }
                let mut results = d.results.clone();
                results.extend(active.iter().map(|&k| d.results[k]));
                let new = self
                    .b
                    .copy_results(Op::If(self.b.get(*cond), blocks[0], blocks[1]), &results);
                self.record_tangents(&d.results, &active, &new);
            }
            Op::For(range, init, body) => {
                let params = primal.block(*body).params.clone();
                let carried = &params[1..];
                let active: Vec<usize> = (0..carried.len())
                    .filter(|&k| self.act.is_active(carried[k]))
                    .collect();
                let new_init = self.with_tangents(init, &active, span);
                let new_body = self.b.f.new_block();
                for &p in &params {
                    let np = self.b.f.add_param(
                        new_body,
                        primal.class(p),
                        primal.span(p),
                        primal.name(p).map(str::to_string),
                    );
                    self.b.map[p.index()] = Some(np);
                }
                for &k in &active {
                    let p = carried[k];
                    let tp = self.b.f.add_param(
                        new_body,
                        tangent_class(primal.class(p)),
                        primal.span(p),
                        derived_name("d", primal.name(p)),
                    );
                    self.tan[p.index()] = Some(tp);
                }
                self.block(*body, new_body)?;
                let outer = std::mem::replace(&mut self.b.block, new_body);
                let ret = primal.block(*body).ret.clone();
                let yields = self.with_tangents(&ret, &active, span);
                self.b.block = outer;
                self.b.f.block_mut(new_body).ret = yields;
                let op = Op::For(self.b.mapped_range(range), new_init, new_body);
                let mut results = d.results.clone();
                results.extend(active.iter().map(|&k| d.results[k]));
                let new = self.b.copy_results(op, &results);
                self.record_tangents(&d.results, &active, &new);
            }
            Op::While(init, cond, body) => {
                let params = primal.block(*body).params.clone();
                let active: Vec<usize> = (0..params.len())
                    .filter(|&k| self.act.is_active(params[k]))
                    .collect();
                let new_init = self.with_tangents(init, &active, span);
                // The condition block takes the tangents too (and ignores
                // them): both blocks see the same carried variables.
                let new_cond = self.carried_copy(*cond, &active, span, |j, src, dst| {
                    j.block(src, dst)?;
                    Ok(vec![j.b.get(j.b.primal.block(src).ret[0])])
                })?;
                let new_body = self.carried_copy(*body, &active, span, |j, src, dst| {
                    j.block(src, dst)?;
                    let outer = std::mem::replace(&mut j.b.block, dst);
                    let ret = j.b.primal.block(src).ret.clone();
                    let yields = j.with_tangents(&ret, &active, span);
                    j.b.block = outer;
                    Ok(yields)
                })?;
                let mut results = d.results.clone();
                results.extend(active.iter().map(|&k| d.results[k]));
                let new = self
                    .b
                    .copy_results(Op::While(new_init, new_cond, new_body), &results);
                self.record_tangents(&d.results, &active, &new);
            }
            Op::NewArray(init, shape) => {
                self.b.copy_results(self.b.mapped(&d.op), &d.results);
                if self.act.is_useful(d.results[0]) {
                    if self.tangent_of(*init).is_some() {
                        return Err(syn::Error::new(
                            span,
                            "#[differentiable] needs the initial value of an array to be a constant; \
                             start from `0.0` and write the values",
                        ));
                    }
                    let zero = self.b.lit(0.0, span);
                    let mut op = Op::NewArray(zero, shape.clone());
                    if let Op::NewArray(_, s) = &mut op
                        && let crate::ir::ArrayShape::Vec(n) | crate::ir::ArrayShape::Empty(n) = s
                    {
                        *n = self.b.get(*n);
                    }
                    let block = self.b.block;
                    let da = self.b.f.push1(block, op, Class::Array, span);
                    self.b.f.names[da.index()] = derived_name("d", primal.name(d.results[0]));
                    self.tan[d.results[0].index()] = Some(da);
                }
            }
            Op::Store(a, i, v) | Op::StoreAdd(a, i, v) | Op::Push(a, v, i) => {
                self.b.copy_results(self.b.mapped(&d.op), &d.results);
                if let Some(da) = self.tan[a.index()] {
                    let dv = self.tangent_of(*v);
                    let i = self.b.get(*i);
                    let op = match (&d.op, dv) {
                        (Op::StoreAdd(..), None) => None,
                        (Op::StoreAdd(..), Some(dv)) => Some(Op::StoreAdd(da, i, dv)),
                        (Op::Store(..), dv) => Some(Op::Store(da, i, self.b.materialize(dv, span))),
                        (_, dv) => Some(Op::Push(da, self.b.materialize(dv, span), i)),
                    };
                    if let Some(op) = op {
                        let block = self.b.block;
                        self.b.f.push(block, op, &[], span);
                    }
                }
            }
            op => {
                let op = self.b.mapped(op);
                let new = self.b.copy_results(op, &d.results);
                if active {
                    let r = d.results[0];
                    let t = self.tangent(&d.op, new[0], span);
                    if let (Some(t), Some(name)) = (t, derived_name("d", primal.name(r))) {
                        self.b.f.set_name(t, name);
                    }
                    self.tan[r.index()] = t;
                }
            }
        }
        Ok(())
    }

    /// The tangent of a mutable view (`&mut v`, `&mut v[a..b]`): the same
    /// view of the array's tangent (of scratch zeros when it has none).
    fn view_tangent(&mut self, v: Value, span: Span) -> Value {
        let primal = self.b.primal;
        let block = self.b.block;
        match primal.def_op(v) {
            Some(Op::SubSlice(x, lo, hi)) => {
                let dx = self.view_tangent(*x, span);
                let (lo, hi) = (lo.map(|b| self.b.get(b)), hi.map(|b| self.b.get(b)));
                self.b
                    .f
                    .push1(block, Op::SubSlice(dx, lo, hi), Class::SliceMut, span)
            }
            Some(Op::Ref(array, true)) => {
                let dt = match self.tan[array.index()] {
                    Some(dt) => dt,
                    None => {
                        let op = Op::Zeros(self.b.get(*array), None);
                        self.b.f.push1(block, op, Class::Buffer, span)
                    }
                };
                self.b
                    .f
                    .push1(block, Op::Ref(dt, true), Class::SliceMut, span)
            }
            _ => self.b.get(v),
        }
    }

    /// A copy of a block whose parameters are carried values: the copies of
    /// the parameters, then a tangent for those at positions `active`;
    /// `fill` copies the instructions and returns what the block yields.
    fn carried_copy(
        &mut self,
        src: Block,
        active: &[usize],
        span: Span,
        mut fill: impl FnMut(&mut Self, Block, Block) -> syn::Result<Vec<Value>>,
    ) -> syn::Result<Block> {
        let primal = self.b.primal;
        let dst = self.b.f.new_block();
        let params = primal.block(src).params.clone();
        for &p in &params {
            let np = self.b.f.add_param(
                dst,
                primal.class(p),
                primal.span(p),
                primal.name(p).map(str::to_string),
            );
            self.b.map[p.index()] = Some(np);
        }
        for &k in active {
            let p = params[k];
            let tp = self.b.f.add_param(
                dst,
                tangent_class(primal.class(p)),
                primal.span(p),
                derived_name("d", primal.name(p)),
            );
            self.tan[p.index()] = Some(tp);
        }
        let _ = span;
        let yields = fill(self, src, dst)?;
        self.b.f.block_mut(dst).ret = yields;
        Ok(dst)
    }

    /// After an instruction whose new results `new` are the copies of the
    /// primal `results` followed by the tangents of those at positions
    /// `active`: maps both.
    fn record_tangents(&mut self, results: &[Value], active: &[usize], new: &[Value]) {
        for (&r, &n) in results.iter().zip(new) {
            self.b.map[r.index()] = Some(n);
        }
        for (i, &k) in active.iter().enumerate() {
            let (r, t) = (results[k], new[results.len() + i]);
            match derived_name("d", self.b.primal.name(r)) {
                Some(name) => self.b.f.set_name(t, name),
                None => self.b.f.names[t.index()] = None,
            }
            self.tan[r.index()] = Some(t);
        }
    }

    /// The tangent of the result `out` of the primal operation `op`.
    fn tangent(&mut self, op: &Op, out: Value, span: Span) -> Deriv {
        let b = &mut self.b;
        let tan = &self.tan;
        let t = |v: &Value| tan[v.index()];
        match op {
            Op::Unary(UnOp::Neg, a) => b.neg(t(a), span),
            Op::Binary(BinOp::Add, x, y) => b.add(t(x), t(y), span),
            Op::Binary(BinOp::Sub, x, y) => b.sub(t(x), t(y), span),
            Op::Binary(BinOp::Mul, x, y) => {
                // d(xy) = dx y + x dy
                let (nx, ny) = (b.get(*x), b.get(*y));
                let l = b.scale(t(x), ny, span);
                let r = b.scale(t(y), nx, span);
                b.add(l, r, span)
            }
            Op::Binary(BinOp::Div, x, y) => {
                // d(x/y) = (dx - (x/y) dy) / y
                let ny = b.get(*y);
                let r = b.scale(t(y), out, span);
                let num = b.sub(t(x), r, span);
                b.div(num, ny, span)
            }
            Op::Binary(BinOp::Rem, x, y) => {
                let args = [b.get(*x), b.get(*y)];
                prim_tangent(b, Prim::rem(), &args, &[*x, *y], out, tan, span)
            }
            Op::Cast(a, ty) => t(a).map(|ta| b.emit(Op::Cast(ta, ty.clone()), span)),
            Op::Prim(p, args) => {
                let new: Vec<Value> = args.iter().map(|&a| b.get(a)).collect();
                prim_tangent(b, *p, &new, args, out, tan, span)
            }
            // The tangent of an element is the element of the tangent.
            Op::Index(x, i) => t(x).map(|dx| b.emit(Op::Index(dx, b.get(*i)), span)),
            // A reference or a part of a sequence: the same of its tangent
            // (an array's tangent is an array, kept where it is useful).
            Op::Ref(x, m) => tan[x.index()].map(|dx| {
                let block = b.block;
                let class = if *m { Class::SliceMut } else { Class::Slice };
                b.f.push1(block, Op::Ref(dx, *m), class, span)
            }),
            Op::SubSlice(x, lo, hi) => t(x).map(|dx| {
                let block = b.block;
                let (lo, hi) = (lo.map(|v| b.get(v)), hi.map(|v| b.get(v)));
                b.f.push1(block, Op::SubSlice(dx, lo, hi), Class::Slice, span)
            }),
            // The tangent of an array value is the array of the tangents.
            Op::ArrayLit(items) => items.iter().any(|v| t(v).is_some()).then(|| {
                let tangents = items.iter().map(|v| b.materialize(t(v), span)).collect();
                let block = b.block;
                b.f.push1(block, Op::ArrayLit(tangents), Class::Vector, span)
            }),
            // One element replaced: in the tangent too (zeros for an array
            // without one, a zero for an element without one).
            Op::Insert(v, i, x) => (t(v).is_some() || t(x).is_some()).then(|| {
                let block = b.block;
                let dv = match t(v) {
                    Some(dv) => dv,
                    None => {
                        b.f.push1(block, Op::Zeros(b.get(*v), None), Class::Vector, span)
                    }
                };
                let dx = b.materialize(t(x), span);
                let i = b.get(*i);
                b.f.push1(block, Op::Insert(dv, i, dx), Class::Vector, span)
            }),
            // Literals, constants, integer and boolean operations are never
            // active; calls and control flow are handled by the caller.
            _ => None,
        }
    }
}

/// `sum_k partial_k * tangent_k` over the float arguments with a tangent.
fn prim_tangent(
    b: &mut Builder,
    prim: Prim,
    new_args: &[Value],
    primal_args: &[Value],
    out: Value,
    tan: &[Deriv],
    span: Span,
) -> Deriv {
    let partials = b.partials(prim, new_args, out, span);
    let mut sum = None;
    for (p, a) in partials.into_iter().zip(primal_args) {
        if let Some(p) = p {
            let term = b.scale(tan[a.index()], p, span);
            sum = b.add(sum, term, span);
        }
    }
    sum
}

/// The class of the tangent of a carried value: an array value's is an
/// array value, any other's a float.
fn tangent_class(class: Class) -> Class {
    match class {
        Class::Vector => Class::Vector,
        _ => Class::Float,
    }
}
