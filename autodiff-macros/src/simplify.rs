//! Phase 6, simplify: algebraic identities, common subexpressions, dead
//! code. Symbolic zeros were already dropped while differentiating; what is
//! left to fold are the identities that seeding with 1 creates (`1 * x`) and
//! double negations. Only rewrites exact in IEEE arithmetic are made
//! (`x * 1 = x`, `-(-x) = x`; not `x + 0 = x`, which is wrong for `x = -0`).
//! One exception: adjoint loops whose iterations only add into gradient
//! buffers run forwards, which sums the contributions in another order.

use std::collections::HashMap;

use crate::ir::{BinOp, Block, Function, Inst, Op, UnOp, Value};

pub fn simplify(f: &mut Function) {
    fold_and_cse(f);
    dce(f);
    promote_accumulations(f);
    forward_order_free_loops(f);
}

/// Moves `g[k] += v` out of a loop when `k` is the same in every iteration
/// and the loop reads no part of `g`: the loop sums `v` in a carried value,
/// added into `g[k]` once after it. The matrix-vector adjoints of real code
/// (`gx[i] += l[idx] * gout[j]` in a loop over `j`) otherwise load and
/// store the same element in every iteration, a chain through memory that
/// cost GMM's gradient half its time at d = 64.
fn promote_accumulations(f: &mut Function) {
    while let Some((lp, acc)) = promotable(f) {
        let Op::For(_, _, body) = f.inst(lp).op.clone() else {
            return;
        };
        let Op::Accum(buf, k, v) = f.inst(acc).op.clone() else {
            return;
        };
        let span = f.span(v);
        let outer = f.inst(lp).block;
        let at = f
            .block(outer)
            .insts
            .iter()
            .position(|&i| i == lp)
            .unwrap_or(0);
        let zero = f.insert(
            outer,
            at,
            Op::Lit(crate::ir::Lit::float(0.0)),
            &[crate::ir::Class::Float],
            span,
        );
        let zero = f.inst(zero).results[0];
        let sum = f.add_param(body, crate::ir::Class::Float, span, None);
        f.insts[acc.index()].op = Op::Binary(BinOp::Add, sum, v);
        let next = f.add_result(acc, crate::ir::Class::Float, span);
        f.block_mut(body).ret.push(next);
        if let Op::For(_, init, _) = &mut f.insts[lp.index()].op {
            init.push(zero);
        }
        let total = f.add_result(lp, crate::ir::Class::Float, span);
        let at = f
            .block(outer)
            .insts
            .iter()
            .position(|&i| i == lp)
            .unwrap_or(0);
        f.insert(outer, at + 1, Op::Accum(buf, k, total), &[], span);
    }
}

/// A loop and an accumulation at the top of its body that
/// [`promote_accumulations`] can move out.
pub(crate) fn promotable(f: &Function) -> Option<(Inst, Inst)> {
    let mut found = None;
    for region in f.regions() {
        f.walk(region, &mut |i| {
            if found.is_some() {
                return;
            }
            let Op::For(_, _, body) = &f.inst(i).op else {
                return;
            };
            let inside = defined_in(f, *body);
            for &a in &f.block(*body).insts {
                if let Op::Accum(buf, k, _) = &f.inst(a).op
                    && !inside.contains(k)
                    && !inside.contains(buf)
                    && !reads_buffer(f, *body, root(f, *buf))
                {
                    found = Some((i, a));
                    return;
                }
            }
        });
    }
    found
}

