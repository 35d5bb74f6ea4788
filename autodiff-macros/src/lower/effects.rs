//! Macros run for their effects: checks (`assert!`, `assert_eq!`,
//! `debug_assert!`), output (`println!`, `eprintln!`, `dbg!`) and panics
//! (`panic!`, `unreachable!`, `todo!`). Each is an [`Op::Effect`]: its
//! expression arguments are lowered like any others (the values it prints
//! are the primal's), its literal ones kept as tokens, and every sibling
//! runs it where the primal does, once (the reverse sweep's recomputations
//! leave it out, [`crate::simplify`]).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;

use super::{Bound, Lower};
use crate::ir::{Op, Tokens, Value};

/// The macros of `std` run for their effects, and how many leading
/// arguments of each are values rather than a format string.
const EFFECTS: &[(&str, usize)] = &[
    ("assert", 1),
    ("debug_assert", 1),
    ("assert_eq", 2),
    ("assert_ne", 2),
    ("debug_assert_eq", 2),
    ("debug_assert_ne", 2),
    ("println", 0),
    ("print", 0),
    ("eprintln", 0),
    ("eprint", 0),
    ("panic", 0),
    ("unreachable", 0),
    ("todo", 0),
    ("unimplemented", 0),
];

/// The macros after which nothing runs.
const DIVERGING: &[&str] = &["panic", "unreachable", "todo", "unimplemented"];

/// Whether `mac` is a check or output macro of [`EFFECTS`] (one that does
/// not diverge).
pub(crate) fn is_check_or_output(mac: &syn::Macro) -> bool {
    mac.path.segments.last().is_some_and(|s| {
        let name = s.ident.to_string();
        !DIVERGING.contains(&name.as_str()) && EFFECTS.iter().any(|(n, _)| *n == name)
    })
}

impl Lower {
    /// A macro in a body: `vec!` is an array (lowered elsewhere), the macros
    /// of [`EFFECTS`] and `dbg!` run for their effects; others are an error.
    pub(super) fn macro_call(&mut self, mac: &syn::Macro) -> Option<Bound> {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let std_path = mac.path.segments.len() == 1
            || mac
                .path
                .segments
                .first()
                .is_some_and(|s| s.ident == "std" || s.ident == "core");
        if name == "dbg" && std_path {
            return self.dbg(mac);
        }
        let Some(&(_, values)) = EFFECTS
            .iter()
            .find(|(n, _)| *n == name)
            .filter(|_| std_path)
        else {
            self.errors.at(
                mac,
                format_args!(
                    "macro calls (`{name}!`) are not supported inside a #[differentiable] \
                     function; #[differentiable] runs `assert!`, `assert_eq!`, `debug_assert!`, \
                     `println!`, `eprintln!`, `dbg!` and `panic!`: write the computation without \
                     the macro, or move it to a function outside"
                ),
            );
            return None;
        };
        let args =
            match mac.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated) {
                Ok(args) => args,
                Err(e) => {
                    self.errors.push(e);
                    return None;
                }
            };
        let span = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.span())
            .unwrap_or_else(Span::call_site);
        let mut operands = Vec::new();
        let mut tokens = Vec::new();
        let mut named = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            if i >= values
                && let syn::Expr::Assign(a) = arg
                && let syn::Expr::Path(p) = &*a.left
                && let Some(ident) = p.path.get_ident()
            {
                // `name = value`.
                named.push(ident.to_string());
                let v = self.value(&a.right)?;
                let o = self.operand(v, &mut operands);
                tokens.push(quote!(#ident = #o));
                continue;
            }
            if i >= values
                && let syn::Expr::Lit(l) = arg
                && let syn::Lit::Str(_) = &l.lit
            {
                tokens.push(l.to_token_stream());
                continue;
            }
            let v = self.value(arg)?;
            tokens.push(self.operand(v, &mut operands));
        }
        // The variables a format string names (`"{x:.3}"`) are passed by name.
        if let Some(syn::Expr::Lit(l)) = args.iter().nth(values)
            && let syn::Lit::Str(s) = &l.lit
        {
            for name in format_captures(&s.value()) {
                if named.contains(&name) {
                    continue;
                }
                let ident = format_ident!("{}", name, span = s.span());
                let path: syn::Expr = syn::parse_quote!(#ident);
                let v = self.value(&path)?;
                let o = self.operand(v, &mut operands);
                tokens.push(quote!(#ident = #o));
                named.push(name);
            }
        }
        let macro_name = format_ident!("{}", name, span = span);
        let call = quote_spanned!(span=> ::std::#macro_name!(#(#tokens),*));
        // A panic is written `if true { panic!(..) }`: the siblings go on
        // after it (to placeholders), which rustc would warn are unreachable.
        let call = if DIVERGING.contains(&name.as_str()) {
            quote_spanned!(span=> if true { #call })
        } else {
            call
        };
        self.f.push(
            self.block,
            Op::Effect(Tokens::new(call), operands),
            &[],
            span,
        );
        Some(if DIVERGING.contains(&name.as_str()) {
            Bound::Diverged
        } else {
            Bound::Tuple(vec![])
        })
    }

    /// `dbg!(e)`: prints `e` and is its value.
    fn dbg(&mut self, mac: &syn::Macro) -> Option<Bound> {
        let e: syn::Expr = match mac.parse_body() {
            Ok(e) => e,
            Err(_) => {
                self.errors
                    .at(mac, "#[differentiable] takes `dbg!` of one expression");
                return None;
            }
        };
        let v = self.value(&e)?;
        let mut operands = Vec::new();
        let o = self.operand(v, &mut operands);
        let call = quote!(::std::dbg!(#o));
        self.f.push(
            self.block,
            Op::Effect(Tokens::new(call), operands),
            &[],
            mac.path
                .segments
                .last()
                .map(|s| s.ident.span())
                .unwrap_or_else(Span::call_site),
        );
        Some(Bound::Value(v))
    }

    /// `v` as the next operand of an effect: the identifier that stands
    /// for it.
    fn operand(&mut self, v: Value, operands: &mut Vec<Value>) -> TokenStream {
        let ident = format_ident!("__operand{}", operands.len());
        operands.push(v);
        quote!(#ident)
    }
}

/// The names a format string captures: `x` in `"{x}"`, `"{x:.3}"`.
fn format_captures(s: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            continue;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '}' || c == ':' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if ident && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}
