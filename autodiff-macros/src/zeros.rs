//! Phase 6b, zero factors: a derivative scaled by a stored factor that is
//! exactly zero is not computed, in the JVP and in the VJPs.
//!
//! Numerical code is full of weights that are mostly zero but stored
//! densely: skinning weights (a vertex follows three of twenty bones),
//! masks, one-hot rows, banded matrices. The primal multiplies by the zeros
//! and moves on; the tangent of `w * s` is `w * ds`, and `ds` may be many
//! operations (a dot product of tangents, and in `f_jvp_lanes` each of them
//! `K` wide); in reverse mode, the adjoint `w * g` feeds the adjoints of
//! everything `s` was computed from. Here, where `w` is read from a
//! parameter outside `wrt` or from a constant table (`W[i]`), and four or
//! more derivative operations exist only for the product (before it: the
//! tangent operand; after it: what is zero where the product is, down to
//! additions into buffers), those operations and the product move into
//! `if w != 0.0 { .. }`, whose other branch gives a zero derivative, or
//! does nothing when the additions moved too. Factors the function
//! computes itself are left alone: they are rarely exactly zero, and a
//! branch in straight-line code costs more than it saves.
//!
//! The result is the same for every finite derivative (`0 * ds` is a zero;
//! at most its sign differs). Where `ds` is infinite or NaN, at a point
//! where a primitive has no derivative, the skipped product is zero instead
//! of NaN: the "strong zero" of `docs/conventions.md`.
//!
//! `f_jvp` and `f_jvp_lanes` are emitted from the same IR, so they skip the
//! same products and agree to the bit.

use std::collections::BTreeSet;

use crate::ir::{BinOp, Block, Class, Function, Inst, Lit, Op, UnOp, Value};
use crate::parse::Signature;

/// The fewest tangent operations a guard must skip to be worth its branch.
const MIN_SKIPPED: usize = 4;

/// Guards the JVP `f` of `sig`: its tangents are what lanes would carry
/// ([`crate::lanes::infer`]); nothing where those cannot be inferred.
pub fn jvp(f: &mut Function, sig: &Signature) {
    if let Some(tangent) = crate::lanes::infer(f, &crate::lanes::seeds(f, sig)) {
        guard(f, sig, tangent);
    }
}

/// Guards the reverse sweep of the VJP `f`, whose adjoints are the output
/// cotangents, what is read from gradient buffers, and what is computed
/// from them.
pub fn vjp(f: &mut Function, sig: &Signature) {
    let Some(pullback) = f.pullback else { return };
    let mut adjoint = vec![false; f.values.len()];
    for &p in &f.block(pullback).params {
        adjoint[p.index()] = true;
    }
    let mut changed = true;
    while changed {
        changed = false;
        f.walk(pullback, &mut |inst| {
            let d = f.inst(inst);
            let mut tie = |a: Value, b: Value| {
                if adjoint[a.index()] != adjoint[b.index()] {
                    adjoint[a.index()] = true;
                    adjoint[b.index()] = true;
                    changed = true;
                }
            };
            match &d.op {
                Op::If(_, then, els) => {
                    for (k, &r) in d.results.iter().enumerate() {
                        tie(r, f.block(*then).ret[k]);
                        tie(r, f.block(*els).ret[k]);
                    }
                }
                Op::For(_, init, body) => {
                    let b = f.block(*body);
                    for (k, &p) in b.params[1..].iter().enumerate() {
                        tie(p, init[k]);
                        tie(p, b.ret[k]);
                        tie(p, d.results[k]);
                    }
                }
                Op::While(init, cond, body) => {
                    let b = f.block(*body);
                    for (k, &r) in d.results.iter().enumerate() {
                        tie(b.params[k], init[k]);
                        tie(b.params[k], b.ret[k]);
                        tie(b.params[k], r);
                        tie(b.params[k], f.block(*cond).params[k]);
                    }
                }
                _ => {}
            }
            let from_adjoint = match &d.op {
                Op::Index(a, _) => adjoint[a.index()] || f.class(*a) == Class::Buffer,
                Op::Unary(..) | Op::Binary(..) | Op::Cast(..) | Op::CastLike(..) => {
                    d.op.operands().iter().any(|v| adjoint[v.index()])
                }
                Op::ApplyPullback(..) | Op::Own(_) | Op::OwnCopy(_) | Op::Zeros(..) => true,
                _ => false,
            };
            for &r in &d.results {
                if from_adjoint && !adjoint[r.index()] {
                    adjoint[r.index()] = true;
                    changed = true;
                }
            }
        });
    }
    guard(f, sig, adjoint);
}

