//! Phase 5a, differentiate in forward mode (JVP).
//!
//! The primal is copied instruction by instruction; after each one whose
//! result is active comes its tangent, by the rule of its operation. The
//! function gains a tangent parameter per active argument and returns the
//! outputs followed by their tangents (a literal zero where an output does
//! not depend on the active arguments).

use proc_macro2::Span;

use crate::activity::Activity;
use crate::builder::{Builder, Deriv, derived_name};
use crate::ir::{BinOp, Function, Op, UnOp, Value};
use crate::primitives::Prim;

pub fn jvp(primal: &Function, active_params: &[Value], act: &Activity) -> syn::Result<Function> {
    let mut b = Builder::new(primal);
    let mut tan: Vec<Deriv> = vec![None; primal.values.len()];
    b.copy_params();
    for &p in active_params {
        let name = derived_name("d", primal.name(p));
        let entry = b.f.entry;
        tan[p.index()] = Some(b.f.add_param(entry, primal.class(p), primal.span(p), name));
    }

    for &inst in &primal.block(primal.entry).insts {
        let d = primal.inst(inst);
        let span = primal.span(d.results[0]);
        let active = d.results.iter().any(|&r| act.is_active(r));

        if let (Op::Call(callee, args), true) = (&d.op, active) {
            b.check_call_args(callee, args)?;
            let operands: Vec<Value> = args.iter().map(|&a| b.get(a)).collect();
            let mut tangents = Vec::new();
            for &a in callee.active_args(args) {
                if primal.class(a).differentiable() {
                    tangents.push(b.materialize(tan[a.index()], span));
                }
            }
            let outputs = d.results.len();
            let mut results = d.results.clone();
            results.extend(d.results.iter().copied());
            let new = b.copy_results(Op::CallJvp(callee.clone(), operands, tangents), &results);
            // The second half are tangents: rename them and record them.
            for (k, &r) in d.results.iter().enumerate() {
                let t = new[outputs + k];
                b.map[r.index()] = Some(new[k]);
                match derived_name("d", primal.name(r)) {
                    Some(n) => b.f.set_name(t, n),
                    None => b.f.names[t.index()] = None,
                }
                tan[r.index()] = Some(t);
            }
            continue;
        }

        let op = b.mapped(&d.op);
        let new = b.copy_results(op, &d.results);
        if !active {
            continue;
        }
        let r = d.results[0];
        let t = tangent(&mut b, &d.op, new[0], &tan, span);
        if let (Some(t), Some(name)) = (t, derived_name("d", primal.name(r))) {
            b.f.set_name(t, name);
        }
        tan[r.index()] = t;
    }

    let outputs = primal.block(primal.entry).ret.clone();
    let mut ret: Vec<Value> = outputs.iter().map(|&v| b.get(v)).collect();
    for &v in &outputs {
        let t = if act.is_active(v) {
            tan[v.index()]
        } else {
            None
        };
        let t = b.materialize(t, primal.span(v));
        ret.push(t);
    }
    let entry = b.f.entry;
    b.f.block_mut(entry).ret = ret;
    Ok(b.f)
}

/// The tangent of the result `out` of the primal operation `op`.
fn tangent(b: &mut Builder, op: &Op, out: Value, tan: &[Deriv], span: Span) -> Deriv {
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
        // Literals, constants, integer and boolean operations are never
        // active; calls are handled by the caller.
        _ => None,
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
