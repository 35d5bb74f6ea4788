//! Unrolls loops with constant bounds (`for i in 0..3`) into copies of
//! their bodies, so that differentiation sees straight-line code: no tape,
//! no allocation, every value an SSA value LLVM keeps in registers.
//!
//! A GPU function's loops are all unrolled ([`unroll`]; a loop whose trip
//! count is not a constant is an error there). On the CPU ([`unroll_small`])
//! only small innermost loops are: the two or three iterations of a loop
//! over a point's coordinates or a 3x3 matrix's row, whose tapes cost more
//! than the arithmetic; the others stay loops.

use proc_macro2::Literal;

use crate::builder::Builder;
use crate::ir::{Adapter, Block, Class, Function, Lit, Op, Range};

/// The most iterations a GPU function's loops may run in all, unrolled.
const LIMIT: usize = 1024;

/// The most iterations a CPU loop has to be unrolled, and the most
/// instructions its copies may add.
const SMALL_TRIPS: usize = 4;
const SMALL_COPIES: usize = 96;

/// `f` with every loop replaced by copies of its body.
pub fn unroll(f: &Function) -> syn::Result<Function> {
    run(f, false)
}

/// `f` with its small innermost loops of constant bounds replaced by
/// copies of their bodies.
pub fn unroll_small(f: &Function) -> syn::Result<Function> {
    run(f, true)
}

fn run(f: &Function, small: bool) -> syn::Result<Function> {
    let mut u = Unroller {
        b: Builder::new(f),
        unrolled: 0,
        small,
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
    /// Only small innermost loops, keeping the others.
    small: bool,
}

impl Unroller<'_> {
    fn copy_block(&mut self, src: Block) -> syn::Result<()> {
        let f = self.b.primal;
        for &inst in &f.block(src).insts {
            let data = f.inst(inst);
            let span = f.inst_span(inst);
            match &data.op {
                Op::For(range, init, body) if self.small && !small_loop(f, range, *body) => {
                    let range = self.b.mapped_range(range);
                    let init = init.iter().map(|&v| self.b.get(v)).collect();
                    let body = self.copy_loop_block(*body)?;
                    self.b
                        .copy_results(Op::For(range, init, body), &data.results);
                }
                Op::While(init, cond, body) if self.small => {
                    let init = init.iter().map(|&v| self.b.get(v)).collect();
                    let cond = self.copy_loop_block(*cond)?;
                    let body = self.copy_loop_block(*body)?;
                    self.b
                        .copy_results(Op::While(init, cond, body), &data.results);
                }
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

    /// A new block with a copy of `src`, a loop's body or condition, and
    /// its parameters.
    fn copy_loop_block(&mut self, src: Block) -> syn::Result<Block> {
        let f = self.b.primal;
        let block = self.b.f.new_block();
        for &p in &f.block(src).params {
            let np =
                self.b
                    .f
                    .add_param(block, f.class(p), f.span(p), f.name(p).map(str::to_string));
            self.b.map[p.index()] = Some(np);
        }
        let outer = std::mem::replace(&mut self.b.block, block);
        self.copy_block(src)?;
        self.b.block = outer;
        let ret = f.block(src).ret.iter().map(|&v| self.b.get(v)).collect();
        self.b.f.block_mut(block).ret = ret;
        Ok(block)
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

/// Whether a CPU loop is unrolled: constant bounds, a few iterations, no
/// loop inside, and a small body.
fn small_loop(f: &Function, range: &Range, body: Block) -> bool {
    let Some(indices) = constant_indices(f, range) else {
        return false;
    };
    let blocks = f.nested_blocks(body);
    let insts: usize = blocks.iter().map(|&b| f.block(b).insts.len()).sum();
    let inner_loop = blocks.iter().any(|&b| {
        f.block(b)
            .insts
            .iter()
            .any(|&i| matches!(f.inst(i).op, Op::For(..) | Op::While(..)))
    });
    indices.len() <= SMALL_TRIPS && !inner_loop && insts * indices.len() <= SMALL_COPIES
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
