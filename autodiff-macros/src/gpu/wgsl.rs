//! The second emitter: IR to WGSL, for the value, JVP and VJP of a GPU
//! function (after [`super::unroll`]: no loops, no tapes).
//!
//! Every value is a WGSL `let` named after its id (`v12`), so that no name of
//! the user's meets a WGSL keyword or builtin; an `if` with results declares
//! a `var` for each before it. Functions are named after the Rust function
//! (`u_f`, `u_f_jvp`, `u_f_vjp`); rules are `ad_d_<primitive>`. A call's
//! pullback is the tuple of the call's arguments, and applying it calls the
//! callee's VJP, which recomputes the callee's forward sweep: on a GPU,
//! arithmetic is cheaper than memory.

use std::fmt::Write;

use proc_macro2::Span;

use crate::ir::{BinOp, Block, Callee, Class, Function, Op, UnOp, Value, ValueDef};

use super::prims;

/// Which of a function's derivatives a WGSL function computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `u_f(x..) -> f32`.
    Value,
    /// `u_f_jvp(x.., dx..) -> AdTuple2(value, tangent)`.
    Jvp,
    /// `u_f_vjp(x.., dr) -> cotangents` (`f32` for one parameter, else an
    /// `AdTupleK`).
    Vjp,
}

/// The WGSL name of the function `name` computing `mode`.
pub fn kernel_fn_name(name: &str, mode: Mode) -> String {
    match mode {
        Mode::Value => format!("u_{name}"),
        Mode::Jvp => format!("u_{name}_jvp"),
        Mode::Vjp => format!("u_{name}_vjp"),
    }
}

#[derive(Default)]
pub struct Emitter {
    /// The primitives whose rules the functions call.
    pub rules: Vec<String>,
    /// The GPU functions they call.
    pub callees: Vec<Callee>,
    out: String,
}

fn err(span: Span, what: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(
        span,
        format!("#[differentiable(gpu)] cannot compute {what} in a GPU kernel"),
    )
}

impl Emitter {
    /// The WGSL function computing `mode` of `f` (the primal, JVP or VJP IR).
    pub fn function(&mut self, f: &Function, name: &str, mode: Mode) -> syn::Result<String> {
        self.out.clear();
        let entry = f.block(f.entry);
        let mut params: Vec<String> = entry
            .params
            .iter()
            .map(|&p| format!("v{}: f32", p.index()))
            .collect();
        let pullback = match mode {
            Mode::Vjp => f.pullback,
            _ => None,
        };
        if let Some(pb) = pullback {
            params.extend(
                f.block(pb)
                    .params
                    .iter()
                    .map(|&p| format!("v{}: f32", p.index())),
            );
        }
        let results = match pullback {
            Some(pb) => f.block(pb).ret.clone(),
            None => entry.ret.clone(),
        };
        let ret_ty = tuple_type(results.len());
        self.block(f, f.entry, 1)?;
        if let Some(pb) = pullback {
            self.block(f, pb, 1)?;
        }
        let names: Vec<String> = results.iter().map(|v| format!("v{}", v.index())).collect();
        let value = tuple(&names);
        let body = std::mem::take(&mut self.out);
        Ok(format!(
            "fn {}({}) -> {ret_ty} {{\n{body}    return {value};\n}}\n",
            kernel_fn_name(name, mode),
            params.join(", ")
        ))
    }

    fn line(&mut self, depth: usize, text: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{}{text}", "    ".repeat(depth));
    }

