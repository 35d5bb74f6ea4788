//! Phase 4, analyse: activity.
//!
//! A value is *varied* when it depends on an active argument through
//! differentiable operations (an integer or `bool` result never is: `x as
//! i32` cuts the dependence), and *useful* when an output depends on it. It
//! is *active* when both: only active values get tangent or adjoint code, and
//! any other derivative is a structural zero. The result lives in a side
//! table, with a text form for tests.

use crate::ir::{Block, Class, Function, Inst, Op, Value};

pub struct Activity {
    varied: Vec<bool>,
    useful: Vec<bool>,
    /// The in-out parameters ([`in_out_params`]).
    pub in_out: Vec<Value>,
}

impl Activity {
    pub fn is_active(&self, v: Value) -> bool {
        self.varied[v.index()] && self.useful[v.index()]
    }

    /// Whether an output depends on `v` (for an array: whether it is one).
    pub fn is_useful(&self, v: Value) -> bool {
        self.useful[v.index()]
    }
}

/// The entry parameters written in place that the body also reads: an
/// output parameter (`y: &mut [f64]`) that is indexed (`y[i]`), added into
/// (`y[i] += v`) or lent to a callee (`&y`, `&mut y[a..b]`, which may read
/// it), and `&mut` data that is written.
///
/// **The rule for in-out parameters.** The initial contents of such an
/// output parameter are an input of the function, whatever `wrt(..)`
/// says: they vary (they carry the tangent `f_jvp` takes in `dy`, and
/// receive the cotangent `f_vjp` leaves in `dy`), so what is computed from
/// them is active. An output parameter that is only assigned (`y[i] = e`)
/// is not read: its initial contents are not differentiated.
///
/// `y[i] += v` reads `y[i]` unless `y[i] = ..` at the same index ran
/// before it on every path (`out[i] = a; if c { out[i] -= b; }` only
/// writes). Whether the reverse sweep also needs the old values (and a
/// caller may count on the callee to put them back) is the narrower
/// [`crate::vjp::read_arrays`]: adding into an element needs none.
fn in_out_params(f: &Function) -> Vec<Value> {
    let mut read = crate::vjp::read_arrays(f);
    f.walk(f.entry, &mut |inst| {
        if let Op::StoreAdd(a, i, _) = f.inst(inst).op
            && f.class(a) == Class::Array
            && !assigned_before(f, inst, a, i)
        {
            read.insert(a);
        }
    });
    f.block(f.entry)
        .params
        .iter()
        .copied()
        .filter(|p| read.contains(p))
        .collect()
}

/// Whether `array[index] = ..` runs before `inst` whenever `inst` runs:
/// earlier in its block or in a block around it, at the same index value
/// (`out[i] = ..; if c { out[i] -= .. }`).
fn assigned_before(f: &Function, inst: Inst, array: Value, index: Value) -> bool {
    let mut at = inst;
    loop {
        let block = f.inst(at).block;
        for &before in f.block(block).insts.iter().take_while(|&&b| b != at) {
            if matches!(f.inst(before).op, Op::Store(a, j, _) if a == array && j == index) {
                return true;
            }
        }
        match f.owner(block) {
            Some(outer) => at = outer,
            None => return false,
        }
    }
}

/// The activity of the values of `f`; `active` are the entry parameters to
/// differentiate with respect to. The initial contents of in-out
/// parameters ([`in_out_params`]) vary too.
pub fn activity(f: &Function, active: &[Value]) -> Activity {
    let n = f.values.len();
    let mut a = Activity {
        varied: vec![false; n],
        useful: vec![false; n],
        in_out: in_out_params(f),
    };
    for &p in active {
        a.varied[p.index()] = true;
    }
    for &p in &a.in_out {
        if f.class(p) == Class::Array {
            a.varied[p.index()] = true;
        }
    }
    // An array varies when a varied value is written into it, and what is
    // read from a varied array varies: to a fixed point, as a read may come
    // before the write (in an earlier iteration).
    loop {
        let before = a.varied.clone();
        a.vary(f, f.entry);
        f.walk(f.entry, &mut |inst| {
            for (array, value) in written(f, &f.inst(inst).op) {
                if a.varied[value.index()] {
                    a.varied[array.index()] = true;
                }
            }
        });
        if a.varied == before {
            break;
        }
    }
    for &v in &f.block(f.entry).ret {
        a.useful[v.index()] = true;
    }
    // Output parameters are outputs too.
    for &p in &f.block(f.entry).params {
        if f.class(p) == Class::Array {
            a.useful[p.index()] = true;
        }
    }
    loop {
        let before = a.useful.clone();
        a.use_(f, f.entry);
        if a.useful == before {
            break;
        }
    }
    a
}

