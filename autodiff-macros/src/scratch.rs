//! Phase 5c (used by [`crate::vjp`]), scratch arrays: which written arrays
//! the reverse sweep need not put back.
//!
//! The reverse sweep recomputes a region (a loop iteration, an arm) from
//! the state it started in, and a callee's pullback reads the arrays it is
//! lent again; so an array the function writes and reads back normally has
//! each write save the old element, for the reverse sweep to restore.
//!
//! A *scratch* array needs none of that. It is local, every access to it
//! lies in one region, and that region
//!
//! 1. starts by overwriting it completely before reading any of it (it is
//!    *killed*): stores `a[0] = ..`, `a[1] = ..` and loops `for i in
//!    c..hi { a[i] = ..; .. }` covering `0..a.len()` in order, or a call
//!    that fills it (below);
//! 2. then only reads it.
//!
//! Recomputing the region rewrites the array from values that are put back
//! already, and between the write and the last read nothing changes it; so
//! no old element is ever needed. For GMM's `xcentered`, `qxcentered` and
//! `main_term`, rewritten for every data point and component, this takes
//! the tape from 16 bytes per write to nothing.
//!
//! Calls: a function's `__f_fills` constant says, for each `&mut` float
//! parameter, when a call overwrites it completely before reading it:
//! `Some(m)` when its length equals the measure of parameter `m` (the
//! length of a slice, the value of an integer), `None` when that is not
//! shown. The caller knows which of its arguments have the array's length
//! (`vec![0.0; n]` and `&x` with `n = x.len()`), and keeps the array's old
//! values only when the callee's constant does not name one of them: a test
//! on constants, which rustc folds.

use std::collections::{BTreeSet, HashMap};

use crate::ir::{Block, Callee, Class, Function, Inst, Op, Value};

/// How a scratch array is killed: by its own stores (no condition), or by a
/// call whose `fills` constant must name one of the `candidates`.
#[derive(Clone, Debug, PartialEq)]
pub enum Kill {
    Stores,
    Call {
        callee: Callee,
        /// The position of the array among the callee's parameters.
        param: usize,
        /// The positions of the arguments whose measure is the array's
        /// length.
        candidates: Vec<usize>,
    },
}

/// The scratch arrays of `f` and how each is killed.
pub fn scratch_arrays(f: &Function) -> HashMap<Value, Kill> {
    let mut out = HashMap::new();
    f.walk(f.entry, &mut |inst| {
        if let (Op::NewArray(..), [a]) = (&f.inst(inst).op, f.inst(inst).results.as_slice())
            && let Some(kill) = scratch(f, *a)
        {
            out.insert(*a, kill);
        }
    });
    out
}

/// The local arrays written first and read after: made at the top level of
/// `f`, then only stored to by element (`a[i] = ..`, `a[i] += ..`, in
/// loops and branches that do not read it), then only read (`a[i]`,
/// `a.len()`, lent read-only), in the order of the function's top-level
/// statements: the skinned vertices accumulated over every bone, then
/// read. The reverse sweep undoes the reading statements first, while the
/// array holds its final values, and the writing ones never read it: no
/// old element is ever needed, and the writes need not be recomputed.
pub fn written_then_read(f: &Function) -> BTreeSet<Value> {
    let top = &f.block(f.entry).insts;
    let mut out = BTreeSet::new();
    for (k, &inst) in top.iter().enumerate() {
        let (Op::NewArray(..), [a]) = (&f.inst(inst).op, f.inst(inst).results.as_slice()) else {
            continue;
        };
        let alias = aliases(f, *a);
        let mut reading = false;
        let ok = top[k + 1..].iter().all(|&later| {
            let (mut writes, mut reads, mut other) = (false, false, false);
            visit(f, later, &mut |x| match &f.inst(x).op {
                Op::Store(y, i, v) | Op::StoreAdd(y, i, v) if alias.contains(y) => {
                    writes = true;
                    other |= alias.contains(i) || alias.contains(v);
                }
                Op::Index(y, _) | Op::Len(y) | Op::Ref(y, false) if alias.contains(y) => {
                    reads = true
                }
                // Lent read-only to a callee.
                Op::Call(_, args) if args.iter().any(|v| alias.contains(v)) => {
                    reads = true;
                    other |= args
                        .iter()
                        .any(|&v| alias.contains(&v) && (v == *a || f.lent_mutably(v).is_some()));
                }
                op => other |= op.operands().iter().any(|v| alias.contains(v)),
            });
            reading |= reads;
            !(other || writes && reading)
        });
        if ok {
            out.insert(*a);
        }
    }
    out
}