    fn block(&mut self, f: &Function, block: Block, depth: usize) -> syn::Result<()> {
        for &inst in &f.block(block).insts {
            let data = f.inst(inst);
            let span = f.inst_span(inst);
            let r = |i: usize| format!("v{}", data.results[i].index());
            let v = |x: &Value| format!("v{}", x.index());
            let vs = |xs: &[Value]| xs.iter().map(v).collect::<Vec<_>>();
            match &data.op {
                Op::Lit(lit) => {
                    let text = match f.class(data.results[0]) {
                        Class::Bool => lit.text.clone(),
                        Class::Int => {
                            // `1_000usize` is 1000.
                            let digits: String = lit
                                .text
                                .chars()
                                .filter(|&c| c != '_')
                                .take_while(|c| c.is_ascii_digit())
                                .collect();
                            if digits.is_empty() {
                                return Err(err(span, format_args!("the literal `{}`", lit.text)));
                            }
                            format!("{digits}i")
                        }
                        _ => {
                            let t = lit.text.trim_end_matches("f32").trim_end_matches("f64");
                            let t: String = t.chars().filter(|&c| c != '_').collect();
                            match t.parse::<f64>() {
                                Ok(x) => prims::float_literal(x),
                                Err(_) => {
                                    return Err(err(
                                        span,
                                        format_args!("the literal `{}`", lit.text),
                                    ));
                                }
                            }
                        }
                    };
                    self.line(depth, format_args!("let {} = {text};", r(0)));
                }
                Op::Extern(t) => {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "#[differentiable(gpu)] cannot read `{}` in a GPU kernel: a constant \
                             or field from outside the function; write its value, or pass it \
                             as a parameter",
                            t.text
                        ),
                    ));
                }
                Op::Unary(op, a) => {
                    let sym = match op {
                        UnOp::Neg => "-",
                        UnOp::Not => "!",
                    };
                    self.line(depth, format_args!("let {} = {sym}({});", r(0), v(a)));
                }
                Op::Binary(op, a, b) => {
                    let expr = match op {
                        BinOp::Min => format!("min({}, {})", v(a), v(b)),
                        BinOp::Max => format!("max({}, {})", v(a), v(b)),
                        BinOp::Shl | BinOp::Shr => {
                            return Err(err(span, "a shift"));
                        }
                        op => format!("{} {} {}", v(a), binary_symbol(*op), v(b)),
                    };
                    self.line(depth, format_args!("let {} = {expr};", r(0)));
                }
                Op::Cast(a, ty) => {
                    let expr = match ty.text.as_str() {
                        "f32" => format!("f32({})", v(a)),
                        "i32" | "i64" | "isize" | "usize" | "u32" | "u64" | "u8" | "i8" | "i16"
                        | "u16" => format!("i32({})", v(a)),
                        other => {
                            return Err(err(
                                span,
                                format_args!("a cast to `{other}` (GPU kernels are f32 only)"),
                            ));
                        }
                    };
                    self.line(depth, format_args!("let {} = {expr};", r(0)));
                }
                Op::Prim(p, args) => {
                    let args = vs(args);
                    let expr = prims::method(p.name(), &args[0], &args[1..])
                        .ok_or_else(|| err(span, format_args!("`{}`", p.name())))?;
                    self.line(depth, format_args!("let {} = {expr};", r(0)));
                }
                Op::Partials(p, args) => {
                    if !self.rules.iter().any(|n| n == p.name()) {
                        self.rules.push(p.name().to_string());
                    }
                    let call = format!(
                        "{}({})",
                        super::rules::wgsl_name(p.name()),
                        vs(args).join(", ")
                    );
                    self.results(depth, &data.results, call);
                }
                Op::Call(callee, args) => {
                    let call = self.call(callee, Mode::Value, &vs(args), span)?;
                    self.results(depth, &data.results, call);
                }
                Op::CallJvp(callee, args, tangents) => {
                    let all: Vec<String> = vs(args).into_iter().chain(vs(tangents)).collect();
                    let call = self.call(callee, Mode::Jvp, &all, span)?;
                    self.results(depth, &data.results, call);
                }
                Op::CallPullback(callee, args) => {
                    // The outputs, and the "closure": the arguments, from
                    // which the callee's VJP recomputes what it needs.
                    let args = vs(args);
                    let call = self.call(callee, Mode::Value, &args, span)?;
                    self.line(depth, format_args!("let {} = {call};", r(0)));
                    self.line(depth, format_args!("let {} = {};", r(1), tuple(&args)));
                }
                Op::ApplyPullback(pb, cts, lent, sinks) => {
                    if !lent.is_empty() || !sinks.is_empty() {
                        return Err(err(span, "a call with slice arguments"));
                    }
                    let (callee, arity) = pullback_callee(f, *pb)
                        .ok_or_else(|| err(span, "this call's reverse sweep"))?;
                    let mut args: Vec<String> = if arity == 1 {
                        vec![v(pb)]
                    } else {
                        (0..arity).map(|i| format!("{}.p{i}", v(pb))).collect()
                    };
                    args.extend(vs(cts));
                    let call = self.call(&callee, Mode::Vjp, &args, span)?;
                    self.results(depth, &data.results, call);
                }
                Op::Matches(a, pattern) => {
                    let pat =
                        syn::parse::Parser::parse2(syn::Pat::parse_multi, pattern.tokens.clone())
                            .ok()
                            .and_then(|p| matches(&v(a), &p))
                            .ok_or_else(|| {
                                err(span, format_args!("the pattern `{}`", pattern.text))
                            })?;
                    self.line(depth, format_args!("let {} = {pat};", r(0)));
                }
                // The zero tangent of a call's result (a float here).
                Op::Zeros(a, None) if matches!(f.class(*a), Class::Float | Class::Unknown) => {
                    self.line(depth, format_args!("let {} = 0.0;", r(0)));
                }
                Op::CastLike(a, _) => self.line(depth, format_args!("let {} = {};", r(0), v(a))),
                Op::AddCotangents(a, b) => {
                    self.line(depth, format_args!("let {} = {} + {};", r(0), v(a), v(b)))
                }
                Op::If(cond, then, els) => {
                    for &res in &data.results {
                        let ty =
                            value_type(f, res).ok_or_else(|| err(span, "this branch's result"))?;
                        self.line(depth, format_args!("var v{}: {ty};", res.index()));
                    }
                    self.line(depth, format_args!("if {} {{", v(cond)));
                    self.branch(f, *then, &data.results, depth + 1)?;
                    self.line(depth, "} else {");
                    self.branch(f, *els, &data.results, depth + 1)?;
                    self.line(depth, "}");
                }
                Op::For(..) | Op::While(..) => return Err(err(span, "a loop")),
                Op::Index(..) | Op::Len(..) | Op::SubSlice(..) | Op::ArrayLit(..) => {
                    return Err(err(span, "an array (GPU functions take f32 scalars)"));
                }
                _ => return Err(err(span, "this expression")),
            }
        }
        Ok(())
    }

    /// A branch of an `if`, assigning what it yields to the `if`'s results.
    fn branch(
        &mut self,
        f: &Function,
        block: Block,
        results: &[Value],
        depth: usize,
    ) -> syn::Result<()> {
        self.block(f, block, depth)?;
        for (res, y) in results.iter().zip(&f.block(block).ret) {
            self.line(depth, format_args!("v{} = v{};", res.index(), y.index()));
        }
        Ok(())
    }

    /// `let` the results of a call returning one float or a tuple.
    fn results(&mut self, depth: usize, results: &[Value], call: String) {
        if results.len() == 1 {
            self.line(depth, format_args!("let v{} = {call};", results[0].index()));
        } else {
            let t = format!("t{}", results[0].index());
            self.line(depth, format_args!("let {t} = {call};"));
            for (i, r) in results.iter().enumerate() {
                self.line(depth, format_args!("let v{} = {t}.p{i};", r.index()));
            }
        }
    }

    fn call(
        &mut self,
        callee: &Callee,
        mode: Mode,
        args: &[String],
        span: Span,
    ) -> syn::Result<String> {
        if callee.method {
            return Err(err(span, "a method call"));
        }
        if callee.outputs != 1 {
            return Err(err(span, "a call of a function with several outputs"));
        }
        if !self.callees.contains(callee) {
            self.callees.push(callee.clone());
        }
        Ok(format!(
            "{}({})",
            kernel_fn_name(&syn::ext::IdentExt::unraw(&callee.name).to_string(), mode),
            args.join(", ")
        ))
    }
}