/// The values defined in `block` and the blocks nested in it.
fn defined_in(f: &Function, block: Block) -> std::collections::BTreeSet<Value> {
    f.nested_blocks(block)
        .iter()
        .flat_map(|&b| {
            let data = f.block(b);
            data.params
                .iter()
                .copied()
                .chain(data.insts.iter().flat_map(|&i| f.inst(i).results.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The buffer a view of a buffer is part of.
fn root(f: &Function, mut x: Value) -> Value {
    while let Some(Op::SubSlice(base, ..)) = f.def_op(x) {
        x = *base;
    }
    x
}

/// Whether `block` reads, clears, lends or copies any part of the buffer
/// `buf`.
fn reads_buffer(f: &Function, block: Block, buf: Value) -> bool {
    let mut reads = false;
    f.walk(block, &mut |i| {
        reads |= match &f.inst(i).op {
            Op::Accum(..) => false,
            op => op
                .operands()
                .iter()
                .any(|&v| f.class(v) == crate::ir::Class::Buffer && root(f, v) == buf),
        };
    });
    reads
}

/// Runs forwards the reversed loops whose iterations may run in any order
/// ([`order_free`]) and carry nothing that changes: the adjoint loops that
/// only add into gradient buffers, which LLVM vectorises better forwards (a
/// reversed `gw[j] += x[j] * g` ran at half the speed). The sums come out
/// in a different order: the same up to rounding.
fn forward_order_free_loops(f: &mut Function) {
    let mut flip = Vec::new();
    for region in f.regions() {
        f.walk(region, &mut |i| {
            if let Op::For(range, _, body) = &f.inst(i).op
                && range.adapters.last() == Some(&crate::ir::Adapter::Rev)
                && carries_sums(f, *body)
                && order_free(f, *body)
            {
                flip.push(i);
            }
        });
    }
    for i in flip {
        if let Op::For(range, ..) = &mut f.insts[i.index()].op {
            range.adapters.pop();
        }
    }
}

/// Whether each value a loop carries is either the same in every
/// iteration or a sum (`g + v`, `g` used nowhere else): in another order of
/// iterations, the same up to rounding.
fn carries_sums(f: &Function, body: Block) -> bool {
    let data = f.block(body);
    let mut uses = HashMap::new();
    for b in f.nested_blocks(body) {
        for &i in &f.block(b).insts {
            for v in f.inst(i).op.operands() {
                *uses.entry(v).or_insert(0) += 1;
            }
        }
        for &v in &f.block(b).ret {
            *uses.entry(v).or_insert(0) += 1;
        }
    }
    data.params[1..].iter().zip(&data.ret).all(|(&p, &y)| {
        if p == y {
            return true;
        }
        let sum = matches!(f.def_op(y), Some(Op::Binary(BinOp::Add, a, b)) if *a == p || *b == p);
        sum && f.block_of(y) == body && uses.get(&p) == Some(&1)
    })
}

/// Whether the iterations of a reverse loop body are independent of their
/// order: they add into gradient buffers (`Accum`), read or clear a buffer
/// only at the loop's index when they touch it there alone, pop nothing
/// from a tape made outside them, write no array made outside them, and
/// call nothing.
pub fn order_free(f: &Function, body: Block) -> bool {
    let index = f.block(body).params[0];
    // The buffers read or cleared (at the index, through no view): every
    // access to them must be at the index.
    let mut read = std::collections::BTreeSet::new();
    let mut ok = true;
    f.walk(body, &mut |i| match &f.inst(i).op {
        Op::Index(x, j) | Op::ZeroAt(x, j) if f.class(*x) == crate::ir::Class::Buffer => {
            ok &= *j == index && !matches!(f.def_op(*x), Some(Op::SubSlice(..)));
            read.insert(*x);
        }
        _ => {}
    });
    let root = |mut x: Value| {
        while let Some(Op::SubSlice(base, ..)) = f.def_op(x) {
            x = *base;
        }
        x
    };
    f.walk(body, &mut |i| {
        if let Op::Accum(b, j, _) = &f.inst(i).op
            && read.contains(&root(*b))
        {
            ok &= *j == index && root(*b) == *b;
        }
    });
    if !ok {
        return false;
    }
    let inside = defined_in(f, body);
    let (mut free, mut adds) = (true, false);
    f.walk(body, &mut |i| {
        adds |= matches!(f.inst(i).op, Op::Accum(..));
        free &= match &f.inst(i).op {
            // (Checked above.)
            Op::Index(..) | Op::ZeroAt(..) => true,
            Op::TapePop(t) | Op::TapePush(t, _) => inside.contains(t),
            Op::Store(a, ..) | Op::StoreAdd(a, ..) | Op::Push(a, ..) => inside.contains(a),
            // (A call may have effects whose order shows.)
            Op::Call(..) | Op::Effect(..) => false,
            Op::UndoTo(..)
            | Op::Save(..)
            | Op::Restore(..)
            | Op::SaveAll(..)
            | Op::RestoreAll(..)
            | Op::SaveRange(..)
            | Op::SkipSavesIf(..)
            | Op::AccumAll(..)
            | Op::ApplyPullback(..)
            | Op::CallPullback(..)
            | Op::CallJvp(..)
            | Op::Own(_)
            | Op::OwnCopy(_)
            | Op::TapeLen(_) => false,
            _ => true,
        };
    });
    free && adds
}

/// One pass in program order: rewrite each operand to its replacement, then
/// replace the instruction's result if it is an identity or repeats an
/// earlier instruction visible from here (in this block or an enclosing
/// one; the pullback block is nested in the entry block).
fn fold_and_cse(f: &mut Function) {
    let mut subst: Vec<Value> = (0..f.values.len()).map(|i| f.value(i)).collect();
    let mut scopes: Vec<HashMap<Op, Value>> = Vec::new();
    let pullback = f.pullback;
    visit(f, f.entry, pullback, &mut subst, &mut scopes);
}

fn visit(
    f: &mut Function,
    block: Block,
    then: Option<Block>,
    subst: &mut [Value],
    scopes: &mut Vec<HashMap<Op, Value>>,
) {
    scopes.push(HashMap::new());
    for inst in f.block(block).insts.clone() {
        let mut op = f.inst(inst).op.clone();
        op.map_operands(|v| subst[v.index()]);
        f.insts[inst.index()].op = op.clone();
        for child in op.blocks() {
            visit(f, child, None, subst, scopes);
        }
        let results = &f.inst(inst).results;
        if results.len() != 1 || !is_pure(f, &op) {
            continue;
        }
        let r = results[0];
        if let Some(v) = identity(f, &op) {
            subst[r.index()] = v;
            continue;
        }
        match scopes.iter().rev().find_map(|s| s.get(&op)) {
            Some(&v) => subst[r.index()] = v,
            None => {
                if let Some(top) = scopes.last_mut() {
                    top.insert(op, r);
                }
            }
        }
    }
    substitute_ret(f, block, subst);
    if let Some(next) = then {
        visit(f, next, None, subst, scopes);
    }
    scopes.pop();
}

/// The value `op` is equal to without computing anything, if any.
fn identity(f: &Function, op: &Op) -> Option<Value> {
    let is_one = |v: Value| f.literal(v).and_then(|l| l.float_value()) == Some(1.0);
    match op {
        Op::Binary(BinOp::Mul, a, b) if is_one(*a) && f.class(*b) == f.class(*a) => Some(*b),
        Op::Binary(BinOp::Mul, a, b) if is_one(*b) && f.class(*b) == f.class(*a) => Some(*a),
        Op::Binary(BinOp::Div, a, b) if is_one(*b) => Some(*a),
        Op::Unary(UnOp::Neg, a) => match f.def_op(*a) {
            Some(Op::Unary(UnOp::Neg, inner)) => Some(*inner),
            _ => None,
        },
        _ => None,
    }
}

/// Whether two instances of `op` with the same operands give the same value
/// and can share one evaluation. Calls are left alone (the user wrote them),
/// as is everything with state or blocks, and reads of a gradient buffer
/// (which changes as the reverse sweep runs).
fn is_pure(f: &Function, op: &Op) -> bool {
    !matches!(
        op,
        Op::Call(..)
            | Op::Effect(..)
            | Op::CallJvp(..)
            | Op::CallPullback(..)
            | Op::ApplyPullback(..)
            | Op::If(..)
            | Op::For(..)
            | Op::While(..)
            | Op::TapeNew(_)
            | Op::TapePush(..)
            | Op::TapePop(_)
            | Op::Zeros(..)
            | Op::Accum(..)
            | Op::NewArray(..)
            | Op::Store(..)
            | Op::StoreAdd(..)
            | Op::Push(..)
            | Op::ZeroAt(..)
            | Op::Own(_)
            | Op::OwnCopy(_)
            | Op::Save(..)
            | Op::Restore(..)
            | Op::TapeLen(_)
            | Op::UndoTo(..)
            | Op::SaveAll(..)
            | Op::RestoreAll(..)
            | Op::SkipSavesIf(..)
            | Op::SaveRange(..)
            | Op::CloneArray(_)
            | Op::AccumAll(..)
    ) && !matches!(op, Op::Index(x, _) | Op::Ref(x, _) | Op::SubSlice(x, ..)
        // Sequences that are written: buffers, arrays, `&mut` data.
        if matches!(f.class(*x), crate::ir::Class::Buffer | crate::ir::Class::Array | crate::ir::Class::Ref))
}

/// Removes instructions that neither make a value something reads nor
/// change state something reads: an accumulation into a gradient buffer
/// stays, a push stays while its tape is popped. The pullback block comes
/// after the entry block, so every pop is seen before its push.
///
/// Liveness is marked to a fixed point before anything is removed: in a
/// loop, a write late in the body is read by a read early in the next
/// iteration (`s += w[0]; w[i] = a;`), which one backward pass sees only
/// after it has passed the write.
fn dce(f: &mut Function) {
    let mut live = vec![false; f.values.len()];
    // What is written into an output parameter is read by the caller.
    for &p in &f.block(f.entry).params {
        if f.class(p) == crate::ir::Class::Array {
            live[p.index()] = true;
        }
    }
    let regions = f.regions();
    let reverse = f.pullback.map(|pb| f.nested_blocks(pb)).unwrap_or_default();
    loop {
        let before = live.clone();
        for &block in regions.iter().rev() {
            dce_block(f, block, &mut live, false, &reverse);
        }
        if live == before {
            break;
        }
    }
    for &block in regions.iter().rev() {
        dce_block(f, block, &mut live, true, &reverse);
    }
}

/// Marks what `block` needs live; with `sweep`, also removes what it does
/// not need.
fn dce_block(f: &mut Function, block: Block, live: &mut [bool], sweep: bool, reverse: &[Block]) {
    for &v in &f.block(block).ret {
        live[v.index()] = true;
    }
    let insts = f.block(block).insts.clone();
    let mut kept = Vec::with_capacity(insts.len());
    for &inst in insts.iter().rev() {
        let d = f.inst(inst);
        let needed =
            d.results.iter().any(|r| live[r.index()]) || has_live_effect(f, inst, live, reverse);
        if !needed {
            continue;
        }
        for v in d.op.operands() {
            live[v.index()] = true;
        }
        for child in d.op.blocks() {
            dce_block(f, child, live, sweep, reverse);
        }
        kept.push(inst);
    }
    if sweep {
        kept.reverse();
        f.block_mut(block).insts = kept;
    }
}

/// Whether `inst`, or an instruction in a block it owns, changes state that
/// is read: a gradient buffer, or a tape something pops.
///
/// A call the primal makes for its effect (a check, a log line, a
/// counter: its value is dropped, [`crate::ir::Callee::effect`]) is kept
/// outside the reverse sweep, so that every sibling makes it once, as the
/// primal does; its copies in the reverse sweep's recomputations are not,
/// so that it does not run twice.
fn has_live_effect(f: &Function, inst: Inst, live: &[bool], reverse: &[Block]) -> bool {
    let effect = |i: Inst| match &f.inst(i).op {
        Op::Accum(..) | Op::ZeroAt(..) | Op::AccumAll(..) => true,
        Op::Call(c, _) if c.effect && !reverse.contains(&f.inst(i).block) => true,
        Op::Effect(..) => !reverse.contains(&f.inst(i).block),
        // A callee adds into the buffers it is lent.
        Op::ApplyPullback(_, _, _, sinks) => !sinks.is_empty(),
        Op::Store(a, ..) | Op::StoreAdd(a, ..) | Op::Push(a, ..) => live[a.index()],
        // Putting an array back matters while it is read afterwards.
        Op::Save(_, a, _)
        | Op::Restore(_, a)
        | Op::UndoTo(_, a, _)
        | Op::SaveAll(_, a, _)
        | Op::SaveRange(_, a, ..)
        | Op::RestoreAll(_, a, _) => live[a.index()],
        Op::TapePush(tape, _) | Op::SkipSavesIf(tape, ..) => live[tape.index()],
        // A call writes the arrays lent to it mutably.
        Op::Call(_, args) | Op::CallPullback(_, args) | Op::CallJvp(_, args, _) => f
            .inst(i)
            .op
            .operands()
            .iter()
            .chain(args)
            .any(|&v| matches!(f.lent_mutably(v), Some(base) if live[base.index()])),
        _ => false,
    };
    if effect(inst) {
        return true;
    }
    f.inst(inst).op.blocks().into_iter().any(|b| {
        let mut found = false;
        f.walk(b, &mut |i| found |= effect(i));
        found
    })
}

/// Replaces the pullback's parameters (the output cotangents) by the
/// literal 1, for the gradient of a scalar function; `simplify` then folds
/// the multiplications by one away.
pub fn seed_with_one(f: &mut Function) {
    let Some(pb) = f.pullback else { return };
    let params = std::mem::take(&mut f.block_mut(pb).params);
    let mut subst: Vec<Value> = (0..f.values.len()).map(|i| f.value(i)).collect();
    let n = params.len();
    for p in params {
        let one = f.push1(
            pb,
            Op::Lit(crate::ir::Lit::float(1.0)),
            f.class(p),
            f.span(p),
        );
        subst[p.index()] = one;
    }
    // The literals were appended; they must come first.
    f.block_mut(pb).insts.rotate_right(n);
    for block in f.nested_blocks(pb) {
        for inst in f.block(block).insts.clone() {
            let mut op = f.inst(inst).op.clone();
            op.map_operands(|v| subst[v.index()]);
            f.insts[inst.index()].op = op;
        }
        substitute_ret(f, block, &subst);
    }
}

/// Rewrites what `block` yields by `subst`.
fn substitute_ret(f: &mut Function, block: Block, subst: &[Value]) {
    let ret = f
        .block(block)
        .ret
        .iter()
        .map(|v| subst[v.index()])
        .collect();
    f.block_mut(block).ret = ret;
}
