//! The one table of derivative rules, `rules/partials.rs`, in both
//! languages: as Rust items for `autodiff_runtime::partials`
//! ([`expand_rust`]) and as WGSL functions for the GPU ([`wgsl_rule`]).
//!
//! The rules are written in a small subset of Rust (see the file's
//! header); this module translates that subset and reports anything else
//! as an error, which the tests turn into a failure, so a rule cannot be
//! added in a form the GPU does not get.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{BinOp, Expr, FnArg, Item, ItemFn, Lit, Pat, ReturnType, Stmt, Type, UnOp};

use super::prims;

/// The rules file, read when the macro crate is compiled.
const SOURCE: &str = include_str!("../../rules/partials.rs");

/// The rules file's items, for `__partials!()`.
pub fn expand_rust(input: TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new_spanned(input, "__partials!() takes no arguments")
            .to_compile_error();
    }
    match syn::parse_file(SOURCE) {
        Ok(file) => file.items.iter().map(|i| i.to_token_stream()).collect(),
        Err(e) => syn::Error::new(
            proc_macro2::Span::call_site(),
            format!("rules/partials.rs does not parse: {e}"),
        )
        .to_compile_error(),
    }
}

/// Each rule and helper of the file as WGSL, by name, or why it could not be
/// translated.
pub fn translated() -> &'static BTreeMap<String, Result<String, String>> {
    static RULES: OnceLock<BTreeMap<String, Result<String, String>>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut out = BTreeMap::new();
        let Ok(file) = syn::parse_file(SOURCE) else {
            return out;
        };
        for item in &file.items {
            if let Item::Fn(f) = item {
                out.insert(f.sig.ident.to_string(), translate_fn(f));
            }
        }
        out
    })
}

/// The WGSL name of the rule or helper `name`.
pub fn wgsl_name(name: &str) -> String {
    format!("ad_d_{name}")
}

/// The WGSL functions the rule of `name` needs, itself last (helpers it
/// calls first), each a separate piece so that a module can hold each once.
pub fn wgsl_rule(name: &str) -> Result<Vec<String>, String> {
    let rules = translated();
    let mut pieces = Vec::new();
    collect(name, rules, &mut pieces)?;
    Ok(pieces)
}

fn collect(
    name: &str,
    rules: &BTreeMap<String, Result<String, String>>,
    pieces: &mut Vec<String>,
) -> Result<(), String> {
    let text = match rules.get(name) {
        Some(Ok(text)) => text,
        Some(Err(e)) => return Err(format!("the rule `{name}`: {e}")),
        None => return Err(format!("no rule `{name}` in rules/partials.rs")),
    };
    for other in rules.keys() {
        if other != name && text.contains(&format!("{}(", wgsl_name(other))) {
            collect(other, rules, pieces)?;
        }
    }
    if !pieces.contains(text) {
        pieces.push(text.clone());
    }
    Ok(())
}

fn translate_fn(f: &ItemFn) -> Result<String, String> {
    let mut params = Vec::new();
    for arg in &f.sig.inputs {
        let FnArg::Typed(pt) = arg else {
            return Err("a receiver".into());
        };
        let Pat::Ident(name) = &*pt.pat else {
            return Err("a pattern parameter".into());
        };
        params.push(format!("{}: {}", name.ident, scalar_type(&pt.ty)?));
    }
    let ret = match &f.sig.output {
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) => {
                for e in &t.elems {
                    scalar_type(e)?;
                }
                prims::partials_struct(t.elems.len())
            }
            ty => scalar_type(ty)?.to_string(),
        },
        ReturnType::Default => return Err("no return type".into()),
    };
    let mut body = String::new();
    block(&f.block.stmts, &Sink::Return, 1, &mut body)?;
    Ok(format!(
        "fn {}({}) -> {ret} {{\n{body}}}\n",
        wgsl_name(&f.sig.ident.to_string()),
        params.join(", ")
    ))
}

fn scalar_type(ty: &Type) -> Result<&'static str, String> {
    match ty.to_token_stream().to_string().as_str() {
        "T" | "f64" => Ok("f32"),
        "i32" => Ok("i32"),
        "bool" => Ok("bool"),
        other => Err(format!("a parameter of type `{other}`")),
    }
}

/// Where a block's value goes: returned, or assigned to a variable.
enum Sink {
    Return,
    Assign(String),
}

fn indent(depth: usize) -> String {
    "    ".repeat(depth)
}

fn block(stmts: &[Stmt], sink: &Sink, depth: usize, out: &mut String) -> Result<(), String> {
    let pad = indent(depth);
    for (i, stmt) in stmts.iter().enumerate() {
        let last = i + 1 == stmts.len();
        match stmt {
            Stmt::Local(local) => {
                let Pat::Ident(name) = &local.pat else {
                    return Err("a `let` with a pattern".into());
                };
                let init = local.init.as_ref().ok_or("a `let` without a value")?;
                let name = name.ident.to_string();
                if let Expr::If(_) = &*init.expr {
                    out.push_str(&format!("{pad}var {name}: f32;\n"));
                    tail(&init.expr, &Sink::Assign(name), depth, out)?;
                } else {
                    out.push_str(&format!("{pad}let {name} = {};\n", expr(&init.expr)?));
                }
            }
            Stmt::Expr(e, None) if last => tail(e, sink, depth, out)?,
            _ => return Err("a statement other than `let` and the final value".into()),
        }
    }
    Ok(())
}

