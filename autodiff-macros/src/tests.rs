//! In-process tests of the pipeline: IR text after lowering and after
//! differentiation, and the prettyplease-formatted Rust the macro emits,
//! as insta snapshots (`src/snapshots/`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::{activity, lower, parse, pipeline};

/// The generated siblings, formatted.
fn expanded(args: TokenStream, item: TokenStream) -> String {
    let tokens = pipeline::derivatives(args, item).unwrap_or_else(|e| panic!("expansion failed: {e}"));
    let file: syn::File = syn::parse2(tokens.clone()).unwrap_or_else(|e| panic!("unparsable output {e}: {tokens}"));
    prettyplease::unparse(&file)
}

/// The IR after lowering, its activity, then the JVP and the VJP after
/// simplification.
fn ir(args: TokenStream, item: TokenStream) -> String {
    let item_fn: syn::ItemFn = syn::parse2(item.clone()).unwrap();
    let parsed = parse::parse(args.clone(), &item_fn).unwrap_or_else(|e| panic!("{e}"));
    let primal = lower::lower(&parsed).unwrap_or_else(|e| panic!("{e}"));
    let params = primal.block(primal.entry).params.clone();
    let offset = usize::from(parsed.sig.receiver.is_some());
    let active: Vec<_> = parsed
        .sig
        .params
        .iter()
        .zip(&params[offset..])
        .filter(|(p, _)| p.active)
        .map(|(_, &v)| v)
        .collect();
    let act = activity::activity(&primal, &active);
    let (_, d) = pipeline::differentiate(args, item).unwrap_or_else(|e| panic!("{e}"));
    let recorded: Vec<String> = activity::recorded(&d.vjp).iter().map(|v| v.to_string()).collect();
    format!(
        "# primal\n{primal}{}\n\n# jvp\n{}\n# vjp\n{}recorded: {}\n",
        activity::Display(&primal, &act),
        d.jvp,
        d.vjp,
        recorded.join(", ")
    )
}

fn error(args: TokenStream, item: TokenStream) -> String {
    match pipeline::derivatives(args, item) {
        Ok(t) => panic!("expected an error, got {t}"),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"),
    }
}

#[test]
fn quickstart_ir() {
    insta::assert_snapshot!(ir(
        quote!(),
        quote! {
            fn f(x: f64, y: f64) -> f64 {
                let a = x * y + (x / y).sin();
                let b = a.exp() - 3.0 * y.powi(2);
                a.mul_add(b, x.sqrt())
            }
        }
    ));
}

#[test]
fn quickstart_rust() {
    insta::assert_snapshot!(expanded(
        quote!(),
        quote! {
            fn f(x: f64, y: f64) -> f64 {
                let a = x * y + (x / y).sin();
                let b = a.exp() - 3.0 * y.powi(2);
                a.mul_add(b, x.sqrt())
            }
        }
    ));
}
