//! What JVP and VJP share: copying primal instructions into a new function,
//! and building derivative arithmetic where a zero stays symbolic (`None`)
//! until something needs it, so that structurally zero derivatives cost
//! nothing and appear as a literal zero only where a value must be given.

use proc_macro2::Span;

use crate::ir::{BinOp, Block, Callee, Class, Function, Lit, Op, UnOp, Value};
use crate::primitives::{Arg, Prim};

/// A derivative: `None` is a symbolic zero.
pub type Deriv = Option<Value>;

pub struct Builder<'a> {
    pub f: Function,
    pub primal: &'a Function,
    /// The new value of each primal value.
    pub map: Vec<Option<Value>>,
    /// Where instructions go.
    pub block: Block,
}

impl<'a> Builder<'a> {
    pub fn new(primal: &'a Function) -> Self {
        let f = Function::new();
        let block = f.entry;
        Builder {
            f,
            primal,
            map: vec![None; primal.values.len()],
            block,
        }
    }

    /// The new value standing for primal value `v`.
    pub fn get(&self, v: Value) -> Value {
        // Every primal value is mapped before any use: the primal verified,
        // and it is copied in order.
        self.map[v.index()].unwrap_or(v)
    }

    /// Copies the primal's entry parameters.
    pub fn copy_params(&mut self) {
        for &p in &self.primal.block(self.primal.entry).params {
            let name = self.primal.name(p).map(str::to_string);
            let entry = self.f.entry;
            let np = self
                .f
                .add_param(entry, self.primal.class(p), self.primal.span(p), name);
            self.map[p.index()] = Some(np);
        }
    }

    /// Appends `op` (whose operands are already new values) with results of
    /// the classes of the primal `results`, and maps those to the new ones.
    pub fn copy_results(&mut self, op: Op, results: &[Value]) -> Vec<Value> {
        let classes: Vec<Class> = results.iter().map(|&r| self.primal.class(r)).collect();
        let span = results
            .first()
            .map(|&r| self.primal.span(r))
            .unwrap_or_else(Span::call_site);
        let inst = self.f.push(self.block, op, &classes, span);
        let new = self.f.inst(inst).results.clone();
        for (&r, &n) in results.iter().zip(&new) {
            self.map[r.index()] = Some(n);
            if let Some(name) = self.primal.name(r) {
                self.f.set_name(n, name.to_string());
            }
        }
        new
    }

    /// Copies a primal instruction's operation, operands mapped.
    pub fn mapped(&self, op: &Op) -> Op {
        let mut op = op.clone();
        op.map_operands(|v| self.get(v));
        op
    }

    /// A loop range, operands mapped.
    pub fn mapped_range(&self, range: &crate::ir::Range) -> crate::ir::Range {
        let mut r = range.clone();
        r.map_operands(&mut |v| self.get(v));
        r
    }

    pub fn emit(&mut self, op: Op, span: Span) -> Value {
        self.f.push1(self.block, op, Class::Float, span)
    }

    pub fn lit(&mut self, x: f64, span: Span) -> Value {
        self.emit(Op::Lit(Lit::float(x)), span)
    }

    /// The value of a derivative, with a literal for a symbolic zero.
    pub fn materialize(&mut self, d: Deriv, span: Span) -> Value {
        match d {
            Some(v) => v,
            None => self.lit(0.0, span),
        }
    }

    pub fn binary(&mut self, op: BinOp, a: Value, b: Value, span: Span) -> Value {
        self.emit(Op::Binary(op, a, b), span)
    }

    pub fn neg(&mut self, a: Deriv, span: Span) -> Deriv {
        a.map(|a| self.emit(Op::Unary(UnOp::Neg, a), span))
    }

    pub fn add(&mut self, a: Deriv, b: Deriv, span: Span) -> Deriv {
        match (a, b) {
            (Some(a), Some(b)) => Some(self.binary(BinOp::Add, a, b, span)),
            (a, None) => a,
            (None, b) => b,
        }
    }

    pub fn sub(&mut self, a: Deriv, b: Deriv, span: Span) -> Deriv {
        match (a, b) {
            (Some(a), Some(b)) => Some(self.binary(BinOp::Sub, a, b, span)),
            (a, None) => a,
            (None, b) => self.neg(b, span),
        }
    }

    /// `d * factor`, where `factor` is a primal value.
    pub fn scale(&mut self, d: Deriv, factor: Value, span: Span) -> Deriv {
        d.map(|d| self.binary(BinOp::Mul, factor, d, span))
    }

    /// `d / divisor`.
    pub fn div(&mut self, d: Deriv, divisor: Value, span: Span) -> Deriv {
        d.map(|d| self.binary(BinOp::Div, d, divisor, span))
    }

    /// The partials of `prim` at the new values `args` with output `out`:
    /// one per argument, `None` for integer arguments. Only emitted when
    /// some partial is needed.
    pub fn partials(
        &mut self,
        prim: Prim,
        args: &[Value],
        out: Value,
        span: Span,
    ) -> Vec<Option<Value>> {
        let mut operands = args.to_vec();
        operands.push(out);
        let n = prim.float_args();
        let inst = self.f.push(
            self.block,
            Op::Partials(prim, operands),
            &vec![Class::Float; n],
            span,
        );
        let results = self.f.inst(inst).results.clone();
        let name = prim.name();
        let mut results = results.into_iter();
        let mut k = 0;
        prim.args()
            .iter()
            .map(|arg| match arg {
                Arg::Int => None,
                Arg::Float => {
                    let v = results.next();
                    if let Some(v) = v {
                        let hint = if n == 1 {
                            format!("d_{name}")
                        } else {
                            format!("d_{name}_{k}")
                        };
                        self.f.set_name(v, hint);
                        k += 1;
                    }
                    v
                }
            })
            .collect()
    }

    /// Checks that every float argument of an active call has a known class:
    /// the callee's derivative takes a tangent for each float argument, so
    /// the caller must know which arguments those are.
    pub fn check_call_args(&self, callee: &Callee, args: &[Value], call: Span) -> syn::Result<()> {
        for &a in callee.active_args(args) {
            if self.primal.class(a) == Class::Array {
                return Err(syn::Error::new(
                    call,
                    format!(
                        "#[differentiable] does not differentiate through calls taking arrays the \
                         function writes; pass `{callee}` an input slice, or inline it"
                    ),
                ));
            }
            if self.primal.class(a) == Class::Unknown {
                return Err(syn::Error::new(
                    self.primal.span(a),
                    format!(
                        "#[differentiable] cannot tell whether this argument of `{callee}` is a float; \
                         bind it with its type first: `let c: f64 = ...;`"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A name for the derivative of a value called `name`: `dx`, `gx`.
pub fn derived_name(prefix: &str, name: Option<&str>) -> Option<String> {
    name.map(|n| format!("{prefix}{}", n.trim_start_matches('@')))
}