/// Guards the products of derivatives by stored factors in `f`, a JVP or
/// VJP of `sig`: elements of the parameters outside `wrt`. Not in a
/// function generic over its scalar: at `Dual<f64>` a weight zero in value
/// may carry a tangent (a derivative with respect to the weight, taken
/// through the generated code) and still compares equal to zero.
fn guard(f: &mut Function, sig: &Signature, mut derivative: Vec<bool>) {
    if crate::parse::scalar_param().is_some() {
        return;
    }
    let offset = usize::from(sig.receiver.is_some());
    let params = &f.block(f.entry).params[offset..];
    let data: Vec<Value> = sig
        .params
        .iter()
        .zip(params)
        .filter(|(p, _)| !p.active)
        .map(|(_, &v)| v)
        .collect();
    for block in f.all_blocks() {
        let mut start = 0;
        while let Some(guarded) = next_guard(f, block, start, &derivative, &data) {
            let (after, result) = apply(f, block, &guarded);
            start = after;
            derivative.resize(f.values.len(), false);
            if let Some(r) = result {
                derivative[r.index()] = true;
            }
        }
    }
}

/// A product to guard and what moves with it into the branch.
struct Guarded {
    /// The primal factor.
    factor: Value,
    /// The product.
    product: Value,
    /// The instructions that move, in program order; the branch takes the
    /// place of the last.
    moved: Vec<Inst>,
    /// Whether everything the product feeds moved too (down to additions
    /// into buffers), so that the branch yields nothing.
    closed: bool,
}

/// The first product at or after position `start` of `block` worth
/// guarding.
fn next_guard(
    f: &Function,
    block: Block,
    start: usize,
    derivative: &[bool],
    data: &[Value],
) -> Option<Guarded> {
    let users = users(f);
    let insts = f.block(block).insts.clone();
    insts
        .iter()
        .enumerate()
        .skip(start)
        .find_map(|(_, &inst)| candidate(f, &insts, inst, derivative, data, &users))
}

/// Where each value is read: by instructions, or (`None`) as what a block
/// yields.
fn users(f: &Function) -> Vec<Vec<Option<Inst>>> {
    let mut users = vec![Vec::new(); f.values.len()];
    for b in f.all_blocks() {
        for &inst in &f.block(b).insts {
            for v in f.inst(inst).op.operands() {
                users[v.index()].push(Some(inst));
            }
        }
        for &v in &f.block(b).ret {
            users[v.index()].push(None);
        }
    }
    users
}

