//! Phase 3, verify: the invariants of the IR. The pipeline runs it after
//! every transform; a failure is a bug of the macro, reported as an internal
//! error instead of emitting wrong code.
//!
//! - SSA: every value is defined once, by the block parameter or instruction
//!   result its definition record names, and before any use; the pullback
//!   block sees the entry block's values, not the other way round.
//! - Shapes: each operation has the operand and result counts its kind
//!   requires (a primitive its arity, partials one result per float
//!   argument, a pullback application one cotangent per output).
//! - Classes: float operations read values that may be floats.

use crate::ir::{Class, Function, Op, Value, ValueDef};

pub fn verify(f: &Function) -> Result<(), String> {
    let mut defined = vec![false; f.values.len()];
    let check_use = |defined: &[bool], v: Value, at: &str| -> Result<(), String> {
        match defined.get(v.index()) {
            Some(true) => Ok(()),
            Some(false) => Err(format!("{at}: {v} is used before it is defined")),
            None => Err(format!("{at}: {v} does not exist")),
        }
    };
    for block in f.regions() {
        let data = f.block(block);
        for (i, &p) in data.params.iter().enumerate() {
            if f.def(p) != ValueDef::Param(block, i) || defined[p.index()] {
                return Err(format!("{block}: parameter {p} has a wrong definition"));
            }
            defined[p.index()] = true;
        }
        for &inst in &data.insts {
            let d = f.inst(inst);
            let at = format!(
                "{inst} ({})",
                d.results.first().map(|v| v.to_string()).unwrap_or_default()
            );
            if d.block != block {
                return Err(format!(
                    "{at}: listed in {block} but belongs to {}",
                    d.block
                ));
            }
            for v in d.op.operands() {
                check_use(&defined, v, &at)?;
            }
            let expected = expected_results(f, &d.op).map_err(|e| format!("{at}: {e}"))?;
            if d.results.len() != expected {
                return Err(format!(
                    "{at}: has {} results, its operation makes {expected}",
                    d.results.len()
                ));
            }
            for (i, &r) in d.results.iter().enumerate() {
                if f.def(r) != ValueDef::Result(inst, i) || defined[r.index()] {
                    return Err(format!("{at}: result {r} has a wrong definition"));
                }
                defined[r.index()] = true;
            }
        }
        for &v in &data.ret {
            check_use(&defined, v, &format!("return of {block}"))?;
        }
    }
    Ok(())
}

/// The number of results `op` makes, after checking its operands.
fn expected_results(f: &Function, op: &Op) -> Result<usize, String> {
    let floats = |args: &[Value]| -> Result<(), String> {
        match args.iter().find(|&&a| !f.class(a).differentiable()) {
            Some(a) => Err(format!("{a} is not a float")),
            None => Ok(()),
        }
    };
    Ok(match op {
        Op::Lit(_) | Op::Extern(_) | Op::Unary(..) | Op::Cast(..) | Op::CastLike(..) => 1,
        Op::Binary(op, a, b) => {
            if op.is_arithmetic() && (f.class(*a) == Class::Other || f.class(*b) == Class::Other) {
                return Err(format!(
                    "arithmetic on a value that is not a number ({a}, {b})"
                ));
            }
            1
        }
        Op::Prim(p, args) => {
            if args.len() != p.args().len() {
                return Err(format!(
                    "{} takes {} arguments, has {}",
                    p.name(),
                    p.args().len(),
                    args.len()
                ));
            }
            floats(&args[..1])?;
            1
        }
        Op::Partials(p, args) => {
            if args.len() != p.args().len() + 1 {
                return Err(format!(
                    "partials of {} take {} arguments",
                    p.name(),
                    p.args().len() + 1
                ));
            }
            floats(&args[..1])?;
            p.float_args()
        }
        Op::Call(c, _) => c.outputs,
        Op::CallJvp(c, args, tangents) => {
            if tangents.len() != c.float_args(f, args) {
                return Err(format!(
                    "a JVP call of {c} needs one tangent per float argument"
                ));
            }
            floats(tangents)?;
            2 * c.outputs
        }
        Op::CallPullback(c, _) => c.outputs + 1,
        Op::ApplyPullback(pb, cotangents) => {
            let ValueDef::Result(inst, i) = f.def(*pb) else {
                return Err(format!("{pb} is not a pullback"));
            };
            let Op::CallPullback(c, args) = &f.inst(inst).op else {
                return Err(format!("{pb} is not made by a pullback call"));
            };
            if i != c.outputs || cotangents.len() != c.outputs {
                return Err(format!("{pb} takes one cotangent per output of {c}"));
            }
            c.float_args(f, args)
        }
    })
}