/// For each parameter of `f` (the receiver aside), how a call fills it:
/// the parameter whose measure must be its length.
pub fn fills(f: &Function, receiver: bool) -> Vec<Option<usize>> {
    let params = &f.block(f.entry).params[usize::from(receiver)..];
    params
        .iter()
        .map(|&p| {
            if f.class(p) != Class::Array {
                return None;
            }
            let (covered, _) = killed_at_start(f, f.entry, p, &aliases(f, p))?;
            let Covered::Upto(hi) = covered else {
                return None;
            };
            let hi = canonical(f, hi);
            params.iter().position(|&q| measure(f, q) == Some(hi))
        })
        .collect()
}

/// Whether `a` is a scratch array, and how it is killed.
fn scratch(f: &Function, a: Value) -> Option<Kill> {
    let alias = aliases(f, a);
    // Never yielded by a block (returned, or carried out of a branch).
    let yielded = f
        .nested_blocks(f.entry)
        .iter()
        .any(|&b| f.block(b).ret.iter().any(|v| alias.contains(v)));
    if yielded {
        return None;
    }
    // The innermost block holding every access.
    let mut touching = BTreeSet::new();
    f.walk(f.entry, &mut |i| {
        if touches_here(f, i, &alias) {
            touching.insert(f.inst(i).block);
        }
    });
    // (Blocks come outer first: the last one holding them all is the
    // innermost.)
    let made_in = f.block_of(a);
    let region = f.nested_blocks(made_in).into_iter().rev().find(|&r| {
        let inside = f.nested_blocks(r);
        touching.iter().all(|b| inside.contains(b))
    })?;
    let (covered, rest) = killed_at_start(f, region, a, &alias)?;
    let kill = match covered {
        Covered::Upto(hi) if Some(canonical(f, hi)) == measure(f, a) => Kill::Stores,
        Covered::ByCall(kill) => kill,
        _ => return None,
    };
    // After the kill, only reads.
    let writes = rest.iter().any(|&i| {
        let mut w = false;
        visit(f, i, &mut |j| w |= writes_here(f, j, &alias));
        w
    });
    (!writes).then_some(kill)
}

/// What the first accesses of a region have overwritten.
enum Covered {
    /// `a[0..hi]`, `hi` a value of the function.
    Upto(Value),
    /// Everything, if the callee fills it.
    ByCall(Kill),
}

/// Whether the first accesses to `a` in `block` (at its top level)
/// overwrite it from index 0 up, before any read: what they cover, and the
/// instructions after them.
fn killed_at_start(
    f: &Function,
    block: Block,
    a: Value,
    alias: &BTreeSet<Value>,
) -> Option<(Covered, Vec<Inst>)> {
    let insts = &f.block(block).insts;
    // `None`: nothing yet; a literal count, or a value.
    let mut lit_covered: Option<u128> = Some(0);
    let mut covered: Option<Value> = None;
    for (k, &inst) in insts.iter().enumerate() {
        let mut touched = false;
        visit(f, inst, &mut |j| touched |= touches_here(f, j, alias));
        if !touched {
            continue;
        }
        let rest = || insts[k + 1..].to_vec();
        let done = |c: Covered, k: usize| Some((c, insts[k + 1..].to_vec()));
        match &f.inst(inst).op {
            // `a[c] = v` with `c` the count so far.
            Op::Store(x, i, v) if *x == a && !alias.contains(v) => {
                let c = int_literal(f, *i)?;
                if lit_covered != Some(c) {
                    return None;
                }
                lit_covered = Some(c + 1);
                covered = None;
            }
            Op::For(range, _, body) => {
                if !range.adapters.is_empty() || range.inclusive {
                    return None;
                }
                let starts_at_count = match (int_literal(f, range.lo), lit_covered, covered) {
                    (Some(lo), Some(c), _) => lo == c,
                    (_, _, Some(c)) => canonical(f, range.lo) == canonical(f, c),
                    _ => false,
                };
                if !starts_at_count || !fills_by_index(f, *body, a, alias) {
                    return None;
                }
                lit_covered = None;
                covered = Some(range.hi);
            }
            Op::Call(callee, args) if !callee.method => {
                let args = callee.active_args(args);
                let lent: Vec<usize> = (0..args.len())
                    .filter(|&j| alias.contains(&args[j]))
                    .collect();
                let [param] = lent[..] else { return None };
                if !matches!(f.def_op(args[param]), Some(Op::Ref(x, true)) if *x == a)
                    || lit_covered != Some(0)
                {
                    return None;
                }
                let len = measure(f, a)?;
                let candidates = (0..args.len())
                    .filter(|&j| measure(f, args[j]) == Some(len))
                    .collect();
                let kill = Kill::Call {
                    callee: callee.clone(),
                    param,
                    candidates,
                };
                return done(Covered::ByCall(kill), k);
            }
            _ => return None,
        }
        if let Some(c) = covered {
            // Covered up to a value: done when that is the whole array (a
            // later store could not go on from it).
            if Some(canonical(f, c)) == measure(f, a) || measure(f, a).is_none() {
                return Some((Covered::Upto(c), rest()));
            }
        }
    }
    covered.map(|c| (Covered::Upto(c), vec![]))
}