/// The statements that give `e` to `sink`.
fn tail(e: &Expr, sink: &Sink, depth: usize, out: &mut String) -> Result<(), String> {
    let pad = indent(depth);
    match e {
        Expr::If(i) => {
            out.push_str(&format!("{pad}if {} {{\n", expr(&i.cond)?));
            block(&i.then_branch.stmts, sink, depth + 1, out)?;
            let (_, else_branch) = i.else_branch.as_ref().ok_or("an `if` without `else`")?;
            out.push_str(&format!("{pad}}} else {{\n"));
            tail(else_branch, sink, depth + 1, out)?;
            out.push_str(&format!("{pad}}}\n"));
        }
        Expr::Block(b) => block(&b.block.stmts, sink, depth, out)?,
        e => {
            let value = expr(e)?;
            match sink {
                Sink::Return => out.push_str(&format!("{pad}return {value};\n")),
                Sink::Assign(name) => out.push_str(&format!("{pad}{name} = {value};\n")),
            }
        }
    }
    Ok(())
}

fn expr(e: &Expr) -> Result<String, String> {
    Ok(match e {
        Expr::Paren(p) => format!("({})", expr(&p.expr)?),
        Expr::Path(p) => {
            let last = p.path.segments.last().map(|s| s.ident.to_string());
            match (p.path.segments.len(), last.as_deref()) {
                (1, _) => p.path.to_token_stream().to_string(),
                (_, Some("LN_2")) => prims::float_literal(std::f64::consts::LN_2),
                (_, Some("LN_10")) => prims::float_literal(std::f64::consts::LN_10),
                (_, Some("PI")) => prims::float_literal(std::f64::consts::PI),
                _ => return Err(format!("the path `{}`", p.path.to_token_stream())),
            }
        }
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => format!("{}i", i.base10_digits()),
            Lit::Float(f) => prims::float_literal(f.base10_digits().parse().unwrap_or(f64::NAN)),
            _ => return Err("a literal other than a number".into()),
        },
        Expr::Unary(u) => match u.op {
            UnOp::Neg(_) => format!("-({})", expr(&u.expr)?),
            UnOp::Not(_) => format!("!({})", expr(&u.expr)?),
            _ => return Err("a dereference".into()),
        },
        Expr::Binary(b) => {
            let op = match b.op {
                BinOp::Add(_) => "+",
                BinOp::Sub(_) => "-",
                BinOp::Mul(_) => "*",
                BinOp::Div(_) => "/",
                BinOp::Lt(_) => "<",
                BinOp::Le(_) => "<=",
                BinOp::Gt(_) => ">",
                BinOp::Ge(_) => ">=",
                BinOp::Eq(_) => "==",
                BinOp::Ne(_) => "!=",
                BinOp::Or(_) => "||",
                BinOp::And(_) => "&&",
                _ => return Err(format!("the operator `{}`", b.op.to_token_stream())),
            };
            format!("({} {op} {})", expr(&b.left)?, expr(&b.right)?)
        }
        Expr::Tuple(t) => {
            let elems: Vec<String> = t.elems.iter().map(expr).collect::<Result<_, _>>()?;
            format!(
                "{}({})",
                prims::partials_struct(elems.len()),
                elems.join(", ")
            )
        }
        Expr::Call(c) => call(c)?,
        Expr::MethodCall(m) => {
            // `T::from(n).unwrap_or_else(T::nan)`: the integer as a float.
            if m.method == "unwrap_or_else"
                && let Expr::Call(inner) = &*m.receiver
                && path_text(&inner.func).as_deref() == Some("T :: from")
                && inner.args.len() == 1
            {
                return Ok(format!("f32({})", expr(&inner.args[0])?));
            }
            let receiver = expr(&m.receiver)?;
            let args: Vec<String> = m.args.iter().map(expr).collect::<Result<_, _>>()?;
            prims::method(&m.method.to_string(), &receiver, &args)
                .ok_or_else(|| format!("the method `{}`", m.method))?
        }
        _ => return Err(format!("the expression `{}`", e.to_token_stream())),
    })
}

fn path_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) => Some(p.path.to_token_stream().to_string()),
        _ => None,
    }
}

/// `T::one()`, `T::LN_2()`, `two::<T>()`, `helper(args)`.
fn call(c: &syn::ExprCall) -> Result<String, String> {
    let Expr::Path(p) = &*c.func else {
        return Err("a call of an expression".into());
    };
    let segments: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let args: Vec<String> = c.args.iter().map(expr).collect::<Result<_, _>>()?;
    let constant = |x: f64| Ok(prims::float_literal(x));
    match segments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["T", "one"] => constant(1.0),
        ["T", "zero"] => constant(0.0),
        ["T", other] => Err(format!("`T::{other}`")),
        [helper] => Ok(format!("{}({})", wgsl_name(helper), args.join(", "))),
        _ => Err(format!("a call of `{}`", p.path.to_token_stream())),
    }
}
