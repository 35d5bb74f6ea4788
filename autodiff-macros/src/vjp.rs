//! Phase 5b, differentiate in reverse mode (VJP).
//!
//! The result has two regions. The entry block is the forward sweep: the
//! primal, where each active call asks the callee for its pullback (split
//! mode: the callee's primal runs once), and each loop pushes its carried
//! values on a tape, one typed tape per value. The pullback block is the
//! reverse sweep: its parameters are the output cotangents; it walks the
//! instructions backwards accumulating adjoints and returns one gradient per
//! active argument (a buffer, for a slice).
//!
//! Structured control flow is reversed structurally:
//!
//! - a branch becomes a branch on the same condition, whose arms recompute
//!   the primal arm, run its adjoint, and yield the adjoints of the values
//!   from outside the arm they changed;
//! - a loop becomes a loop over the same indices backwards, which pops the
//!   carried values of the iteration from the tapes, recomputes the body
//!   from them, runs its adjoint, and carries the adjoints of the carried
//!   values and of the outside values the body reads.
//!
//! So the reverse sweep keeps only what it cannot recompute: the values a
//! loop overwrites, and the results of expensive primitives in loop bodies.
//! Dead code elimination then drops every tape whose values the adjoint does
//! not read (a sum's accumulator, say), and the recomputed instructions the
//! adjoint does not need.
//!
//! Arrays the function writes: the reverse of a write reads the element's
//! cotangent from the array's gradient buffer (for a returned array, the
//! output cotangent itself) and, for `=`, zeroes it. An array that is only
//! written is not written again by recomputation. One that is read back has
//! each write save the old element on the array's tape, and each write's
//! reverse restore it; a loop iteration or a branch marks the tape where its
//! writes start, and its reverse region undoes back to the mark before
//! recomputing, so that reads see the array as it was.

use std::collections::{BTreeSet, HashMap};

use proc_macro2::{Literal, Span, TokenStream};

use crate::activity::Activity;
use crate::builder::{Builder, Deriv, derived_name};
use crate::ir::{BinOp, Block, Class, Function, Inst, Lit, Op, Tokens, UnOp, Value};
use crate::primitives::Prim;
use crate::scratch::Kill;

/// The results of the expensive primitives at the top of a loop body.
fn expensive_values(primal: &Function, body: Block) -> Vec<Value> {
    primal
        .block(body)
        .insts
        .iter()
        .filter_map(|&i| {
            let d = primal.inst(i);
            match (&d.op, d.results.as_slice()) {
                (Op::Prim(p, _), [r]) if !p.is_cheap() => Some(*r),
                (Op::Binary(BinOp::Rem, ..), [r]) if primal.class(*r) == Class::Float => Some(*r),
                _ => None,
            }
        })
        .collect()
}

/// The arrays the function reads after writing them. Their old values are
/// saved on each write, so that the reverse sweep can put them back; they
/// must be made at the top of the function, with a fixed length.
fn read_back_arrays(primal: &Function) -> syn::Result<BTreeSet<Value>> {
    let read = read_arrays(primal);
    for &a in &read {
        let param = matches!(primal.def(a), crate::ir::ValueDef::Param(..));
        if !param && !matches!(primal.def_op(a), Some(Op::NewArray(..))) {
            return Err(syn::Error::new(
                primal.span(a),
                "#[differentiable] reads back the arrays it makes only (`vec![c; n]`, `[c; N]`, \
                 `Vec::with_capacity(n)`); make a local array and write its elements",
            ));
        }
    }
    Ok(read)
}

/// The arrays the function writes that it also reads: by indexing, or
/// lent to a callee.
pub fn read_arrays(primal: &Function) -> BTreeSet<Value> {
    let mut read = BTreeSet::new();
    primal.walk(primal.entry, &mut |i| match &primal.inst(i).op {
        Op::Index(a, _) | Op::Ref(a, _) if primal.class(*a) == Class::Array => {
            read.insert(*a);
        }
        Op::Call(c, args) => read.extend(c.written_data(primal, args)),
        _ => {}
    });
    read
}

/// The arrays and data a call writes.
fn call_writes(primal: &Function, op: &Op) -> Vec<Value> {
    match op {
        Op::Call(c, args) => {
            let mut w = c.written_arrays(primal, args);
            w.extend(c.written_data(primal, args));
            w
        }
        _ => vec![],
    }
}

/// The loops whose writes to a read-back array are saved all at once: a
/// `for i in lo..hi` whose body touches the array only at index `i`, at
/// its top level, reading `a[i]` (if at all) before writing it. Iteration
/// `i` is then the only one to touch element `i`, so the old values of
/// `a[lo..hi]`, saved before the loop and put back before its reverse,
/// serve every reverse iteration: no save, mark or restore per iteration,
/// and the reverse iteration does not write the array again (RK4's
/// `y_tmp[i] = ..` and `y[i] += ..`). Scratch arrays need no saving at all
/// and are left out.
fn snapshot_loops(
    primal: &Function,
    read_back: &BTreeSet<Value>,
    scratch: &HashMap<Value, Kill>,
) -> BTreeSet<(Block, Value)> {
    let mut out = BTreeSet::new();
    primal.walk(primal.entry, &mut |inst| {
        let Op::For(range, _, body) = &primal.inst(inst).op else {
            return;
        };
        if range.inclusive || !range.adapters.is_empty() {
            return;
        }
        let index = primal.block(*body).params[0];
        for &a in read_back {
            if scratch.contains_key(&a) {
                continue;
            }
            // Every access at the top level, at index `i`, reads first.
            let mut nested = false;
            for &b in &primal.nested_blocks(*body)[1..] {
                for &i in &primal.block(b).insts {
                    nested |= primal.inst(i).op.operands().contains(&a);
                }
            }
            let mut written = false;
            let mut ok = !nested;
            for &i in &primal.block(*body).insts {
                let op = &primal.inst(i).op;
                match op {
                    Op::Index(x, j) if *x == a => ok &= *j == index && !written,
                    Op::Store(x, j, v) | Op::StoreAdd(x, j, v) if *x == a => {
                        ok &= *j == index && *v != a;
                        written = true;
                    }
                    _ => ok &= !op.operands().contains(&a),
                }
            }
            if ok && written {
                out.insert((*body, a));
            }
        }
    });
    out
}

/// The carried integers of a loop that change by the same amount in every
/// iteration (`k += 1`, `idx -= step`, or not at all), by body parameter:
/// the operation and the step (`None`: constant). The reverse loop
/// recomputes them backwards from their final value (`k - 1`), so they
/// need no tape: the counters of index arithmetic (`lparamsidx` in GMM's
/// `qtimesx`) cost nothing.
fn counters(primal: &Function, body: Block, skip: usize) -> HashMap<Value, Option<(BinOp, Value)>> {
    let data = primal.block(body);
    // Inside the loop: its body, and a `while`'s condition.
    let inside: Vec<Block> = primal
        .insts
        .iter()
        .find(|d| d.op.blocks().contains(&body))
        .map(|d| d.op.blocks())
        .unwrap_or_else(|| vec![body])
        .into_iter()
        .flat_map(|b| primal.nested_blocks(b))
        .collect();
    let invariant = |v: Value| primal.literal(v).is_some() || !inside.contains(&primal.block_of(v));
    let mut out = HashMap::new();
    for (&p, &y) in data.params[skip..].iter().zip(&data.ret) {
        if primal.class(p) != Class::Int {
            continue;
        }
        if y == p {
            out.insert(p, None);
            continue;
        }
        // The update at the top level of the body: it runs every time.
        let Some(Op::Binary(op, a, b)) = primal.def_op(y) else {
            continue;
        };
        if primal.block_of(y) != body {
            continue;
        }
        match (op, *a == p, *b == p) {
            (BinOp::Add, true, false) if invariant(*b) => {
                out.insert(p, Some((BinOp::Sub, *b)));
            }
            (BinOp::Add, false, true) if invariant(*a) => {
                out.insert(p, Some((BinOp::Sub, *a)));
            }
            (BinOp::Sub, true, false) if invariant(*b) => {
                out.insert(p, Some((BinOp::Add, *b)));
            }
            _ => {}
        }
    }
    out
}