impl Activity {
    /// Forward propagation of `varied` through a block; loops to a fixed
    /// point over their carried values.
    fn vary(&mut self, f: &Function, block: Block) {
        for &inst in &f.block(block).insts {
            let d = f.inst(inst);
            match &d.op {
                Op::If(_, t, e) => {
                    // The condition picks a branch; it does not vary the
                    // values (the derivative follows the branch taken).
                    self.vary(f, *t);
                    self.vary(f, *e);
                    for (k, &r) in d.results.iter().enumerate() {
                        let yielded = [f.block(*t).ret[k], f.block(*e).ret[k]];
                        self.varied[r.index()] = f.class(r).has_derivative_in_calls()
                            && yielded.iter().any(|v| self.varied[v.index()]);
                    }
                }
                Op::For(_, init, body) => {
                    let params = f.block(*body).params[1..].to_vec();
                    self.vary_loop(f, *body, &params, init, &d.results);
                }
                Op::While(init, cond, body) => {
                    let params = f.block(*body).params.clone();
                    self.vary_loop(f, *body, &params, init, &d.results);
                    // The condition sees the same carried values.
                    for (c, p) in f.block(*cond).params.iter().zip(&params) {
                        self.varied[c.index()] = self.varied[p.index()];
                    }
                    self.vary(f, *cond);
                }
                // An array varies by what is written into it (see `activity`).
                Op::NewArray(..) => {}
                op => {
                    // (A call's results depend on the arrays it is lent
                    // mutably too: an in-out callee reads them.)
                    let any = op.operands().iter().any(|v| self.varied[v.index()])
                        || matches!(op, Op::Call(c, args)
                            if c.written_arrays(f, args).iter().any(|a| self.varied[a.index()]));
                    for &r in &d.results {
                        self.varied[r.index()] = any && f.class(r).has_derivative_in_calls();
                    }
                }
            }
        }
    }

