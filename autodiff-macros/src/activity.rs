//! Phase 4, analyse: activity.
//!
//! A value is *varied* when it depends on an active argument through
//! differentiable operations (an integer or `bool` result never is: `x as
//! i32` cuts the dependence), and *useful* when an output depends on it. It
//! is *active* when both: only active values get tangent or adjoint code, and
//! any other derivative is a structural zero. The result lives in a side
//! table, with a text form for tests.

use crate::ir::{Function, Op, Value};

pub struct Activity {
    varied: Vec<bool>,
    useful: Vec<bool>,
}

impl Activity {
    pub fn is_active(&self, v: Value) -> bool {
        self.varied[v.index()] && self.useful[v.index()]
    }
}

/// The activity of the values of `f`'s entry block; `active` are the entry
/// parameters to differentiate with respect to.
pub fn activity(f: &Function, active: &[Value]) -> Activity {
    let n = f.values.len();
    let mut varied = vec![false; n];
    for &p in active {
        varied[p.index()] = true;
    }
    let insts = &f.block(f.entry).insts;
    for &inst in insts {
        let d = f.inst(inst);
        let any = d.op.operands().iter().any(|v| varied[v.index()]);
        for &r in &d.results {
            varied[r.index()] = any && f.class(r).differentiable();
        }
    }

    let mut useful = vec![false; n];
    for &v in &f.block(f.entry).ret {
        useful[v.index()] = true;
    }
    for &inst in insts.iter().rev() {
        let d = f.inst(inst);
        if d.results.iter().any(|r| useful[r.index()]) {
            for v in differentiable_operands(&d.op) {
                useful[v.index()] = true;
            }
        }
    }
    Activity { varied, useful }
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
    let data = f.block(pb);
    let reads = data
        .insts
        .iter()
        .flat_map(|&i| f.inst(i).op.operands())
        .chain(data.ret.iter().copied());
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