fn candidate(
    f: &Function,
    insts: &[Inst],
    inst: Inst,
    derivative: &[bool],
    data: &[Value],
    users: &[Vec<Option<Inst>>],
) -> Option<Guarded> {
    let d = f.inst(inst);
    let Op::Binary(BinOp::Mul, a, b) = d.op else {
        return None;
    };
    let product = *d.results.first()?;
    let is_d = |v: Value| derivative[v.index()];
    let factor = match (is_d(a), is_d(b)) {
        (true, false) => b,
        (false, true) => a,
        _ => return None,
    };
    // A factor read from data the caller passes or a constant table:
    // stored weights, where zeros are common.
    let stored = match f.def_op(factor) {
        Some(Op::Index(a, _)) => {
            let a = root(f, *a);
            data.contains(&a) || matches!(f.def_op(a), Some(Op::Extern(_)))
        }
        _ => false,
    };
    if !f.class(factor).differentiable() || !stored || !is_d(product) {
        return None;
    }
    // What the product alone feeds, if it all may move to the last of it;
    // else the branch yields the product.
    let (mut members, closed) = match downstream(f, insts, inst, product, users) {
        Some(members) => (members, true),
        None => (BTreeSet::from([inst]), false),
    };
    let last = insts.iter().rposition(|x| members.contains(x))?;
    let mut skipped = members.len() - 1;
    // Then what only the moved instructions read, back to front.
    for j in (0..last).rev() {
        let x = insts[j];
        // The factor is what the branch tests: it stays before it.
        if members.contains(&x) || !sinkable(f, x) || f.inst(x).results.contains(&factor) {
            continue;
        }
        let results = &f.inst(x).results;
        let only_here = results.iter().all(|r| {
            users[r.index()]
                .iter()
                .all(|u| u.is_some_and(|u| members.contains(&u)))
        });
        if only_here && !results.is_empty() && movable_to(f, insts, j, last, x, &members) {
            members.insert(x);
            if results.iter().any(|&r| is_d(r)) {
                skipped += 1;
            }
        }
    }
    if skipped < MIN_SKIPPED {
        return None;
    }
    let moved = insts
        .iter()
        .copied()
        .filter(|x| members.contains(x))
        .collect();
    Some(Guarded {
        factor,
        product,
        moved,
        closed,
    })
}

/// The product's instruction and every instruction of this block the
/// product alone feeds, if each of them is zero where the product is (a
/// product or quotient of it, a sum of such values, a negation), or adds
/// such a value into a buffer, and nothing else reads them; `None` where
/// the product's value reaches anything else, or where the additions may
/// not move down to the last of them.
fn downstream(
    f: &Function,
    insts: &[Inst],
    inst: Inst,
    product: Value,
    users: &[Vec<Option<Inst>>],
) -> Option<BTreeSet<Inst>> {
    let mut members = BTreeSet::from([inst]);
    let mut zero = BTreeSet::from([product]);
    let start = insts.iter().position(|&x| x == inst)?;
    // In program order, so that both terms of a sum are seen before it.
    for &u in &insts[start + 1..] {
        let op = &f.inst(u).op;
        let is_zero = |x: &Value| zero.contains(x);
        if !op.operands().iter().any(is_zero) {
            continue;
        }
        let zero_too = match op {
            Op::StoreAdd(buf, idx, x) | Op::Accum(buf, idx, x) => {
                is_zero(x) && !is_zero(buf) && !is_zero(idx)
            }
            Op::Binary(BinOp::Mul, x, y) => is_zero(x) || is_zero(y),
            Op::Binary(BinOp::Div, x, y) => is_zero(x) && !is_zero(y),
            Op::Binary(BinOp::Add | BinOp::Sub, x, y) => is_zero(x) && is_zero(y),
            Op::Unary(UnOp::Neg, x) | Op::Cast(x, _) | Op::CastLike(x, _) => is_zero(x),
            _ => false,
        };
        if !zero_too {
            return None;
        }
        members.insert(u);
        zero.extend(f.inst(u).results.iter().copied());
    }
    // Nothing outside: no block yields them, no nested block reads them.
    let contained = zero.iter().all(|v| {
        users[v.index()]
            .iter()
            .all(|u| u.is_some_and(|u| members.contains(&u)))
    });
    let last = insts.iter().rposition(|x| members.contains(x))?;
    let movable = insts
        .iter()
        .enumerate()
        .filter(|(_, x)| members.contains(x))
        .all(|(j, &x)| movable_to(f, insts, j, last, x, &members));
    (contained && movable).then_some(members)
}

/// Whether an instruction computes a value and nothing else: what may move
/// into a branch, or be skipped.
fn sinkable(f: &Function, inst: Inst) -> bool {
    matches!(
        f.inst(inst).op,
        Op::Lit(_)
            | Op::Unary(..)
            | Op::Binary(..)
            | Op::Cast(..)
            | Op::CastLike(..)
            | Op::Prim(..)
            | Op::Partials(..)
            | Op::Index(..)
            | Op::Len(_)
    )
}