/// When the pullback of a call puts the array `a` it writes back itself:
/// the callee's `__f_restores` for the parameter `a` is lent to (a free or
/// associated function's; a method's is not reached).
fn restores(
    primal: &Function,
    callee: &crate::ir::Callee,
    args: &[Value],
    a: Value,
) -> Option<crate::ir::Restores> {
    if callee.method {
        return None;
    }
    let param = callee
        .active_args(args)
        .iter()
        .position(|&v| primal.lent_mutably(v) == Some(a))?;
    Some(crate::ir::Restores {
        callee: callee.clone(),
        param,
    })
}

/// How a primal block is copied.
#[derive(Clone, Copy, PartialEq)]
enum Copy {
    /// The block whose adjoint follows in the same region: calls return
    /// pullbacks, loops record their carried values.
    Recording,
    /// A block nested in it: copied as it is, recomputed by its own reverse
    /// region when that needs it.
    Plain,
}

/// `array_lens[k]` is `Some(N)` when active parameter `k` is an array
/// `[T; N]`, whose gradient is an array too.
pub fn vjp(
    primal: &Function,
    active_params: &[Value],
    array_lens: &[Option<TokenStream>],
    act: &Activity,
) -> syn::Result<Function> {
    let n = primal.values.len();
    let mut v = Vjp {
        b: Builder::new(primal),
        act,
        adj: vec![None; n],
        pullbacks: HashMap::new(),
        tapes: HashMap::new(),
        buffers: vec![None; n],
        value_tapes: HashMap::new(),
        precomputed: BTreeSet::new(),
        trip_counts: HashMap::new(),
        array_buffers: HashMap::new(),
        recomputing: false,
        read_back: read_back_arrays(primal)?,
        seeded: BTreeSet::new(),
        remade: BTreeSet::new(),
        saved: HashMap::new(),
        loop_marks: HashMap::new(),
        if_marks: HashMap::new(),
        scratch: crate::scratch::scratch_arrays(primal),
        written_first: crate::scratch::written_then_read(primal),
        snapshots: BTreeSet::new(),
        range_marks: HashMap::new(),
        replaying: None,
    };
    let saved_arrays = v.read_back.difference(&v.written_first).copied().collect();
    v.snapshots = snapshot_loops(primal, &saved_arrays, &v.scratch);
    let read_back = v.read_back.clone();
    v.b.copy_params();
    let entry = v.b.f.entry;
    // An output parameter that is read back saves its old values too.
    for &p in &primal.block(primal.entry).params {
        if read_back.contains(&p) {
            let tape =
                v.b.f
                    .push1(entry, Op::TapeNew(None), Class::Tape, primal.span(p));
            v.b.f.names[tape.index()] = primal.name(p).map(|n| format!("old_{n}"));
            v.saved.insert(p, tape);
        }
    }
    v.copy_block(primal.entry, entry, Copy::Recording)?;
    let outputs = primal.block(primal.entry).ret.clone();
    // A read-back array is put back as it was by the reverse sweep: the
    // value returned is a copy.
    let mut returned = Vec::new();
    for &o in &outputs {
        let value = v.b.get(o);
        returned.push(if read_back.contains(&o) {
            v.b.f
                .push1(entry, Op::CloneArray(value), Class::Array, primal.span(o))
        } else {
            value
        });
    }
    v.b.f.block_mut(entry).ret = returned;

    let block = v.b.f.new_block();
    v.b.f.pullback = Some(block);
    v.b.block = block;
    for (i, &o) in outputs.iter().enumerate() {
        let name = if outputs.len() == 1 {
            "dr".to_string()
        } else {
            format!("dr{i}")
        };
        if primal.class(o) == Class::Array {
            // The cotangent of an array output is the buffer its writes read.
            let seed =
                v.b.f
                    .add_param(block, Class::Buffer, primal.span(o), Some(name));
            let buf =
                v.b.f
                    .push1(block, Op::Own(seed), Class::Buffer, primal.span(o));
            v.b.f.names[buf.index()] = derived_name("g", primal.name(o));
            v.array_buffers.insert(o, buf);
            v.seeded.insert(o);
            continue;
        }
        let seed =
            v.b.f
                .add_param(block, primal.class(o), primal.span(o), Some(name));
        if act.is_active(o) {
            if primal.class(o) == Class::Vector {
                // An array value's cotangent is its gradient buffer.
                v.add_into_buffer(o, seed, primal.span(o));
            } else {
                v.accumulate(o, Some(seed), primal.span(o));
            }
        }
    }
    // An output parameter's cotangent comes as a slice, copied once into
    // the buffer its writes read; one that is read too (in and out) lends
    // its buffer, which holds the cotangent of its initial value at the
    // end.
    for &p in &primal.block(primal.entry).params {
        if primal.class(p) == Class::Array {
            let name = derived_name("d", primal.name(p));
            if act.in_out.contains(&p) {
                let seed = v.b.f.add_param(block, Class::Buffer, primal.span(p), name);
                v.array_buffers.insert(p, seed);
            } else {
                let seed = v.b.f.add_param(block, Class::Slice, primal.span(p), name);
                let buf =
                    v.b.f
                        .push1(block, Op::OwnCopy(seed), Class::Buffer, primal.span(p));
                v.b.f.names[buf.index()] = derived_name("g", primal.name(p));
                v.array_buffers.insert(p, buf);
            }
        }
    }
    // One buffer per active slice, allocated once per call.
    for (&p, len) in active_params.iter().zip(array_lens) {
        // (An array parameter returned as it is has its buffer already.)
        if primal.class(p).is_sequence() && v.buffers[p.index()].is_none() {
            let op = Op::Zeros(v.b.get(p), len.clone().map(Tokens::new));
            let buf = v.b.f.push1(block, op, Class::Buffer, primal.span(p));
            v.b.f.names[buf.index()] = derived_name("g", primal.name(p));
            v.buffers[p.index()] = Some(buf);
        }
    }
    v.reverse_insts(primal.entry)?;

    let grads: Vec<Value> = active_params
        .iter()
        .map(|&p| match v.buffers[p.index()] {
            Some(buf) => buf,
            None => {
                let g = v.adj[p.index()];
                v.b.materialize(g, primal.span(p))
            }
        })
        .collect();
    v.b.f.block_mut(block).ret = grads;
    Ok(v.b.f)
}