/// Whether the integer or bool `value` matches `pat`: literals, ranges,
/// alternatives and `_`.
fn matches(value: &str, pat: &syn::Pat) -> Option<String> {
    let lit = |e: &syn::Expr| -> Option<String> {
        match e {
            syn::Expr::Lit(l) => match &l.lit {
                syn::Lit::Int(i) => Some(format!("{}i", i.base10_digits())),
                syn::Lit::Bool(b) => Some(b.value.to_string()),
                _ => None,
            },
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
                Some(format!("-{}", lit_of(&u.expr)?))
            }
            _ => None,
        }
    };
    Some(match pat {
        syn::Pat::Wild(_) => "true".to_string(),
        syn::Pat::Lit(l) => format!("({value} == {})", lit(&syn::Expr::Lit(l.clone()))?),
        syn::Pat::Paren(p) => matches(value, &p.pat)?,
        syn::Pat::Or(o) => {
            let cases: Option<Vec<String>> = o.cases.iter().map(|c| matches(value, c)).collect();
            format!("({})", cases?.join(" || "))
        }
        syn::Pat::Range(r) => {
            let mut parts = Vec::new();
            if let Some(lo) = &r.start {
                parts.push(format!("{value} >= {}", lit(lo)?));
            }
            if let Some(hi) = &r.end {
                let op = match r.limits {
                    syn::RangeLimits::Closed(_) => "<=",
                    syn::RangeLimits::HalfOpen(_) => "<",
                };
                parts.push(format!("{value} {op} {}", lit(hi)?));
            }
            format!("({})", parts.join(" && "))
        }
        _ => return None,
    })
}

fn lit_of(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => Some(format!("{}i", i.base10_digits())),
        _ => None,
    }
}

fn binary_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::And => "&&",
        BinOp::Or => "||",
        BinOp::BitAnd => "&",
        BinOp::BitOr => "|",
        BinOp::BitXor => "^",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
        BinOp::Min => "min",
        BinOp::Max => "max",
    }
}

/// `f32` for one value, `AdTupleN(..)` for several.
fn tuple(values: &[String]) -> String {
    match values {
        [one] => one.clone(),
        _ => format!(
            "{}({})",
            prims::partials_struct(values.len()),
            values.join(", ")
        ),
    }
}

fn tuple_type(n: usize) -> String {
    if n == 1 {
        "f32".to_string()
    } else {
        prims::partials_struct(n)
    }
}

/// The WGSL type of a value.
fn value_type(f: &Function, v: Value) -> Option<String> {
    match f.class(v) {
        Class::Float | Class::Unknown => Some("f32".into()),
        Class::Int => Some("i32".into()),
        Class::Bool => Some("bool".into()),
        Class::Other => pullback_callee(f, v).map(|(_, arity)| tuple_type(arity)),
        _ => None,
    }
}

/// The callee whose pullback `pb` is, and how many arguments it took,
/// through the branches that pass it on.
fn pullback_callee(f: &Function, pb: Value) -> Option<(Callee, usize)> {
    let ValueDef::Result(inst, n) = f.def(pb) else {
        return None;
    };
    match &f.inst(inst).op {
        Op::CallPullback(callee, args) => Some((callee.clone(), args.len())),
        Op::If(_, then, _) => pullback_callee(f, *f.block(*then).ret.get(n)?),
        _ => None,
    }
}