/// The array an element read or write reaches, through views.
fn root(f: &Function, mut x: Value) -> Value {
    while let Some(Op::SubSlice(base, ..) | Op::Ref(base, _)) = f.def_op(x) {
        x = *base;
    }
    x
}

/// Whether the instruction `x`, at position `from`, may move down to
/// position `to`, past the instructions between that do not move with it.
fn movable_to(
    f: &Function,
    insts: &[Inst],
    from: usize,
    to: usize,
    x: Inst,
    members: &BTreeSet<Inst>,
) -> bool {
    let (reads, writes) = match &f.inst(x).op {
        Op::Index(a, _) | Op::Len(a) => (Some(root(f, *a)), None),
        Op::StoreAdd(a, ..) | Op::Accum(a, ..) => (None, Some(root(f, *a))),
        _ => (None, None),
    };
    if reads.is_none() && writes.is_none() {
        return true;
    }
    insts[from + 1..=to.max(from)]
        .iter()
        .filter(|y| !members.contains(y) && **y != x)
        .all(|&y| {
            let op = &f.inst(y).op;
            match op {
                Op::Store(a, ..)
                | Op::StoreAdd(a, ..)
                | Op::Accum(a, ..)
                | Op::Push(a, ..)
                | Op::ZeroAt(a, _) => {
                    let a = root(f, *a);
                    reads != Some(a) && writes != Some(a)
                }
                Op::Index(a, _) | Op::Len(a) => writes != Some(root(f, *a)),
                _ => sinkable(f, y) || matches!(op, Op::Ref(..) | Op::SubSlice(..)),
            }
        })
}

/// Moves the guarded instructions into `if factor != 0.0 { .. }`, which
/// takes the place of the last of them: the position after the branch,
/// and the tangent it gives, if any.
fn apply(f: &mut Function, block: Block, g: &Guarded) -> (usize, Option<Value>) {
    let span = f.span(g.product);
    let then = f.new_block();
    let els = f.new_block();
    for &m in &g.moved {
        f.insts[m.index()].block = then;
        f.block_mut(then).insts.push(m);
    }
    let zero = f.push(block, Op::Lit(Lit::float(0.0)), &[Class::Float], span);
    let cond = Op::Binary(BinOp::Ne, g.factor, f.inst(zero).results[0]);
    let cond = f.push(block, cond, &[Class::Bool], span);
    let branch = Op::If(f.inst(cond).results[0], then, els);
    let branch = f.push(block, branch, &[], span);
    let new = [zero, cond, branch];
    let last = g.moved[g.moved.len() - 1];
    let old = std::mem::take(&mut f.block_mut(block).insts);
    let mut insts = Vec::with_capacity(old.len());
    let mut after = 0;
    for x in old {
        if x == last {
            insts.extend(new);
            after = insts.len();
        } else if !g.moved.contains(&x) && !new.contains(&x) {
            insts.push(x);
        }
    }
    f.block_mut(block).insts = insts;
    if g.closed {
        return (after, None);
    }
    let class = f.class(g.product);
    let zero = f.push1(els, Op::Lit(Lit::float(0.0)), class, span);
    f.block_mut(then).ret.push(g.product);
    f.block_mut(els).ret.push(zero);
    let result = f.add_result(branch, class, span);
    let inside: BTreeSet<Block> = f.nested_blocks(then).into_iter().collect();
    for b in f.all_blocks() {
        if inside.contains(&b) {
            continue;
        }
        let swap = |v: Value| if v == g.product { result } else { v };
        for x in f.block(b).insts.clone() {
            f.insts[x.index()].op.map_operands(swap);
        }
        for v in &mut f.block_mut(b).ret {
            *v = swap(*v);
        }
    }
    (after, Some(result))
}