    /// `vary` through a loop body whose carried parameters are `params`, to
    /// a fixed point: a carried value varies if its initial value or its
    /// yield does.
    fn vary_loop(
        &mut self,
        f: &Function,
        body: Block,
        params: &[Value],
        init: &[Value],
        results: &[Value],
    ) {
        for (p, i) in params.iter().zip(init) {
            self.varied[p.index()] = self.varied[i.index()];
        }
        loop {
            self.vary(f, body);
            let mut changed = false;
            for (p, y) in params.iter().zip(&f.block(body).ret) {
                // (An array value carried is varied as its elements are.)
                if self.varied[y.index()]
                    && !self.varied[p.index()]
                    && f.class(*p).has_derivative_in_calls()
                {
                    self.varied[p.index()] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (r, p) in results.iter().zip(params) {
            self.varied[r.index()] = self.varied[p.index()];
        }
    }

    /// `use_` through a loop body, to a fixed point: a carried value useful
    /// at the start of an iteration is useful as the previous yield.
    fn use_loop(
        &mut self,
        f: &Function,
        body: Block,
        params: &[Value],
        init: &[Value],
        results: &[Value],
    ) {
        let ret = f.block(body).ret.clone();
        // A carried variable is one slot: its value after the loop is the
        // parameter of the iteration that would come next (the initial value
        // when none runs), so a useful result makes the parameter useful,
        // read in the body or not (`s = a` in the body: the slot still
        // needs its derivative, which the body's yield gives).
        for ((r, y), p) in results.iter().zip(&ret).zip(params) {
            if self.useful[r.index()] {
                self.useful[y.index()] = true;
                self.useful[p.index()] = true;
            }
        }
        loop {
            self.use_(f, body);
            let mut changed = false;
            for (p, y) in params.iter().zip(&ret) {
                if self.useful[p.index()] && !self.useful[y.index()] {
                    self.useful[y.index()] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (p, i) in params.iter().zip(init) {
            if self.useful[p.index()] {
                self.useful[i.index()] = true;
            }
        }
    }

    /// Backward propagation of `useful` through a block whose yielded
    /// values are marked already.
    fn use_(&mut self, f: &Function, block: Block) {
        for &inst in f.block(block).insts.iter().rev() {
            let d = f.inst(inst);
            match &d.op {
                Op::If(_, t, e) => {
                    for (k, &r) in d.results.iter().enumerate() {
                        if self.useful[r.index()] {
                            self.useful[f.block(*t).ret[k].index()] = true;
                            self.useful[f.block(*e).ret[k].index()] = true;
                        }
                    }
                    self.use_(f, *t);
                    self.use_(f, *e);
                }
                Op::For(_, init, body) => {
                    let params = f.block(*body).params[1..].to_vec();
                    self.use_loop(f, *body, &params, init, &d.results);
                }
                // The condition only picks how many iterations run.
                Op::While(init, _, body) => {
                    let params = f.block(*body).params.clone();
                    self.use_loop(f, *body, &params, init, &d.results);
                }
                op @ (Op::Store(..) | Op::StoreAdd(..) | Op::Push(..)) => {
                    for (array, value) in written(f, op) {
                        if self.useful[array.index()] {
                            self.useful[value.index()] = true;
                        }
                    }
                }
                op => {
                    // A call writing a useful array (`g(x, &mut out)`) is
                    // needed as if its result were.
                    let writes = written(f, op).iter().any(|(a, _)| self.useful[a.index()]);
                    if writes || d.results.iter().any(|r| self.useful[r.index()]) {
                        for v in differentiable_operands(op) {
                            self.useful[v.index()] = true;
                        }
                    }
                }
            }
        }
    }
}

/// The arrays an operation writes, each with a value it writes from: an
/// element write, or a call writing the arrays lent to it mutably (from
/// each argument: the callee may read them all).
pub fn written(f: &Function, op: &Op) -> Vec<(Value, Value)> {
    match op {
        Op::Store(a, _, v) | Op::StoreAdd(a, _, v) | Op::Push(a, v, _) => vec![(*a, *v)],
        Op::Call(c, args) => {
            let arrays = c.written_arrays(f, args);
            arrays
                .iter()
                .flat_map(|&a| c.active_args(args).iter().map(move |&v| (a, v)))
                .collect()
        }
        _ => vec![],
    }
}

impl Activity {
    /// Whether a call writes an array that carries a derivative, which
    /// makes it active whatever its result.
    pub fn writes_active(&self, f: &Function, op: &Op) -> bool {
        match op {
            Op::Call(c, args) => c.written_arrays(f, args).iter().any(|&a| self.is_active(a)),
            _ => false,
        }
    }
}

/// The operands through which a derivative can flow: not a cast's integer
/// source, not `powi`'s exponent, not a method's receiver.
fn differentiable_operands(op: &Op) -> Vec<Value> {
    match op {
        Op::Prim(p, args) => args
            .iter()
            .zip(p.args())
            .filter(|(_, k)| **k == crate::primitives::Arg::Float)
            .map(|(v, _)| *v)
            .collect(),
        Op::Call(c, args) => c.active_args(args).to_vec(),
        Op::Index(x, _) => vec![*x],
        Op::Insert(v, _, x) => vec![*v, *x],
        other => other.operands(),
    }
}

/// The text form: the active values of the entry block.
#[cfg(test)]
pub struct Display<'a>(pub &'a Function, pub &'a Activity);

#[cfg(test)]
impl std::fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Display(func, act) = self;
        let active: Vec<String> = (0..func.values.len())
            .filter(|&i| act.varied[i] && act.useful[i])
            .map(|i| format!("v{i}"))
            .collect();
        write!(f, "active: {}", active.join(", "))
    }
}

/// What reverse mode keeps from the forward sweep: the entry values that the
/// pullback block reads (for straight-line code they stay in locals, which
/// the pullback closure captures by value). Empty without a pullback.
pub fn recorded(f: &Function) -> Vec<Value> {
    let Some(pb) = f.pullback else { return vec![] };
    let mut kept = vec![false; f.values.len()];
    let mut reads = Vec::new();
    for block in f.nested_blocks(pb) {
        let data = f.block(block);
        reads.extend(data.insts.iter().flat_map(|&i| f.inst(i).op.operands()));
        reads.extend(data.ret.iter().copied());
    }
    for v in reads {
        if f.block_of(v) == f.entry {
            kept[v.index()] = true;
        }
    }
    (0..f.values.len())
        .filter(|&i| kept[i])
        .map(|i| f.value(i))
        .collect()
}
