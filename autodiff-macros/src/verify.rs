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

use crate::ir::{Block, Class, Function, Op, Value, ValueDef};

pub fn verify(f: &Function) -> Result<(), String> {
    let mut v = Verifier {
        f,
        defined: vec![false; f.values.len()],
        ever: vec![false; f.values.len()],
        blocks: vec![false; f.blocks.len()],
    };
    // The pullback is nested in the entry block: the entry's values stay
    // defined while it is checked.
    for block in f.regions() {
        v.block(block)?;
    }
    Ok(())
}

struct Verifier<'a> {
    f: &'a Function,
    /// Defined and in scope here.
    defined: Vec<bool>,
    /// Defined somewhere already: SSA allows one definition.
    ever: Vec<bool>,
    /// Blocks already checked: each has one owner.
    blocks: Vec<bool>,
}

impl Verifier<'_> {
    fn define(&mut self, v: Value, expected: ValueDef, at: &str) -> Result<(), String> {
        if self.f.def(v) != expected || self.ever[v.index()] {
            return Err(format!("{at}: {v} has a wrong or second definition"));
        }
        self.defined[v.index()] = true;
        self.ever[v.index()] = true;
        Ok(())
    }

    fn check_use(&self, v: Value, at: &str) -> Result<(), String> {
        match self.defined.get(v.index()) {
            Some(true) => Ok(()),
            Some(false) => Err(format!("{at}: {v} is used where it is not defined")),
            None => Err(format!("{at}: {v} does not exist")),
        }
    }

    /// Checks a block; returns the values it defined.
    fn block(&mut self, block: Block) -> Result<Vec<Value>, String> {
        let f = self.f;
        if std::mem::replace(&mut self.blocks[block.index()], true) {
            return Err(format!("{block} is owned twice"));
        }
        let data = f.block(block);
        let mut defined = Vec::new();
        for (i, &p) in data.params.iter().enumerate() {
            self.define(p, ValueDef::Param(block, i), &block.to_string())?;
            defined.push(p);
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
                self.check_use(v, &at)?;
            }
            let expected = expected_results(f, &d.op).map_err(|e| format!("{at}: {e}"))?;
            if d.results.len() != expected {
                return Err(format!(
                    "{at}: has {} results, its operation makes {expected}",
                    d.results.len()
                ));
            }
            // Nested blocks see what is defined so far; what they define
            // goes out of scope at their end.
            for child in d.op.blocks() {
                let inner = self.block(child)?;
                for v in inner {
                    self.defined[v.index()] = false;
                }
            }
            for (i, &r) in d.results.iter().enumerate() {
                self.define(r, ValueDef::Result(inst, i), &at)?;
                defined.push(r);
            }
        }
        for &v in &data.ret {
            self.check_use(v, &format!("yield of {block}"))?;
        }
        Ok(defined)
    }
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
        Op::Lit(_)
        | Op::Extern(_)
        | Op::AddCotangents(..)
        | Op::Field(..)
        | Op::Ref(..)
        | Op::SubSlice(..)
        | Op::Unary(..)
        | Op::Cast(..)
        | Op::CastLike(..)
        | Op::TapeNew(_)
        | Op::Matches(..) => 1,
        Op::NewArray(..) | Op::Own(_) | Op::OwnCopy(_) | Op::TapeLen(_) | Op::CloneArray(_) => 1,
        // An array of floats, or of data that carries no derivative.
        Op::ArrayLit(items) => {
            if items.iter().any(|&i| f.class(i).differentiable()) {
                floats(items)?;
            }
            1
        }
        Op::Save(..)
        | Op::Restore(..)
        | Op::UndoTo(..)
        | Op::AccumAll(..)
        | Op::SaveAll(..)
        | Op::RestoreAll(..)
        | Op::SkipSavesIf(..)
        | Op::Effect(..)
        | Op::SaveRange(..) => 0,
        Op::Store(a, i, _) | Op::StoreAdd(a, i, _) | Op::Push(a, _, i) => {
            if !matches!(f.class(*a), Class::Array | Class::Ref) {
                return Err(format!("{a} is not an array"));
            }
            if !matches!(f.class(*i), Class::Int | Class::Unknown) {
                return Err(format!("index {i} is not an integer"));
            }
            0
        }
        Op::Insert(a, i, x) => {
            if f.class(*a) != Class::Vector {
                return Err(format!("{a} is not an array value"));
            }
            if !matches!(f.class(*i), Class::Int | Class::Unknown) {
                return Err(format!("index {i} is not an integer"));
            }
            floats(&[*x])?;
            1
        }
        Op::ZeroAt(b, _) => {
            if f.class(*b) != Class::Buffer {
                return Err(format!("{b} is not a buffer"));
            }
            0
        }
        Op::Index(x, i) | Op::Accum(x, i, _) => {
            let inactive = matches!(op, Op::Index(..)) && f.class(*x).is_data();
            if !inactive
                && !matches!(
                    f.class(*x),
                    Class::Slice | Class::Vector | Class::Buffer | Class::Array
                )
            {
                return Err(format!("{x} is not a slice"));
            }
            if !matches!(f.class(*i), Class::Int | Class::Unknown) {
                return Err(format!("index {i} is not an integer"));
            }
            usize::from(matches!(op, Op::Index(..)))
        }
        Op::Len(x) | Op::Zeros(x, _) => {
            // Zeros shaped like what a call returned, which may be a float.
            let inactive = match op {
                Op::Len(..) => f.class(*x).is_data(),
                _ => f.maybe_array(*x),
            };
            if !inactive
                && !matches!(
                    f.class(*x),
                    Class::Slice | Class::SliceMut | Class::Vector | Class::Buffer | Class::Array
                )
            {
                return Err(format!("{x} is not a slice"));
            }
            1
        }
        Op::TapePush(t, _) | Op::TapePop(t) => {
            if f.class(*t) != Class::Tape {
                return Err(format!("{t} is not a tape"));
            }
            usize::from(matches!(op, Op::TapePop(_)))
        }
        Op::If(c, t, e) => {
            if !matches!(f.class(*c), Class::Bool | Class::Unknown) {
                return Err(format!("condition {c} is not a bool"));
            }
            let n = f.block(*t).ret.len();
            if f.block(*e).ret.len() != n
                || !f.block(*t).params.is_empty()
                || !f.block(*e).params.is_empty()
            {
                return Err("the branches of an if yield different numbers of values".to_string());
            }
            n
        }
        Op::While(init, cond, body) => {
            let (c, b) = (f.block(*cond), f.block(*body));
            if c.params.len() != init.len()
                || c.ret.len() != 1
                || b.params.len() != init.len()
                || b.ret.len() != init.len()
            {
                return Err("a while loop's blocks take the carried values; the condition yields a bool, the body the carried values".to_string());
            }
            init.len()
        }
        Op::For(_, init, body) => {
            let b = f.block(*body);
            if b.params.len() != init.len() + 1 || b.ret.len() != init.len() {
                return Err("a loop body takes the index and the carried values, and yields the carried values".to_string());
            }
            init.len()
        }
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
            let writes = c
                .active_args(args)
                .iter()
                .filter(|&&a| f.class(a) == Class::SliceMut)
                .count();
            if tangents.len() != c.derivative_args(f, args) + writes {
                return Err(format!(
                    "a JVP call of {c} needs one tangent per float or slice argument"
                ));
            }
            if let Some(t) = tangents.iter().find(|&&t| {
                !f.class(t).has_derivative_in_calls()
                    && !matches!(f.class(t), Class::Buffer | Class::SliceMut)
            }) {
                return Err(format!("tangent {t} is not a float or a slice"));
            }
            2 * c.outputs
        }
        Op::CallPullback(c, _) => c.outputs + 1,
        Op::ApplyPullback(pb, cotangents, lent, sinks) => {
            let ValueDef::Result(inst, i) = f.def(*pb) else {
                return Err(format!("{pb} is not a pullback"));
            };
            let Op::CallPullback(c, args) = &f.inst(inst).op else {
                return Err(format!("{pb} is not made by a pullback call"));
            };
            if i != c.outputs || cotangents.len() != c.outputs {
                return Err(format!("{pb} takes one cotangent per output of {c}"));
            }
            if lent.len() != c.lent_arg_values(f, args).len() {
                return Err(format!("{pb} takes the slices and references of {c} again"));
            }
            let derivative = c.derivative_arg_values(f, args);
            let slices = derivative
                .iter()
                .filter(|&&a| f.class(a) == Class::Slice)
                .count();
            let with_sinks = c
                .active_args(args)
                .iter()
                .filter(|&&a| f.class(a).has_sink())
                .count();
            if sinks.len() != with_sinks || sinks.iter().any(|&s| f.class(s) != Class::Buffer) {
                return Err(format!("{pb} takes one buffer per slice argument of {c}"));
            }
            derivative.len() - slices
        }
    })
}
