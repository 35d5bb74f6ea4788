//! Unrolls the loops of a GPU function, whose bounds must be constants
//! (`for i in 0..4`), so that its VJP is straight-line code with branches:
//! no tape, one fused WGSL function.

use proc_macro2::Literal;

use crate::builder::Builder;
use crate::ir::{Adapter, Block, Class, Function, Lit, Op, Range};

/// The most iterations a GPU function's loops may run in all, unrolled.
const LIMIT: usize = 1024;

/// `f` with every loop replaced by copies of its body.
pub fn unroll(f: &Function) -> syn::Result<Function> {
    let mut u = Unroller {
        b: Builder::new(f),
        unrolled: 0,
    };
    u.b.copy_params();
    u.copy_block(f.entry)?;
    let ret = f.block(f.entry).ret.iter().map(|&v| u.b.get(v)).collect();
    let entry = u.b.f.entry;
    u.b.f.block_mut(entry).ret = ret;
    Ok(u.b.f)
}

struct Unroller<'a> {
    b: Builder<'a>,
    unrolled: usize,
}

impl Unroller<'_> {
    fn copy_block(&mut self, src: Block) -> syn::Result<()> {
        let f = self.b.primal;
        for &inst in &f.block(src).insts {
            let data = f.inst(inst);
            let span = f.inst_span(inst);
            match &data.op {
                Op::For(range, init, body) => {
                    let Some(indices) = constant_indices(f, range) else {
                        return Err(syn::Error::new(
                            span,
                            "#[differentiable(gpu)] runs loops with constant bounds only \
                             (`for i in 0..4`): this loop's trip count is not known at compile time",
                        ));
                    };
                    self.unrolled += indices.len();
                    if self.unrolled > LIMIT {
                        return Err(syn::Error::new(
                            span,
                            format!(
                                "#[differentiable(gpu)] unrolls loops, and this function's loops \
                                 run more than {LIMIT} iterations in all; a GPU kernel should be small"
                            ),
                        ));
                    }
                    let mut carried: Vec<_> = init.iter().map(|&v| self.b.get(v)).collect();
                    let params = f.block(*body).params.clone();
                    for i in indices {
                        let lit = Lit::new(Literal::i64_unsuffixed(i));
                        let idx = self.b.f.push1(self.b.block, Op::Lit(lit), Class::Int, span);
                        self.b.map[params[0].index()] = Some(idx);
                        for (p, &c) in params[1..].iter().zip(&carried) {
                            self.b.map[p.index()] = Some(c);
                        }
                        self.copy_block(*body)?;
                        carried = f.block(*body).ret.iter().map(|&v| self.b.get(v)).collect();
                    }
                    for (r, c) in data.results.iter().zip(carried) {
                        self.b.map[r.index()] = Some(c);
                    }
                }
                Op::While(..) => {
                    return Err(syn::Error::new(
                        span,
                        "#[differentiable(gpu)] does not support `while` or `loop`; \
                         use a `for` loop with constant bounds",
                    ));
                }
                Op::If(cond, then, els) => {
                    let cond = self.b.get(*cond);
                    let then = self.copy_region(*then)?;
                    let els = self.copy_region(*els)?;
                    self.b.copy_results(Op::If(cond, then, els), &data.results);
                }
                op => {
                    let op = self.b.mapped(op);
                    self.b.copy_results(op, &data.results);
                }
            }
        }
        Ok(())
    }

    /// A new block with a copy of `src` (a branch, which has no
    /// parameters).
    fn copy_region(&mut self, src: Block) -> syn::Result<Block> {
        let block = self.b.f.new_block();
        let outer = std::mem::replace(&mut self.b.block, block);
        self.copy_block(src)?;
        self.b.block = outer;
        let f = self.b.primal;
        let ret = f.block(src).ret.iter().map(|&v| self.b.get(v)).collect();
        self.b.f.block_mut(block).ret = ret;
        Ok(block)
    }
}

/// The indices a loop runs, if its bounds and steps are integer literals.
fn constant_indices(f: &Function, range: &Range) -> Option<Vec<i64>> {
    let int = |v| int_literal(&f.literal(v)?.text);
    let (lo, hi) = (int(range.lo)?, int(range.hi)?);
    let hi = if range.inclusive { hi + 1 } else { hi };
    if hi - lo > LIMIT as i64 {
        // Reported as too many iterations by the caller.
        return Some((lo..lo + LIMIT as i64 + 1).collect());
    }
    let mut indices: Vec<i64> = (lo..hi).collect();
    for a in &range.adapters {
        match a {
            Adapter::Rev => indices.reverse(),
            Adapter::StepBy(k) => {
                let k = usize::try_from(int(*k)?).ok().filter(|&k| k > 0)?;
                indices = indices.into_iter().step_by(k).collect();
            }
        }
    }
    Some(indices)
}

/// The value of an integer literal such as `4`, `4usize`, `1_000`.
fn int_literal(text: &str) -> Option<i64> {
    let digits: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .filter(|&c| c != '_')
        .collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}
