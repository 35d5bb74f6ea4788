//! Phase 5b, differentiate in reverse mode (VJP).
//!
//! The result has two regions. The entry block is the forward sweep: the
//! primal, where each active call asks the callee for its pullback instead of
//! only its value (split mode: the callee's primal runs once, and its reverse
//! sweep needs no recomputation). The pullback block is the reverse sweep:
//! its parameters are the output cotangents, it walks the active
//! instructions backwards accumulating adjoints, and it returns one gradient
//! per active argument. It reads forward values directly; what it reads is
//! what reverse mode keeps (`activity::recorded`), which for straight-line
//! code stays in locals.

use proc_macro2::Span;

use crate::activity::Activity;
use crate::builder::{Builder, Deriv, derived_name};
use crate::ir::{BinOp, Function, Op, UnOp, Value};
use crate::primitives::Prim;

pub fn vjp(primal: &Function, active_params: &[Value], act: &Activity) -> syn::Result<Function> {
    let mut b = Builder::new(primal);
    b.copy_params();

    // Forward sweep.
    let mut pullbacks = vec![None; primal.values.len()];
    for &inst in &primal.block(primal.entry).insts {
        let d = primal.inst(inst);
        match &d.op {
            Op::Call(callee, args) if d.results.iter().any(|&r| act.is_active(r)) => {
                b.check_call_args(callee, args)?;
                let op = Op::CallPullback(callee.clone(), args.iter().map(|&a| b.get(a)).collect());
                // One more result than the primal call: the pullback.
                let mut results = d.results.clone();
                results.push(d.results[0]);
                let new = b.copy_results(op, &results);
                let pb = new[d.results.len()];
                b.map[d.results[0].index()] = Some(new[0]);
                b.f.set_name(pb, format!("pb_{}", callee.name));
                pullbacks[d.results[0].index()] = Some(pb);
            }
            op => {
                let op = b.mapped(op);
                b.copy_results(op, &d.results);
            }
        }
    }
    let outputs = primal.block(primal.entry).ret.clone();
    let entry = b.f.entry;
    b.f.block_mut(entry).ret = outputs.iter().map(|&v| b.get(v)).collect();

    // Reverse sweep.
    let block = b.f.new_block();
    b.f.pullback = Some(block);
    b.block = block;
    let mut adj = Adjoints {
        adj: vec![None; primal.values.len()],
    };
    for (i, &v) in outputs.iter().enumerate() {
        let name = if outputs.len() == 1 {
            "dr".to_string()
        } else {
            format!("dr{i}")
        };
        let seed =
            b.f.add_param(block, primal.class(v), primal.span(v), Some(name));
        if act.is_active(v) {
            adj.add(&mut b, v, Some(seed), primal.span(v));
        }
    }
    for &inst in primal.block(primal.entry).insts.iter().rev() {
        let d = primal.inst(inst);
        let r = d.results[0];
        let span = primal.span(r);
        if !d
            .results
            .iter()
            .any(|&r| act.is_active(r) && adj.adj[r.index()].is_some())
        {
            continue;
        }
        let g = adj.adj[r.index()];
        match &d.op {
            Op::Unary(UnOp::Neg, a) => {
                let c = b.neg(g, span);
                adj.add(&mut b, *a, c, span);
            }
            Op::Binary(BinOp::Add, x, y) => {
                adj.add(&mut b, *x, g, span);
                adj.add(&mut b, *y, g, span);
            }
            Op::Binary(BinOp::Sub, x, y) => {
                adj.add(&mut b, *x, g, span);
                let c = if act.is_active(*y) {
                    b.neg(g, span)
                } else {
                    None
                };
                adj.add(&mut b, *y, c, span);
            }
            Op::Binary(BinOp::Mul, x, y) => {
                if act.is_active(*x) {
                    let c = b.scale(g, b.get(*y), span);
                    adj.add(&mut b, *x, c, span);
                }
                if act.is_active(*y) {
                    let c = b.scale(g, b.get(*x), span);
                    adj.add(&mut b, *y, c, span);
                }
            }
            Op::Binary(BinOp::Div, x, y) => {
                // x̄ += ḡ / y;  ȳ -= (ḡ / y) (x / y)
                let q = b.div(g, b.get(*y), span);
                adj.add(&mut b, *x, q, span);
                if act.is_active(*y) {
                    let c = b.scale(q, b.get(r), span);
                    let c = b.neg(c, span);
                    adj.add(&mut b, *y, c, span);
                }
            }
            Op::Binary(BinOp::Rem, x, y) => {
                let args = [b.get(*x), b.get(*y)];
                prim_adjoint(
                    &mut b,
                    &mut adj,
                    act,
                    Prim::rem(),
                    &args,
                    &[*x, *y],
                    r,
                    g,
                    span,
                );
            }
            Op::Cast(a, _) => {
                let c = g.map(|g| b.emit(Op::CastLike(b.get(*a), g), span));
                adj.add(&mut b, *a, c, span);
            }
            Op::Prim(p, args) => {
                let new: Vec<Value> = args.iter().map(|&a| b.get(a)).collect();
                prim_adjoint(&mut b, &mut adj, act, *p, &new, args, r, g, span);
            }
            Op::Call(callee, args) => {
                let Some(pb) = pullbacks[r.index()] else {
                    continue;
                };
                let cotangents: Vec<Value> = d
                    .results
                    .iter()
                    .map(|&o| {
                        let g = if act.is_active(o) {
                            adj.adj[o.index()]
                        } else {
                            None
                        };
                        b.materialize(g, span)
                    })
                    .collect();
                let float_args: Vec<Value> = callee
                    .active_args(args)
                    .iter()
                    .copied()
                    .filter(|&a| primal.class(a).differentiable())
                    .collect();
                let inst = b.f.push(
                    block,
                    Op::ApplyPullback(pb, cotangents),
                    &vec![crate::ir::Class::Float; float_args.len()],
                    span,
                );
                let grads = b.f.inst(inst).results.clone();
                for (a, g) in float_args.into_iter().zip(grads) {
                    adj.add(&mut b, a, Some(g), span);
                }
            }
            // Literals, constants, integer and boolean operations are never
            // active.
            _ => {}
        }
    }

    let grads: Vec<Value> = active_params
        .iter()
        .map(|&p| {
            let g = adj.adj[p.index()];
            b.materialize(g, primal.span(p))
        })
        .collect();
    b.f.block_mut(block).ret = grads;
    Ok(b.f)
}

/// The adjoint accumulated so far for each primal value.
struct Adjoints {
    adj: Vec<Deriv>,
}

impl Adjoints {
    /// `adj[v] += c` for an active `v`.
    fn add(&mut self, b: &mut Builder, v: Value, c: Deriv, span: Span) {
        let old = self.adj[v.index()];
        let sum = b.add(old, c, span);
        if let (Some(s), Some(name)) = (sum, derived_name("g", b.primal.name(v)))
            && b.f.name(s).is_none()
        {
            b.f.set_name(s, name);
        }
        self.adj[v.index()] = sum;
    }
}

#[allow(clippy::too_many_arguments)]
fn prim_adjoint(
    b: &mut Builder,
    adj: &mut Adjoints,
    act: &Activity,
    prim: Prim,
    new_args: &[Value],
    primal_args: &[Value],
    out: Value,
    g: Deriv,
    span: Span,
) {
    let partials = b.partials(prim, new_args, b.get(out), span);
    for (p, &a) in partials.into_iter().zip(primal_args) {
        if let (Some(p), true) = (p, act.is_active(a)) {
            let c = b.scale(g, p, span);
            adj.add(b, a, c, span);
        }
    }
}