struct Vjp<'a> {
    b: Builder<'a>,
    act: &'a Activity,
    /// The adjoint accumulated so far for each primal value; `None` is zero.
    adj: Vec<Deriv>,
    /// The pullback of each active call.
    pullbacks: HashMap<Inst, Value>,
    /// The tape of each carried value of a recorded loop, by the primal
    /// body parameter.
    tapes: HashMap<Value, Value>,
    /// The adjoint buffer of each active slice parameter.
    buffers: Vec<Option<Value>>,
    /// Values of a loop body read from a tape instead of recomputed: the
    /// tape of each, by the primal value.
    value_tapes: HashMap<Value, Value>,
    /// Primal values mapped already, which a copy must not recompute.
    precomputed: BTreeSet<Value>,
    /// The iteration count of each recorded `while`, by the primal
    /// instruction.
    trip_counts: HashMap<Inst, Value>,
    /// The gradient buffer of each array output, by the primal array.
    array_buffers: HashMap<Value, Value>,
    /// Whether the copy being made recomputes values for the reverse
    /// sweep: it does not write arrays again (but those it reads).
    recomputing: bool,
    /// The arrays the function reads back after writing them.
    read_back: BTreeSet<Value>,
    /// Array values whose gradient buffer is an output cotangent.
    seeded: BTreeSet<Value>,
    /// Arrays made again by a recomputed block (which replays their
    /// pushes).
    remade: BTreeSet<Value>,
    /// The tape of old values of each read-back array, made with it.
    saved: HashMap<Value, Value>,
    /// The marks (tape lengths) each loop body pushes per iteration, for
    /// each read-back array it writes, by (body, array).
    loop_marks: HashMap<(Block, Value), Value>,
    /// The mark taken before each branch, for each read-back array its arms
    /// write, by (instruction, array).
    if_marks: HashMap<(Inst, Value), Value>,
    /// The read-back arrays whose old values are never needed
    /// ([`crate::scratch`]): none saved when they kill themselves, their
    /// tape switched off when the callee that kills them says so.
    scratch: HashMap<Value, Kill>,
    /// The arrays written first and read after
    /// ([`crate::scratch::written_then_read`]): none saved, their writes not
    /// recomputed.
    written_first: BTreeSet<Value>,
    /// The (loop body, array) pairs whose writes are saved for the whole
    /// index range before the loop ([`snapshot_loops`]).
    snapshots: BTreeSet<(Block, Value)>,
    /// The mark taken before each such loop, by (instruction, array).
    range_marks: HashMap<(Inst, Value), Value>,
    /// The loop body whose reverse iteration is being made: a recomputed
    /// copy of it does not write again the arrays it snapshots.
    replaying: Option<Block>,
}