/// Whether a loop body writes `a[i]`, `i` its index, unconditionally (at
/// its top level), and touches `a` nowhere else.
fn fills_by_index(f: &Function, body: Block, a: Value, alias: &BTreeSet<Value>) -> bool {
    let index = f.block(body).params[0];
    let mut stores = 0;
    let mut others = 0;
    for &inst in &f.block(body).insts {
        match &f.inst(inst).op {
            Op::Store(x, i, v) if *x == a && *i == index && !alias.contains(v) => stores += 1,
            _ => visit(f, inst, &mut |j| {
                others += usize::from(touches_here(f, j, alias));
            }),
        }
    }
    stores == 1 && others == 0
}

/// `a` and the views of it (`&a`, `&mut a`, `&a[x..y]`).
fn aliases(f: &Function, a: Value) -> BTreeSet<Value> {
    let mut out = BTreeSet::from([a]);
    // Views are made after what they view: one pass in definition order.
    for d in &f.insts {
        if let (Op::Ref(x, _) | Op::SubSlice(x, ..), [r]) = (&d.op, d.results.as_slice())
            && out.contains(x)
        {
            out.insert(*r);
        }
    }
    out
}

/// Calls `visit` on `inst` and every instruction nested in it.
fn visit(f: &Function, inst: Inst, visit_one: &mut impl FnMut(Inst)) {
    visit_one(inst);
    for b in f.inst(inst).op.blocks() {
        f.walk(b, visit_one);
    }
}

/// Whether the instruction itself (not what is nested in it) reads or
/// writes the array through one of its aliases. Making a view is not an
/// access; using it is.
fn touches_here(f: &Function, inst: Inst, alias: &BTreeSet<Value>) -> bool {
    let op = &f.inst(inst).op;
    if matches!(op, Op::Ref(..) | Op::SubSlice(..) | Op::Len(..)) {
        return false;
    }
    op.operands().iter().any(|v| alias.contains(v))
}

/// Whether the instruction itself writes the array.
fn writes_here(f: &Function, inst: Inst, alias: &BTreeSet<Value>) -> bool {
    match &f.inst(inst).op {
        Op::Store(x, ..) | Op::StoreAdd(x, ..) | Op::Push(x, ..) => alias.contains(x),
        Op::Call(c, args) => c
            .active_args(args)
            .iter()
            .any(|&v| alias.contains(&v) && f.lent_mutably(v).is_some()),
        _ => false,
    }
}

/// The value an integer literal holds (`3`, `3usize`, `1_000`).
fn int_literal(f: &Function, v: Value) -> Option<u128> {
    let text = &f.literal(v)?.text;
    let digits: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .filter(|&c| c != '_')
        .collect();
    digits.parse().ok()
}

/// A length as the function computes it: `x.len()` of a view is the
/// measure of what it views.
fn canonical(f: &Function, v: Value) -> Value {
    match f.def_op(v) {
        Some(Op::Len(x)) => measure(f, *x).unwrap_or(v),
        _ => v,
    }
}

/// What stands for the length of a sequence (or the value of an integer),
/// as a value of the function: `n` for `vec![0.0; n]`, the (one, after
/// common subexpressions) `x.len()` of a slice `x`.
fn measure(f: &Function, v: Value) -> Option<Value> {
    match f.def_op(v) {
        Some(Op::Ref(x, _)) => measure(f, *x),
        Some(Op::NewArray(_, crate::ir::ArrayShape::Vec(n))) => Some(canonical(f, *n)),
        _ if f.class(v) == Class::Int => Some(canonical(f, v)),
        _ if f.class(v).is_sequence() || f.class(v) == Class::Array => f
            .insts
            .iter()
            .find(|d| d.op == Op::Len(v))
            .map(|d| d.results[0]),
        _ => None,
    }
}