impl Vjp<'_> {
    fn span_of(&self, inst: Inst) -> Span {
        self.b.primal.inst_span(inst)
    }

    /// Copies primal block `src` into `dst`.
    fn copy_block(&mut self, src: Block, dst: Block, mode: Copy) -> syn::Result<()> {
        let primal = self.b.primal;
        let outer = std::mem::replace(&mut self.b.block, dst);
        for &inst in &primal.block(src).insts {
            let d = primal.inst(inst);
            let span = self.span_of(inst);
            if d.results.len() == 1 && self.precomputed.contains(&d.results[0]) {
                continue;
            }
            // Recomputing writes only the arrays that are read back.
            let snapshotted = |a: &Value| self.snapshots.contains(&(d.block, *a));
            let skip = match &d.op {
                // An array read back that is made in a recomputed block is
                // made again there.
                Op::NewArray(..) => self.recomputing && !self.read_back.contains(&d.results[0]),
                Op::Store(a, ..) | Op::StoreAdd(a, ..) => {
                    (self.recomputing
                        && (!self.read_back.contains(a) || self.written_first.contains(a)))
                        || (snapshotted(a) && self.replaying == Some(d.block))
                }
                // A push overwrites nothing: an array made before the
                // recomputed block holds what it pushed already.
                Op::Push(a, ..) => self.recomputing && !self.remade.contains(a),
                _ => false,
            };
            if let Op::NewArray(..) = &d.op
                && self.recomputing
            {
                self.remade.insert(d.results[0]);
            }
            if skip {
                continue;
            }
            if let Op::Store(a, i, _) | Op::StoreAdd(a, i, _) = &d.op
                && let Some(&tape) = self.saved.get(a)
                && !snapshotted(a)
            {
                let block = self.b.block;
                self.b.f.push(
                    block,
                    Op::Save(tape, self.b.get(*a), self.b.get(*i)),
                    &[],
                    span,
                );
            }
            // A callee writing a read-back array: its old values first,
            // unless the callee's pullback, which this copy asks for, puts
            // them back itself.
            if let Op::Call(callee, args) = &d.op {
                let recorded = mode == Copy::Recording
                    && (d.results.iter().any(|&r| self.act.is_active(r))
                        || self.act.writes_active(primal, &d.op));
                for a in call_writes(primal, &d.op) {
                    if let Some(&tape) = self.saved.get(&a) {
                        let unless = recorded
                            .then(|| restores(primal, callee, args, a))
                            .flatten();
                        let block = self.b.block;
                        let op = Op::SaveAll(tape, self.b.get(a), unless);
                        self.b.f.push(block, op, &[], span);
                    }
                }
            }
            if let Op::If(..) = &d.op
                && mode == Copy::Recording
            {
                for a in self.read_back_written(&d.op.blocks()) {
                    let tape = self.saved[&a];
                    let block = self.b.block;
                    let mark = self.b.f.push1(block, Op::TapeLen(tape), Class::Int, span);
                    self.if_marks.insert((inst, a), mark);
                }
            }
            if let Op::NewArray(init, _) = &d.op
                && self.act.is_active(*init)
            {
                return Err(syn::Error::new(
                    span,
                    "#[differentiable] needs the initial value of an array to be a constant; \
                     start from `0.0` and write the values",
                ));
            }
            match &d.op {
                Op::Call(callee, args)
                    if mode == Copy::Recording
                        && (d.results.iter().any(|&r| self.act.is_active(r))
                            || self.act.writes_active(primal, &d.op)) =>
                {
                    self.b.check_call_args(callee, args, span)?;
                    let op = Op::CallPullback(
                        callee.clone(),
                        args.iter().map(|&a| self.b.get(a)).collect(),
                    );
                    // One more result than the primal call: the pullback.
                    let mut classes: Vec<Class> =
                        d.results.iter().map(|&r| primal.class(r)).collect();
                    classes.push(Class::Other);
                    let block = self.b.block;
                    let new_inst = self.b.f.push(block, op, &classes, span);
                    let new = self.b.f.inst(new_inst).results.clone();
                    for (&r, &n) in d.results.iter().zip(&new) {
                        self.b.map[r.index()] = Some(n);
                        if let Some(name) = primal.name(r) {
                            self.b.f.set_name(n, name.to_string());
                        }
                    }
                    let pb = new[d.results.len()];
                    self.b.f.set_name(pb, format!("pb_{}", callee.name));
                    self.pullbacks.insert(inst, pb);
                }
                Op::If(cond, then, els) => {
                    let mut blocks = Vec::new();
                    for src in [*then, *els] {
                        let nb = self.b.f.new_block();
                        self.copy_block(src, nb, Copy::Plain)?;
                        let ret = primal
                            .block(src)
                            .ret
                            .iter()
                            .map(|&v| self.b.get(v))
                            .collect();
                        self.b.f.block_mut(nb).ret = ret;
                        blocks.push(nb);
                    }
                    self.b
                        .copy_results(Op::If(self.b.get(*cond), blocks[0], blocks[1]), &d.results);
                }
                Op::For(range, init, body) => {
                    // The old values of the arrays the loop snapshots.
                    let arrays: Vec<Value> = self
                        .snapshots
                        .iter()
                        .filter(|(b, a)| b == body && self.saved.contains_key(a))
                        .map(|&(_, a)| a)
                        .collect();
                    for a in arrays {
                        let tape = self.saved[&a];
                        let block = self.b.block;
                        let mark = self.b.f.push1(block, Op::TapeLen(tape), Class::Int, span);
                        let r = self.b.mapped_range(range);
                        let op = Op::SaveRange(tape, self.b.get(a), r.lo, r.hi);
                        self.b.f.push(block, op, &[], span);
                        self.range_marks.insert((inst, a), mark);
                    }
                    let capacity = Some(self.b.mapped_range(range));
                    let nb = self.copy_loop_body(*body, 1, mode, capacity, span)?;
                    let init = init.iter().map(|&v| self.b.get(v)).collect();
                    let op = Op::For(self.b.mapped_range(range), init, nb);
                    self.b.copy_results(op, &d.results);
                }
                Op::While(init, cond, body) => {
                    let nb = self.copy_loop_body(*body, 0, mode, None, span)?;
                    let nc = self.b.f.new_block();
                    for &p in &primal.block(*cond).params {
                        let np = self.b.f.add_param(
                            nc,
                            primal.class(p),
                            primal.span(p),
                            primal.name(p).map(str::to_string),
                        );
                        self.b.map[p.index()] = Some(np);
                    }
                    self.copy_block(*cond, nc, Copy::Plain)?;
                    let c = self.b.get(primal.block(*cond).ret[0]);
                    self.b.f.block_mut(nc).ret = vec![c];
                    let mut init: Vec<Value> = init.iter().map(|&v| self.b.get(v)).collect();
                    let mut classes: Vec<Class> =
                        d.results.iter().map(|&r| primal.class(r)).collect();
                    if mode == Copy::Recording {
                        // A recorded `while` counts its iterations, for the
                        // reverse sweep to run as many.
                        let zero = self.b.f.push1(
                            self.b.block,
                            Op::Lit(Lit::new(Literal::usize_unsuffixed(0))),
                            Class::Int,
                            span,
                        );
                        let one = self.b.f.push1(
                            nb,
                            Op::Lit(Lit::new(Literal::usize_unsuffixed(1))),
                            Class::Int,
                            span,
                        );
                        let count = self.b.f.add_param(
                            nb,
                            Class::Int,
                            span,
                            Some("iterations".to_string()),
                        );
                        let next = self.b.f.push1(
                            nb,
                            Op::Binary(BinOp::Add, count, one),
                            Class::Int,
                            span,
                        );
                        self.b.f.block_mut(nb).ret.push(next);
                        self.b
                            .f
                            .add_param(nc, Class::Int, span, Some("iterations".to_string()));
                        init.push(zero);
                        classes.push(Class::Int);
                    }
                    let block = self.b.block;
                    let new = self
                        .b
                        .f
                        .push(block, Op::While(init, nc, nb), &classes, span);
                    let results = self.b.f.inst(new).results.clone();
                    for (&r, &n) in d.results.iter().zip(&results) {
                        self.b.map[r.index()] = Some(n);
                        if let Some(name) = primal.name(r) {
                            self.b.f.set_name(n, name.to_string());
                        }
                    }
                    if mode == Copy::Recording {
                        self.trip_counts.insert(inst, results[d.results.len()]);
                    }
                }
                // The old values of a read-back array are saved where the
                // reverse sweep restores them: for an array made in a
                // block, only in the copy its reverse recomputes.
                Op::NewArray(..)
                    if self.read_back.contains(&d.results[0])
                        && self.scratch.get(&d.results[0]) != Some(&Kill::Stores)
                        && !self.written_first.contains(&d.results[0])
                        && (self.recomputing || primal.block_of(d.results[0]) == primal.entry) =>
                {
                    self.b.copy_results(self.b.mapped(&d.op), &d.results);
                    let block = self.b.block;
                    let tape = self.b.f.push1(block, Op::TapeNew(None), Class::Tape, span);
                    self.b.f.names[tape.index()] = Some(format!(
                        "old_{}",
                        primal
                            .name(d.results[0])
                            .unwrap_or("t")
                            .trim_start_matches('@')
                    ));
                    if let Some(Kill::Call {
                        callee,
                        param,
                        candidates,
                    }) = self.scratch.get(&d.results[0])
                        && !candidates.is_empty()
                    {
                        let op = Op::SkipSavesIf(tape, callee.clone(), *param, candidates.clone());
                        self.b.f.push(block, op, &[], span);
                    }
                    self.saved.insert(d.results[0], tape);
                }
                op => {
                    let op = self.b.mapped(op);
                    self.b.copy_results(op, &d.results);
                }
            }
        }
        self.b.block = outer;
        Ok(())
    }

    /// Copies a loop body whose first `skip` parameters are not carried
    /// (a `for`'s index). A recorded loop pushes its carried values at the
    /// start of each iteration, and the results of its expensive primitives
    /// at the end, on tapes made before it.
    fn copy_loop_body(
        &mut self,
        body: Block,
        skip: usize,
        mode: Copy,
        capacity: Option<crate::ir::Range>,
        span: Span,
    ) -> syn::Result<Block> {
        let primal = self.b.primal;
        let params = primal.block(body).params.clone();
        let recording = mode == Copy::Recording;
        let new_tape = |v: &mut Self, name: String| {
            let tape =
                v.b.f
                    .push1(v.b.block, Op::TapeNew(capacity.clone()), Class::Tape, span);
            v.b.f.names[tape.index()] = Some(name);
            tape
        };
        let mut tapes = Vec::new();
        let counters = counters(primal, body, skip);
        if recording {
            for &p in &params[skip..] {
                // A counter is recomputed backwards from its final value.
                if counters.contains_key(&p) {
                    continue;
                }
                let tape = new_tape(
                    self,
                    format!(
                        "tape_{}",
                        primal.name(p).unwrap_or("t").trim_start_matches('@')
                    ),
                );
                self.tapes.insert(p, tape);
                tapes.push(tape);
            }
        }
        let nb = self.b.f.new_block();
        for &p in &params {
            let np = self.b.f.add_param(
                nb,
                primal.class(p),
                primal.span(p),
                primal.name(p).map(str::to_string),
            );
            self.b.map[p.index()] = Some(np);
        }
        for (&tape, &p) in tapes
            .iter()
            .zip(params[skip..].iter().filter(|p| !counters.contains_key(p)))
        {
            self.b
                .f
                .push(nb, Op::TapePush(tape, self.b.get(p)), &[], span);
        }
        // Where each read-back array's old values stand at the start of an
        // iteration: the reverse iteration undoes back to there.
        if recording {
            for a in self.read_back_written(&[body]) {
                if self.snapshots.contains(&(body, a)) {
                    continue;
                }
                let marks = new_tape(self, format!("marks_{}", primal.name(a).unwrap_or("t")));
                let mark = self
                    .b
                    .f
                    .push1(nb, Op::TapeLen(self.saved[&a]), Class::Int, span);
                self.b.f.push(nb, Op::TapePush(marks, mark), &[], span);
                self.loop_marks.insert((body, a), marks);
            }
        }
        self.copy_block(body, nb, Copy::Plain)?;
        if recording {
            for v in expensive_values(primal, body) {
                let tape = new_tape(
                    self,
                    format!(
                        "tape_{}",
                        primal.name(v).unwrap_or("t").trim_start_matches('@')
                    ),
                );
                self.value_tapes.insert(v, tape);
                self.b
                    .f
                    .push(nb, Op::TapePush(tape, self.b.get(v)), &[], span);
            }
        }
        let ret = primal
            .block(body)
            .ret
            .iter()
            .map(|&v| self.b.get(v))
            .collect();
        self.b.f.block_mut(nb).ret = ret;
        Ok(nb)
    }

    /// `adj[v] += c` for an active `v`.
    fn accumulate(&mut self, v: Value, c: Deriv, span: Span) {
        if !self.act.is_active(v) {
            return;
        }
        let old = self.adj[v.index()];
        let sum = match (old, c) {
            // What a call returned may be an array: a generic sum.
            (Some(a), Some(b)) if self.b.primal.maybe_array(v) => {
                Some(self.b.emit(Op::AddCotangents(a, b), span))
            }
            _ => self.b.add(old, c, span),
        };
        if let (Some(s), Some(name)) = (sum, derived_name("g", self.b.primal.name(v)))
            && self.b.f.name(s).is_none()
        {
            self.b.f.set_name(s, name);
        }
        self.adj[v.index()] = sum;
    }

    /// The adjoints of the instructions of primal block `src`, last first,
    /// into the current block.
    fn reverse_insts(&mut self, src: Block) -> syn::Result<()> {
        let primal = self.b.primal;
        // Each active array value made in the block gets its gradient
        // buffer first: the reverse of its reads adds into it, the reverse
        // of what made it reads it. So does each array made in the block
        // and read back (one that is an output has the output cotangent).
        for &inst in &primal.block(src).insts {
            if let Op::NewArray(_, shape) = &primal.inst(inst).op {
                let a = primal.inst(inst).results[0];
                if self.read_back.contains(&a) && self.act.is_active(a) && !self.seeded.contains(&a)
                {
                    let len = match shape {
                        crate::ir::ArrayShape::Fixed(n) => Some(n.clone()),
                        _ => None,
                    };
                    let block = self.b.block;
                    let op = Op::Zeros(self.b.get(a), len);
                    let buf = self.b.f.push1(block, op, Class::Buffer, primal.span(a));
                    self.b.f.names[buf.index()] = derived_name("g", primal.name(a));
                    self.array_buffers.insert(a, buf);
                }
            }
            for &r in &primal.inst(inst).results {
                if primal.class(r) == Class::Vector
                    && self.act.is_active(r)
                    && !self.seeded.contains(&r)
                {
                    let span = primal.span(r);
                    let block = self.b.block;
                    let buf =
                        self.b
                            .f
                            .push1(block, Op::Zeros(self.b.get(r), None), Class::Buffer, span);
                    self.b.f.names[buf.index()] = derived_name("g", primal.name(r));
                    self.buffers[r.index()] = Some(buf);
                }
            }
        }
        for &inst in primal.block(src).insts.clone().iter().rev() {
            self.reverse_inst(inst)?;
        }
        Ok(())
    }

    /// Adds `cotangent` (an array) into the gradient buffer of the array
    /// value `v`, which it becomes when `v` has none yet.
    fn add_into_buffer(&mut self, v: Value, cotangent: Value, span: Span) {
        let block = self.b.block;
        match self.buffers[v.index()] {
            Some(buf) => {
                self.b
                    .f
                    .push(block, Op::AccumAll(buf, cotangent), &[], span);
            }
            None => {
                let buf = self
                    .b
                    .f
                    .push1(block, Op::Own(cotangent), Class::Buffer, span);
                self.b.f.names[buf.index()] = derived_name("g", self.b.primal.name(v));
                self.buffers[v.index()] = Some(buf);
                self.seeded.insert(v);
            }
        }
    }

    /// The gradient buffer of a sequence, in the reverse sweep: a slice
    /// parameter's, an array's, or the part of one a sub-slice views
    /// (made where it is asked for).
    fn buffer_of(&mut self, x: Value) -> Option<Value> {
        let primal = self.b.primal;
        if let Some(buf) = self.buffers[x.index()].or_else(|| self.array_buffers.get(&x).copied()) {
            return Some(buf);
        }
        match primal.def_op(x)? {
            Op::Ref(base, _) => self.buffer_of(*base),
            Op::SubSlice(base, lo, hi) => {
                let buf = self.buffer_of(*base)?;
                let (lo, hi) = (lo.map(|v| self.b.get(v)), hi.map(|v| self.b.get(v)));
                let block = self.b.block;
                Some(self.b.f.push1(
                    block,
                    Op::SubSlice(buf, lo, hi),
                    Class::Buffer,
                    primal.span(x),
                ))
            }
            _ => None,
        }
    }

    /// The buffer a view of a buffer is part of.
    fn root_buffer(&self, buf: Value) -> Value {
        match self.b.f.def_op(buf) {
            Some(Op::SubSlice(base, ..)) => self.root_buffer(*base),
            _ => buf,
        }
    }

    /// Whether the reverse sweep has a cotangent for `v` so far.
    fn has_adjoint(&self, v: Value) -> bool {
        self.act.is_active(v)
            && match self.b.primal.class(v) {
                Class::Vector => self.buffers[v.index()].is_some(),
                _ => self.adj[v.index()].is_some(),
            }
    }

    fn reverse_inst(&mut self, inst: Inst) -> syn::Result<()> {
        let primal = self.b.primal;
        let d = primal.inst(inst);
        let span = self.span_of(inst);
        match &d.op {
            // A write: the element's cotangent goes to the value written, and
            // an overwritten element's cotangent is used up.
            Op::Store(a, i, v) | Op::StoreAdd(a, i, v) | Op::Push(a, v, i) => {
                // A read-back array gets its old element back.
                if let Some(&tape) = self.saved.get(a)
                    && !matches!(d.op, Op::Push(..))
                    && !self.snapshots.contains(&(d.block, *a))
                {
                    let block = self.b.block;
                    self.b
                        .f
                        .push(block, Op::Restore(tape, self.b.get(*a)), &[], span);
                }
                if let Some(&buf) = self.array_buffers.get(a) {
                    let i = self.b.get(*i);
                    let block = self.b.block;
                    let g = self.b.f.push1(block, Op::Index(buf, i), Class::Float, span);
                    if matches!(d.op, Op::Store(..)) {
                        self.b.f.push(block, Op::ZeroAt(buf, i), &[], span);
                    }
                    self.accumulate(*v, Some(g), span);
                }
                return Ok(());
            }
            Op::If(..) => return self.reverse_if(inst),
            Op::For(..) | Op::While(..) => return self.reverse_loop(inst),
            Op::Call(callee, args) => return self.reverse_call(inst, callee, args),
            _ => {}
        }
        let Some(&r) = d.results.first() else {
            return Ok(());
        };
        if !d.results.iter().any(|&r| self.has_adjoint(r)) {
            return Ok(());
        }
        let g = self.adj[r.index()];
        let act = self.act;
        match &d.op {
            Op::Unary(UnOp::Neg, a) => {
                let c = self.b.neg(g, span);
                self.accumulate(*a, c, span);
            }
            Op::Binary(BinOp::Add, x, y) => {
                self.accumulate(*x, g, span);
                self.accumulate(*y, g, span);
            }
            Op::Binary(BinOp::Sub, x, y) => {
                self.accumulate(*x, g, span);
                let c = if act.is_active(*y) {
                    self.b.neg(g, span)
                } else {
                    None
                };
                self.accumulate(*y, c, span);
            }
            Op::Binary(BinOp::Mul, x, y) => {
                if act.is_active(*x) {
                    let c = self.b.scale(g, self.b.get(*y), span);
                    self.accumulate(*x, c, span);
                }
                if act.is_active(*y) {
                    let c = self.b.scale(g, self.b.get(*x), span);
                    self.accumulate(*y, c, span);
                }
            }
            Op::Binary(BinOp::Div, x, y) => {
                // x̄ += ḡ / y;  ȳ -= (ḡ / y) (x / y)
                let q = self.b.div(g, self.b.get(*y), span);
                self.accumulate(*x, q, span);
                if act.is_active(*y) {
                    let c = self.b.scale(q, self.b.get(r), span);
                    let c = self.b.neg(c, span);
                    self.accumulate(*y, c, span);
                }
            }
            Op::Binary(BinOp::Rem, x, y) => {
                let args = [self.b.get(*x), self.b.get(*y)];
                self.prim_adjoint(Prim::rem(), &args, &[*x, *y], r, g, span);
            }
            Op::Cast(a, _) => {
                let c = g.map(|g| self.b.emit(Op::CastLike(self.b.get(*a), g), span));
                self.accumulate(*a, c, span);
            }
            Op::Prim(p, args) => {
                let new: Vec<Value> = args.iter().map(|&a| self.b.get(a)).collect();
                self.prim_adjoint(*p, &new, args, r, g, span);
            }
            Op::ArrayLit(items) => {
                if let Some(buf) = self.buffers[r.index()] {
                    for (k, &item) in items.iter().enumerate() {
                        if !act.is_active(item) {
                            continue;
                        }
                        let block = self.b.block;
                        let lit = Lit::new(Literal::usize_unsuffixed(k));
                        let k = self.b.f.push1(block, Op::Lit(lit), Class::Int, span);
                        let g = self.b.f.push1(block, Op::Index(buf, k), Class::Float, span);
                        self.accumulate(item, Some(g), span);
                    }
                }
            }
            // The element's cotangent goes to the value written; the rest
            // of the buffer, that element zeroed, to the array before.
            Op::Insert(v, i, x) => {
                if let Some(buf) = self.buffers[r.index()] {
                    let block = self.b.block;
                    let i = self.b.get(*i);
                    if act.is_active(*x) {
                        let g = self.b.f.push1(block, Op::Index(buf, i), Class::Float, span);
                        self.accumulate(*x, Some(g), span);
                    }
                    if act.is_active(*v) {
                        self.b.f.push(block, Op::ZeroAt(buf, i), &[], span);
                        self.add_into_buffer(*v, buf, span);
                    }
                }
            }
            Op::Index(x, i) => {
                let buf = self.buffer_of(*x);
                if let (Some(buf), Some(g)) = (buf, g) {
                    let block = self.b.block;
                    self.b
                        .f
                        .push(block, Op::Accum(buf, self.b.get(*i), g), &[], span);
                }
            }
            // Literals, constants, integer and boolean operations are never
            // active.
            _ => {}
        }
        Ok(())
    }

    /// The reverse of a call: its pullback applied to the cotangents of its
    /// outputs, lent its slices and arrays again and the buffers of those
    /// (a callee adds the cotangents of slices into them, and takes those
    /// of the arrays it writes from them); then an array the callee wrote
    /// gets its old values back.
    fn reverse_call(
        &mut self,
        inst: Inst,
        callee: &crate::ir::Callee,
        args: &[Value],
    ) -> syn::Result<()> {
        let primal = self.b.primal;
        let act = self.act;
        let d = primal.inst(inst);
        let span = self.span_of(inst);
        let writes = call_writes(primal, &d.op);
        let Some(&pb) = self.pullbacks.get(&inst) else {
            self.restore_written(&writes, span);
            return Ok(());
        };
        let writes_buffers = writes.iter().any(|a| self.array_buffers.contains_key(a));
        // An array whose old values the callee's pullback puts back: it is
        // applied even with zero cotangents.
        let restored = writes
            .iter()
            .any(|&a| self.saved.contains_key(&a) && restores(primal, callee, args, a).is_some());
        if !d.results.iter().any(|&r| self.has_adjoint(r)) && !writes_buffers && !restored {
            // Nothing flows back; the arrays still get their old values.
            self.restore_written(&writes, span);
            return Ok(());
        }
        let cotangents: Vec<Value> = d
            .results
            .iter()
            .map(|&o| {
                if primal.class(o) == Class::Vector {
                    // An array's buffer is its cotangent, moved in.
                    return match self.buffers[o.index()] {
                        Some(buf) if act.is_active(o) => buf,
                        _ => {
                            let block = self.b.block;
                            let op = Op::Zeros(self.b.get(o), None);
                            self.b.f.push1(block, op, Class::Vector, span)
                        }
                    };
                }
                let g = if act.is_active(o) {
                    self.adj[o.index()]
                } else {
                    None
                };
                match g {
                    None if primal.maybe_array(o) => {
                        let block = self.b.block;
                        let op = Op::Zeros(self.b.get(o), None);
                        self.b.f.push1(block, op, Class::Float, span)
                    }
                    g => self.b.materialize(g, span),
                }
            })
            .collect();
        let derivative_args = callee.derivative_arg_values(primal, args);
        // Each slice and each array lent mutably lends its buffer (a
        // scratch one when it has none, or when it was lent already to
        // this call); the others' cotangents are returned.
        let block = self.b.block;
        let mut sinks = Vec::new();
        let mut scratch = Vec::new();
        for &a in callee.active_args(args) {
            if !primal.class(a).has_sink() {
                continue;
            }
            let buf = self.buffer_of(a);
            // Two parts of one buffer cannot be lent at once.
            let root = buf.map(|b| self.root_buffer(b));
            let taken = sinks.iter().any(|&s| Some(self.root_buffer(s)) == root);
            let sink = match buf {
                Some(buf) if !taken => buf,
                own => {
                    let s =
                        self.b
                            .f
                            .push1(block, Op::Zeros(self.b.get(a), None), Class::Buffer, span);
                    if let Some(buf) = own {
                        scratch.push((buf, s));
                    }
                    s
                }
            };
            sinks.push(sink);
        }
        let returned: Vec<Value> = derivative_args
            .into_iter()
            .filter(|&a| primal.class(a) != Class::Slice)
            .collect();
        let classes: Vec<Class> = returned
            .iter()
            .map(|&a| match primal.class(a) {
                Class::Vector => Class::Vector,
                _ => Class::Float,
            })
            .collect();
        let lent = callee
            .lent_arg_values(primal, args)
            .into_iter()
            .map(|a| self.b.get(a))
            .collect();
        let apply = self.b.f.push(
            block,
            Op::ApplyPullback(pb, cotangents, lent, sinks),
            &classes,
            span,
        );
        let grads = self.b.f.inst(apply).results.clone();
        for (buf, s) in scratch {
            self.b.f.push(block, Op::AccumAll(buf, s), &[], span);
        }
        for (a, g) in returned.into_iter().zip(grads) {
            if primal.class(a) == Class::Vector {
                // (A loop's carried array has no buffer until now.)
                if self.act.is_active(a) {
                    self.add_into_buffer(a, g, span);
                }
            } else {
                self.accumulate(a, Some(g), span);
            }
        }
        for a in &writes {
            if let Some(&tape) = self.saved.get(a) {
                let unless = restores(primal, callee, args, *a);
                let op = Op::RestoreAll(tape, self.b.get(*a), unless);
                self.b.f.push(block, op, &[], span);
            }
        }
        Ok(())
    }

    /// After the reverse of a call writing read-back arrays: their old
    /// values, which the forward sweep saved, back.
    fn restore_written(&mut self, arrays: &[Value], span: Span) {
        for a in arrays {
            if let Some(&tape) = self.saved.get(a) {
                let block = self.b.block;
                self.b
                    .f
                    .push(block, Op::RestoreAll(tape, self.b.get(*a), None), &[], span);
            }
        }
    }

    fn prim_adjoint(
        &mut self,
        prim: Prim,
        new_args: &[Value],
        primal_args: &[Value],
        out: Value,
        g: Deriv,
        span: Span,
    ) {
        let partials = self.b.partials(prim, new_args, self.b.get(out), span);
        for (p, &a) in partials.into_iter().zip(primal_args) {
            if let (Some(p), true) = (p, self.act.is_active(a)) {
                let c = self.b.scale(g, p, span);
                self.accumulate(a, c, span);
            }
        }
    }

    /// The active scalars from outside `blocks` whose adjoints the reverse
    /// of `blocks` may change: what they read and what they yield.
    fn outer_reads(&self, blocks: &[Block]) -> Vec<Value> {
        let primal = self.b.primal;
        let mut inside = BTreeSet::new();
        let mut read = BTreeSet::new();
        for &top in blocks {
            for block in primal.nested_blocks(top) {
                let data = primal.block(block);
                inside.extend(data.params.iter().copied());
                for &inst in &data.insts {
                    let d = primal.inst(inst);
                    inside.extend(d.results.iter().copied());
                    read.extend(d.op.operands());
                }
                read.extend(data.ret.iter().copied());
            }
        }
        read.into_iter()
            .filter(|v| {
                !inside.contains(v) && self.act.is_active(*v) && primal.class(*v).differentiable()
            })
            .collect()
    }

    /// The read-back arrays that `blocks` write and that are made outside
    /// them (one made inside is made again when they are recomputed).
    fn read_back_written(&self, blocks: &[Block]) -> Vec<Value> {
        let primal = self.b.primal;
        let mut out = BTreeSet::new();
        let mut made = BTreeSet::new();
        for &top in blocks {
            for b in primal.nested_blocks(top) {
                for &i in &primal.block(b).insts {
                    let op = &primal.inst(i).op;
                    let written = crate::activity::written(primal, op)
                        .into_iter()
                        .map(|(a, _)| a);
                    for a in written.chain(call_writes(primal, op)) {
                        if self.read_back.contains(&a)
                            && self.scratch.get(&a) != Some(&Kill::Stores)
                            && !self.written_first.contains(&a)
                        {
                            out.insert(a);
                        }
                    }
                    made.extend(primal.inst(i).results.iter().copied());
                }
            }
        }
        out.difference(&made).copied().collect()
    }

    /// Whether `blocks` write an array whose cotangent the reverse sweep
    /// propagates.
    fn writes_outputs(&self, blocks: &[Block]) -> bool {
        let primal = self.b.primal;
        blocks.iter().any(|&top| {
            primal.nested_blocks(top).iter().any(|&b| {
                primal.block(b).insts.iter().any(|&i| {
                    crate::activity::written(primal, &primal.inst(i).op)
                        .iter()
                        .any(|(a, _)| self.array_buffers.contains_key(a))
                })
            })
        })
    }

    /// Forgets the adjoints of the values defined in `block`: a reverse
    /// region starts from zero for its own values.
    fn forget(&mut self, block: Block) {
        let primal = self.b.primal;
        for b in primal.nested_blocks(block) {
            let data = primal.block(b);
            for &p in &data.params {
                self.adj[p.index()] = None;
            }
            for &inst in &data.insts {
                for &r in &primal.inst(inst).results {
                    self.adj[r.index()] = None;
                }
            }
        }
    }

    fn reverse_if(&mut self, inst: Inst) -> syn::Result<()> {
        let primal = self.b.primal;
        let d = primal.inst(inst);
        let Op::If(cond, then, els) = &d.op else {
            return Ok(());
        };
        let span = self.span_of(inst);
        // The cotangent of each result: an adjoint, or an array value's
        // buffer.
        let incoming: Vec<Deriv> = d
            .results
            .iter()
            .map(|&r| match (self.act.is_active(r), primal.class(r)) {
                (false, _) => None,
                (true, Class::Vector) => self.buffers[r.index()],
                (true, _) => self.adj[r.index()],
            })
            .collect();
        let outer = self.outer_reads(&[*then, *els]);
        // Nothing flows into the branch: its arms contribute nothing.
        if incoming.iter().all(Option::is_none) && !self.writes_outputs(&[*then, *els]) {
            return Ok(());
        }
        let before: Vec<Deriv> = outer.iter().map(|o| self.adj[o.index()]).collect();
        let current = self.b.block;
        // The arms recompute from the arrays as they were before the branch.
        for a in self.read_back_written(&[*then, *els]) {
            if let Some(&mark) = self.if_marks.get(&(inst, a)) {
                self.b.f.push(
                    current,
                    Op::UndoTo(self.saved[&a], self.b.get(a), mark),
                    &[],
                    span,
                );
            }
        }
        let mut arms = Vec::new();
        for src in [*then, *els] {
            let nb = self.b.f.new_block();
            self.forget(src);
            let outer_recomputing = std::mem::replace(&mut self.recomputing, true);
            self.copy_block(src, nb, Copy::Recording)?;
            self.recomputing = outer_recomputing;
            self.b.block = nb;
            for (&y, &g) in primal.block(src).ret.iter().zip(&incoming) {
                match (primal.class(y), g) {
                    // An array the arm makes takes the result's buffer; one
                    // from outside gets the cotangent added.
                    (Class::Vector, Some(buf))
                        if primal.nested_blocks(src).contains(&primal.block_of(y)) =>
                    {
                        self.buffers[y.index()] = Some(buf);
                        self.seeded.insert(y);
                    }
                    (Class::Vector, Some(buf)) => {
                        if let Some(into) = self.buffer_of(y) {
                            let block = self.b.block;
                            self.b.f.push(block, Op::AccumAll(into, buf), &[], span);
                        }
                    }
                    _ => self.accumulate(y, g, span),
                }
            }
            self.reverse_insts(src)?;
            let yields = outer
                .iter()
                .map(|o| {
                    let g = self.adj[o.index()];
                    self.b.materialize(g, span)
                })
                .collect();
            self.b.f.block_mut(nb).ret = yields;
            for (o, g) in outer.iter().zip(&before) {
                self.adj[o.index()] = *g;
            }
            self.b.block = current;
            arms.push(nb);
        }
        let inst = self.b.f.push(
            current,
            Op::If(self.b.get(*cond), arms[0], arms[1]),
            &vec![Class::Float; outer.len()],
            span,
        );
        let results = self.b.f.inst(inst).results.clone();
        for (&o, r) in outer.iter().zip(results) {
            self.b.f.names[r.index()] = derived_name("g", primal.name(o));
            self.adj[o.index()] = Some(r);
        }
        Ok(())
    }

    /// The reverse of a `for` or a `while`: a `for` over the same indices
    /// backwards, or over as many iterations as the `while` ran.
    fn reverse_loop(&mut self, inst: Inst) -> syn::Result<()> {
        let primal = self.b.primal;
        let d = primal.inst(inst);
        let (init, body, index_param, range) = match &d.op {
            Op::For(range, init, body) => (
                init,
                *body,
                Some(primal.block(*body).params[0]),
                Some(range),
            ),
            Op::While(init, _, body) => (init, *body, None, None),
            _ => return Ok(()),
        };
        let span = self.span_of(inst);
        let params = primal.block(body).params.clone();
        let carried = if index_param.is_some() {
            params[1..].to_vec()
        } else {
            params.clone()
        };
        let carried = &carried;
        let yields = primal.block(body).ret.clone();
        let active: Vec<usize> = (0..carried.len())
            .filter(|&k| self.act.is_active(carried[k]))
            .collect();
        let outer = self.outer_reads(&[body]);
        let writes = self.writes_outputs(&[body]);
        let touches_buffers = writes
            || primal.nested_blocks(body).iter().any(|&b| {
                primal
                    .block(b)
                    .insts
                    .iter()
                    .any(|&i| matches!(primal.inst(i).op, Op::Index(x, _) if self.buffers[x.index()].is_some()))
            });
        // The body's values leave the loop only through its results: when
        // none has an adjoint, the reverse loop would add zeros.
        let incoming = d.results.iter().any(|&r| self.has_adjoint(r));
        // An array value carried by the loop (`s = step(s)`): its cotangent
        // is a buffer, carried backwards as one.
        let vector = |k: usize| primal.class(carried[k]) == Class::Vector;
        if !(incoming || writes) || (active.is_empty() && outer.is_empty() && !touches_buffers) {
            return Ok(());
        }
        let current = self.b.block;

        // The adjoints carried backwards through the iterations: of the
        // carried values, then of the outside values the body reads.
        let mut init_adj = Vec::new();
        for &k in &active {
            let r = d.results[k];
            if vector(k) {
                let buf = match self.buffers[r.index()] {
                    Some(buf) => buf,
                    None => {
                        let op = Op::Zeros(self.b.get(r), None);
                        self.b.f.push1(current, op, Class::Buffer, span)
                    }
                };
                init_adj.push(buf);
                continue;
            }
            let g = self.adj[r.index()];
            init_adj.push(self.b.materialize(g, span));
        }
        for o in &outer {
            let g = self.adj[o.index()];
            init_adj.push(self.b.materialize(g, span));
        }

        // The arrays the loop snapshots, as they were before it: every
        // reverse iteration reads its element as it was.
        for a in self.read_back_written(&[body]) {
            if let Some(&mark) = self.range_marks.get(&(inst, a))
                && self.snapshots.contains(&(body, a))
            {
                let op = Op::UndoTo(self.saved[&a], self.b.get(a), mark);
                self.b.f.push(current, op, &[], span);
            }
        }
        let nb = self.b.f.new_block();
        self.forget(body);
        let index = match index_param {
            Some(p) => self.b.f.add_param(
                nb,
                Class::Int,
                primal.span(p),
                primal.name(p).map(str::to_string),
            ),
            None => self.b.f.add_param(nb, Class::Int, span, None),
        };
        let mut g_carried = Vec::new();
        for &k in &active {
            let p = carried[k];
            let class = match vector(k) {
                true => Class::Buffer,
                false => Class::Float,
            };
            g_carried.push(self.b.f.add_param(
                nb,
                class,
                primal.span(p),
                derived_name("g", primal.name(p)),
            ));
        }
        let mut g_outer = Vec::new();
        for &o in &outer {
            g_outer.push(self.b.f.add_param(
                nb,
                Class::Float,
                primal.span(o),
                derived_name("g", primal.name(o)),
            ));
        }
        // The counters, carried backwards from their final values.
        let counters = counters(primal, body, usize::from(index_param.is_some()));
        let mut counter_params = Vec::new();
        for (k, &p) in carried.iter().enumerate() {
            if counters.contains_key(&p) {
                init_adj.push(self.b.get(d.results[k]));
                let next = self.b.f.add_param(
                    nb,
                    Class::Int,
                    primal.span(p),
                    primal.name(p).map(|n| format!("{n}_next")),
                );
                counter_params.push((p, next));
            }
        }
        self.b.block = nb;
        // The carried values of this iteration, from the tapes.
        if let Some(p) = index_param {
            self.b.map[p.index()] = Some(index);
        }
        let mut counter_values = Vec::new();
        for &(p, next) in &counter_params {
            let value = match counters[&p] {
                Some((op, step)) => {
                    // (A literal step may be made inside the body.)
                    let step = match primal.literal(step) {
                        Some(lit) => self.b.f.push1(nb, Op::Lit(lit.clone()), Class::Int, span),
                        None => self.b.get(step),
                    };
                    let op = Op::Binary(op, next, step);
                    let v = self.b.f.push1(nb, op, Class::Int, primal.span(p));
                    self.b.f.names[v.index()] = primal.name(p).map(str::to_string);
                    v
                }
                None => next,
            };
            self.b.map[p.index()] = Some(value);
            counter_values.push(value);
        }
        for &p in carried {
            if counters.contains_key(&p) {
                continue;
            }
            let popped = match self.tapes.get(&p) {
                Some(&tape) => {
                    let v = self
                        .b
                        .f
                        .push1(nb, Op::TapePop(tape), primal.class(p), primal.span(p));
                    self.b.f.names[v.index()] = primal.name(p).map(str::to_string);
                    v
                }
                None => {
                    return Err(syn::Error::new(
                        span,
                        "internal error in #[differentiable]: a loop was not recorded; please report this function",
                    ));
                }
            };
            self.b.map[p.index()] = Some(popped);
        }
        // The arrays as they were at the start of the iteration.
        for a in self.read_back_written(&[body]) {
            if self.snapshots.contains(&(body, a)) {
                continue;
            }
            if let Some(&marks) = self.loop_marks.get(&(body, a)) {
                let mark = self.b.f.push1(nb, Op::TapePop(marks), Class::Int, span);
                self.b.f.push(
                    nb,
                    Op::UndoTo(self.saved[&a], self.b.get(a), mark),
                    &[],
                    span,
                );
            }
        }
        // The expensive values of the iteration, from their tapes; the rest
        // of the body is recomputed.
        let mut read_back = BTreeSet::new();
        for v in expensive_values(primal, body) {
            if let Some(&tape) = self.value_tapes.get(&v) {
                let popped = self
                    .b
                    .f
                    .push1(nb, Op::TapePop(tape), primal.class(v), primal.span(v));
                self.b.f.names[popped.index()] = primal.name(v).map(str::to_string);
                self.b.map[v.index()] = Some(popped);
                read_back.insert(v);
            }
        }
        let outer_precomputed = std::mem::replace(&mut self.precomputed, read_back);
        let outer_recomputing = std::mem::replace(&mut self.recomputing, true);
        let outer_replaying = self.replaying.replace(body);
        self.copy_block(body, nb, Copy::Recording)?;
        self.replaying = outer_replaying;
        self.recomputing = outer_recomputing;
        self.precomputed = outer_precomputed;
        for (&o, &g) in outer.iter().zip(&g_outer) {
            self.adj[o.index()] = Some(g);
        }
        for (&k, &g) in active.iter().zip(&g_carried) {
            if !vector(k) {
                self.accumulate(yields[k], Some(g), span);
                continue;
            }
            // An array value the iteration makes takes the carried buffer;
            // one from before it (the parameter itself) gets it added; what
            // a call returned (an array the macro could not see) has it as
            // its cotangent.
            let y = yields[k];
            self.buffers[carried[k].index()] = None;
            let inside = primal.nested_blocks(body).contains(&primal.block_of(y));
            match primal.class(y) {
                Class::Vector if inside && y != carried[k] => {
                    self.buffers[y.index()] = Some(g);
                    self.seeded.insert(y);
                }
                Class::Vector => self.add_into_buffer(y, g, span),
                _ => self.accumulate(y, Some(g), span),
            }
            // The parameter's buffer, made here: branches and calls of the
            // iteration add into it.
            let p = carried[k];
            if self.buffers[p.index()].is_none() {
                let op = Op::Zeros(self.b.get(p), None);
                let buf = self.b.f.push1(nb, op, Class::Buffer, span);
                self.b.f.names[buf.index()] = derived_name("g", primal.name(p));
                self.buffers[p.index()] = Some(buf);
            }
        }
        self.reverse_insts(body)?;
        let mut next = Vec::new();
        for &k in &active {
            if vector(k) {
                let p = carried[k];
                let buf = match self.buffers[p.index()] {
                    Some(buf) => buf,
                    None => {
                        let op = Op::Zeros(self.b.get(p), None);
                        self.b.f.push1(nb, op, Class::Buffer, span)
                    }
                };
                self.buffers[p.index()] = None;
                next.push(buf);
                continue;
            }
            let g = self.adj[carried[k].index()];
            next.push(self.b.materialize(g, span));
        }
        for o in &outer {
            let g = self.adj[o.index()];
            next.push(self.b.materialize(g, span));
        }
        next.extend(counter_values);
        self.b.f.block_mut(nb).ret = next;
        self.b.block = current;

        let reversed = match range {
            Some(range) => self.b.mapped_range(range).reversed(),
            None => {
                let Some(&count) = self.trip_counts.get(&inst) else {
                    return Err(syn::Error::new(
                        span,
                        "internal error in #[differentiable]: a `while` was not recorded; please report this function",
                    ));
                };
                let zero = self.b.f.push1(
                    current,
                    Op::Lit(Lit::new(Literal::usize_unsuffixed(0))),
                    Class::Int,
                    span,
                );
                crate::ir::Range {
                    lo: zero,
                    hi: count,
                    inclusive: false,
                    adapters: vec![],
                }
            }
        };
        let mut classes: Vec<Class> = active
            .iter()
            .map(|&k| match vector(k) {
                true => Class::Buffer,
                false => Class::Float,
            })
            .collect();
        classes.extend(outer.iter().map(|_| Class::Float));
        classes.extend(counter_params.iter().map(|_| Class::Int));
        let inst = self
            .b
            .f
            .push(current, Op::For(reversed, init_adj, nb), &classes, span);
        let results = self.b.f.inst(inst).results.clone();
        // The outside values' adjoints first: they replace what the body
        // left in `adj`, and an initial value may be one of them (`let mut
        // x = a; for .. { x = x * a; }`), whose carried adjoint adds to it.
        for (i, &o) in outer.iter().enumerate() {
            let r = results[active.len() + i];
            self.b.f.names[r.index()] = derived_name("g", primal.name(o));
            self.adj[o.index()] = Some(r);
        }
        for (i, &k) in active.iter().enumerate() {
            self.b.f.names[results[i].index()] = derived_name("g", primal.name(carried[k]));
            match vector(k) {
                true => self.add_into_buffer(init[k], results[i], span),
                false => self.accumulate(init[k], Some(results[i]), span),
            }
        }
        Ok(())
    }
}
