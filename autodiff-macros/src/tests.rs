//! In-process tests of the pipeline: IR text after lowering and after
//! differentiation, and the prettyplease-formatted Rust the macro emits,
//! as insta snapshots (`src/snapshots/`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::{activity, lower, parse, pipeline};

/// The generated siblings, formatted.
fn expanded(args: TokenStream, item: TokenStream) -> String {
    let tokens =
        pipeline::derivatives(args, item).unwrap_or_else(|e| panic!("expansion failed: {e}"));
    let file: syn::File =
        syn::parse2(tokens.clone()).unwrap_or_else(|e| panic!("unparsable output {e}: {tokens}"));
    prettyplease::unparse(&file)
}

/// The IR after lowering, its activity, then the JVP and the VJP after
/// simplification.
fn ir(args: TokenStream, item: TokenStream) -> String {
    let item_fn: syn::ItemFn = syn::parse2(item.clone()).unwrap();
    let parsed = parse::parse(args.clone(), &item_fn).unwrap_or_else(|e| panic!("{e}"));
    let mut primal = lower::lower(&parsed).unwrap_or_else(|e| panic!("{e}"));
    crate::simplify::simplify(&mut primal);
    let active = pipeline::active_params(&parsed.sig, &primal);
    let act = activity::activity(&primal, &active);
    let (_, d) = pipeline::differentiate(args, item).unwrap_or_else(|e| panic!("{e}"));
    let recorded: Vec<String> = activity::recorded(&d.vjp)
        .iter()
        .map(|v| v.to_string())
        .collect();
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
        Err(e) => e
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn quickstart() {
    let item = quote! {
        fn f(x: f64, y: f64) -> f64 {
            let a = x * y + (x / y).sin();
            let b = a.exp() - 3.0 * y.powi(2);
            a.mul_add(b, x.sqrt())
        }
    };
    insta::assert_snapshot!("quickstart_ir", ir(quote!(), item.clone()));
    insta::assert_snapshot!("quickstart_rust", expanded(quote!(), item));
}

#[test]
fn calls_and_tuple_outputs() {
    let item = quote! {
        fn caller(r: f64, t: f64) -> f64 {
            let (x, y) = shapes::polar(r, t);
            let s = square(x) + y * 2.0;
            scaled(s, 3)
        }
    };
    insta::assert_snapshot!("calls_ir", ir(quote!(), item.clone()));
    insta::assert_snapshot!("calls_rust", expanded(quote!(), item));
}

#[test]
fn tuple_output() {
    insta::assert_snapshot!(expanded(
        quote!(),
        quote! {
            pub fn polar(r: f64, theta: f64) -> (f64, f64) {
                (r * theta.cos(), r * theta.sin())
            }
        }
    ));
}

#[test]
fn method_reading_self_in_the_reverse_sweep() {
    let item = quote! {
        fn loss(&self, x: f64, target: f64) -> f64 {
            let e = self.predict(x) * self.scale - target;
            e * e
        }
    };
    insta::assert_snapshot!("method_ir", ir(quote!(), item.clone()));
    insta::assert_snapshot!("method_rust", expanded(quote!(), item));
}

#[test]
fn wrt_inactive_arguments_and_structural_zeros() {
    let item = quote! {
        fn f(x: f64, y: f64, n: i32) -> f64 {
            let mut s = x.powi(n) * y;
            s += (n as f64) * y.ln();
            s
        }
    };
    insta::assert_snapshot!("wrt_ir", ir(quote!(wrt(x)), item.clone()));
    insta::assert_snapshot!("wrt_rust", expanded(quote!(wrt(x)), item));
}

#[test]
fn errors_are_collected_not_stopped_at_the_first() {
    let messages = error(
        quote!(wrt(q)),
        quote! {
            fn f(x: f64) -> f64 {
                let a = x.foo();
                let b = if x > 0.0 { x } else { 0.0 };
                a + b
            }
        },
    );
    // The attribute error stops parsing; the body is not lowered.
    assert!(messages.contains("`q` is not a parameter"), "{messages}");
    let messages = error(
        quote!(),
        quote! {
            fn f(x: f64) -> f64 {
                let a = x.foo();
                let mut b = x;
                loop { b = b * 0.5; }
                let c = &b;
                a + b
            }
        },
    );
    let lines: Vec<&str> = messages.lines().collect();
    assert_eq!(lines.len(), 3, "{messages}");
    assert!(lines[0].contains("`foo` is not a float method"));
    assert!(lines[1].contains("this `loop` never ends"));
    assert!(lines[2].contains("takes references to arrays, slices and data only"));
}

/// The macro never panics: every variant of a set of functions with a token
/// deleted, duplicated or swapped goes through the whole pipeline, which
/// must return tokens or errors. Run without `catch_unwind`, so that a
/// panic fails this test and names the input.
#[test]
fn never_panics_on_mangled_input() {
    let corpus = [
        quote! {
            fn f(x: f64, y: f64) -> f64 {
                let a = x * y + (x / y).sin();
                let b = a.exp() - 3.0 * y.powi(2);
                a.mul_add(b, x.sqrt())
            }
        },
        quote! {
            fn g(&self, x: f32, n: usize) -> (f32, f32) {
                let (p, q) = m::h(x, n as f32);
                let mut s = p;
                s *= self.k + f32::sqrt(2.0);
                (s, { let t = q; t.max(x) })
            }
        },
        quote! {
            fn k(x: f64) -> f64 {
                let _ = x as i32;
                return -(-x % 2.0).clamp(C, 1.0);
            }
        },
        quote! {
            fn l(x: &[f64], k: usize, out: &mut [f64]) -> Vec<f64> {
                let mut s = 0.0;
                let mut y = vec![0.0; x.len()];
                for (i, &v) in x.iter().enumerate() {
                    if v > 0.0 { continue; }
                    y[i] = y[i] * v + s;
                    match k % 3 { 0 => s += v, 1 | 2 if s > 1.0 => break, _ => {} }
                }
                let mut n = 0;
                while n < k { s = s.sin(); n += 1; if s < 0.0 { return y; } }
                let t: f64 = x.iter().map(|v| v * v).sum();
                out[0] = t;
                y
            }
        },
    ];
    let args = [quote!(), quote!(wrt(x)), quote!(wrt(x, n)), quote!(wrt())];
    let per_item = 400;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    // The corpus itself is accepted: the mangling starts from working code.
    for item in &corpus {
        if let Err(e) = pipeline::derivatives(quote!(), item.clone()) {
            panic!("corpus item rejected: {e}\n{item}");
        }
    }
    let mut runs = 0;
    for item in &corpus {
        let tokens = flatten(item.clone());
        for _ in 0..per_item {
            let mut t = tokens.clone();
            let i = next(t.len());
            match next(3) {
                0 => {
                    t.remove(i);
                }
                1 => {
                    let dup = t[i].clone();
                    t.insert(i, dup);
                }
                _ => t.swap(i, next(tokens.len())),
            }
            let input = unflatten(&t);
            let args = args[next(args.len())].clone();
            let result = std::panic::catch_unwind(|| {
                let _ = pipeline::derivatives(args.clone(), input.clone());
            });
            assert!(
                result.is_ok(),
                "panicked on #[differentiable({args})] {input}"
            );
            runs += 1;
        }
    }
    assert_eq!(runs, corpus.len() * per_item);
}

/// Tokens with groups opened into delimiter markers, so that mangling can
/// reach inside them.
#[derive(Clone)]
enum Flat {
    Tree(proc_macro2::TokenTree),
    Open(proc_macro2::Delimiter),
    Close,
}

fn flatten(tokens: TokenStream) -> Vec<Flat> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            proc_macro2::TokenTree::Group(g) => {
                out.push(Flat::Open(g.delimiter()));
                out.extend(flatten(g.stream()));
                out.push(Flat::Close);
            }
            other => out.push(Flat::Tree(other)),
        }
    }
    out
}

/// Rebuilds groups; unbalanced markers are dropped.
fn unflatten(flat: &[Flat]) -> TokenStream {
    let mut stack: Vec<(proc_macro2::Delimiter, TokenStream)> =
        vec![(proc_macro2::Delimiter::None, TokenStream::new())];
    for f in flat {
        match f {
            Flat::Tree(t) => stack
                .last_mut()
                .map(|(_, s)| s.extend([t.clone()]))
                .unwrap_or_default(),
            Flat::Open(d) => stack.push((*d, TokenStream::new())),
            Flat::Close if stack.len() > 1 => {
                let (d, s) = stack
                    .pop()
                    .unwrap_or((proc_macro2::Delimiter::None, TokenStream::new()));
                let g = proc_macro2::Group::new(d, s);
                stack
                    .last_mut()
                    .map(|(_, s)| s.extend([proc_macro2::TokenTree::Group(g)]))
                    .unwrap_or_default();
            }
            Flat::Close => {}
        }
    }
    while stack.len() > 1 {
        let (d, s) = stack
            .pop()
            .unwrap_or((proc_macro2::Delimiter::None, TokenStream::new()));
        let g = proc_macro2::Group::new(d, s);
        stack
            .last_mut()
            .map(|(_, s)| s.extend([proc_macro2::TokenTree::Group(g)]))
            .unwrap_or_default();
    }
    stack.pop().map(|(_, s)| s).unwrap_or_default()
}

#[test]
fn loop_without_tape() {
    let item = quote! {
        fn rosenbrock(x: &[f64]) -> f64 {
            let mut s = 0.0;
            for i in 0..x.len() - 1 {
                let a = 1.0 - x[i];
                let b = x[i + 1] - x[i] * x[i];
                s += a * a + 100.0 * b * b;
            }
            s
        }
    };
    insta::assert_snapshot!("rosenbrock_ir", ir(quote!(), item.clone()));
    insta::assert_snapshot!("rosenbrock_rust", expanded(quote!(), item));
}

#[test]
fn loop_with_tape() {
    let item = quote! {
        fn horner(c: &[f64], x: f64) -> f64 {
            let mut y = 0.0;
            for k in (0..c.len()).rev() {
                y = y * x + c[k];
            }
            y
        }
    };
    insta::assert_snapshot!("horner_ir", ir(quote!(), item.clone()));
    insta::assert_snapshot!("horner_rust", expanded(quote!(), item));
}

#[test]
fn while_loop() {
    let item = quote! {
        fn newton_sqrt(a: f64) -> f64 {
            let mut r = a.max(1.0);
            let mut k = 0;
            while k < 6 {
                r = 0.5 * (r + a / r);
                k += 1;
            }
            r
        }
    };
    insta::assert_snapshot!("while_ir", ir(quote!(), item.clone()));
    insta::assert_snapshot!("while_rust", expanded(quote!(), item));
}

#[test]
fn early_exits() {
    let item = quote! {
        fn f(x: &[f64]) -> f64 {
            let mut s = 0.0;
            for i in 0..x.len() {
                if x[i] < 0.0 {
                    continue;
                }
                s += x[i];
                if s > 1.0 {
                    return s;
                }
            }
            s * 2.0
        }
    };
    insta::assert_snapshot!("exits_rust", expanded(quote!(), item));
}

#[test]
fn written_arrays() {
    let item = quote! {
        fn residual(x: &[f64], c: f64) -> Vec<f64> {
            let n = x.len();
            let mut r = vec![0.0; n];
            for i in 0..n {
                r[i] = x[i] * x[i] - c;
                if i > 0 {
                    r[i] += x[i - 1].sin();
                }
            }
            r
        }
    };
    insta::assert_snapshot!("arrays_rust", expanded(quote!(), item));
}

#[test]
fn output_parameter() {
    let item = quote! {
        fn residual_into(x: &[f64], k: f64, out: &mut [f64]) {
            for i in 0..out.len() {
                out[i] = x[i] * x[i] - k;
            }
        }
    };
    insta::assert_snapshot!("out_param_rust", expanded(quote!(), item));
}

/// A loop touching arrays only at its index saves their ranges before it:
/// no save, mark or restore per iteration (`vjp.rs`, `snapshot_loops`).
#[test]
fn range_snapshots() {
    let item = quote! {
        fn step(x: &[f64], h: f64, y: &mut [f64]) {
            let n = y.len();
            let mut t = vec![0.0; n];
            for i in 0..n {
                t[i] = y[i] + h * x[i];
            }
            let s = sqnorm(&t);
            for i in 0..n {
                y[i] += t[i] * s;
            }
            for i in 0..n {
                t[i] = y[i] * 2.0;
            }
            sink(&t, h);
        }
    };
    let code = expanded(quote!(), item);
    assert!(code.contains("old_t.save_range(&t, 0, n)"), "{code}");
    assert!(code.contains("old_y.save_range(&y, 0, n)"), "{code}");
    for per_element in [".save(&", ".restore(&", "marks_"] {
        assert!(!code.contains(per_element), "{per_element} in {code}");
    }
}

/// Scratch arrays keep no old values: `c` is rewritten by a loop, `q` by
/// a callee (whose `fills` constant switches its tape off), `terms` by the
/// loop over `k` (`scratch.rs`).
#[test]
fn scratch_arrays() {
    let item = quote! {
        fn mixture(x: &[f64], means: &[f64], k: usize) -> f64 {
            let d = means.len() / k;
            let n = x.len() / d;
            let mut c = vec![0.0; d];
            let mut q = vec![0.0; d];
            let mut terms = vec![0.0; k];
            let mut total = 0.0;
            for ix in 0..n {
                for ik in 0..k {
                    for id in 0..d {
                        c[id] = x[ix * d + id] - means[ik * d + id];
                    }
                    fill(&c, &mut q);
                    terms[ik] = sqnorm(&q);
                }
                total += logsumexp(&terms);
            }
            total
        }
    };
    let code = expanded(quote!(), item);
    assert!(!code.contains("old_c"), "{code}");
    assert!(!code.contains("old_terms"), "{code}");
    let flat: String = code.split_whitespace().collect();
    assert!(
        flat.contains("old_q.skip_saves_if(::core::matches!(__fill_fills[1usize],::core::option::Option::Some(0usize)|::core::option::Option::Some(1usize))"),
        "{code}"
    );
}

/// A counter of index arithmetic (`idx += 1` in every iteration) is
/// recomputed backwards, not taped (`vjp.rs`, `counters`).
#[test]
fn counters_need_no_tape() {
    let item = quote! {
        fn packed(l: &[f64], x: &[f64]) -> f64 {
            let d = x.len();
            let mut s = 0.0;
            for i in 0..d {
                let mut idx = i * d;
                let mut down = d;
                for j in 0..d {
                    s += l[idx] * x[j] * x[down - 1];
                    idx += 1;
                    down -= 1;
                }
            }
            s
        }
    };
    let code = expanded(quote!(), item);
    assert!(!code.contains("tape_idx"), "{code}");
    assert!(!code.contains("tape_down"), "{code}");
    assert!(code.contains("idx_next - 1"), "{code}");
    assert!(code.contains("down_next + 1"), "{code}");
}

/// The size of the generated code: lines of the formatted expansion (what
/// `cargo expand` shows) per line of the formatted source, over the
/// ADBench objectives (`tests/objectives/mod.rs`). Writes the table to
/// `target/generated-code-size.md` for `docs/benchmarks.sh`.
#[test]
fn generated_code_size() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let text = std::fs::read_to_string(format!("{root}/tests/objectives/mod.rs")).unwrap();
    let file = syn::parse_file(&text).unwrap();
    let lines = |item: syn::Item| {
        prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: vec![],
            items: vec![item],
        })
        .lines()
        .count()
    };
    let (mut source, mut generated) = (0, 0);
    let mut table =
        String::from("| function | source lines | generated lines | ratio |\n|---|---|---|---|\n");
    for item in file.items {
        let syn::Item::Fn(mut f) = item else { continue };
        let Some(k) = f
            .attrs
            .iter()
            .position(|a| a.path().is_ident("differentiable"))
        else {
            continue;
        };
        let attr = f.attrs.remove(k);
        let args = match attr.meta {
            syn::Meta::List(l) => l.tokens,
            _ => TokenStream::new(),
        };
        f.attrs.retain(|a| !a.path().is_ident("doc"));
        let tokens = pipeline::derivatives(args, quote!(#f)).unwrap();
        let expanded: syn::File = syn::parse2(tokens).unwrap();
        let s = lines(syn::Item::Fn(f.clone()));
        let g = prettyplease::unparse(&expanded).lines().count();
        table += &format!(
            "| `{}` | {s} | {g} | {:.1} |\n",
            f.sig.ident,
            g as f64 / s as f64
        );
        source += s;
        generated += g;
    }
    let ratio = generated as f64 / source as f64;
    table += &format!("| all | {source} | {generated} | **{ratio:.1}** |\n");
    println!("{table}");
    let _ = std::fs::create_dir_all(format!("{root}/target"));
    let _ = std::fs::write(format!("{root}/target/generated-code-size.md"), &table);
    // A guard against regressions: 36.5 before the siblings shared one
    // reverse sweep, 23.2 after, 29.6 with the lanes JVP (one more body
    // the size of the JVP's).
    assert!(ratio <= 31.0, "generated code is {ratio:.1}x its source");
}

/// Adjoint loops that only add into gradient buffers run forwards; one
/// whose adjoint carries a product stays reversed (`simplify.rs`,
/// `forward_order_free_loops`).
#[test]
fn order_free_adjoint_loops_run_forwards() {
    let item = quote! {
        fn llsq(w: &[f64], x: &[f64], y: &[f64]) -> f64 {
            let m = w.len();
            let mut s = 0.0;
            for i in 0..y.len() {
                let mut p = 0.0;
                for j in 0..m {
                    p += x[i * m + j] * w[j];
                }
                let r = y[i] - p;
                s += r * r;
            }
            let mut q = 1.0;
            for j in 0..m {
                q = q * w[j];
            }
            0.5 * s + q
        }
    };
    let code = expanded(quote!(wrt(w)), item);
    let grad = &code[code.find("fn llsq_grad").unwrap()..];
    // The sum's loops, outer and inner, forwards; the product's reversed.
    assert_eq!(grad.matches(".rev()").count(), 1, "{grad}");
}

/// `gx[i] += ..` in a loop over `j` is summed in a register and added once
/// after the loop (`simplify.rs`, `promote_accumulations`).
#[test]
fn invariant_accumulations_leave_loops() {
    let item = quote! {
        fn quad(a: &[f64], x: &[f64]) -> f64 {
            let n = x.len();
            let mut s = 0.0;
            for i in 0..n {
                for j in 0..n {
                    s += a[i * n + j] * x[j] * x[i];
                }
            }
            s
        }
    };
    let (_, d) = pipeline::differentiate(quote!(wrt(x)), item.clone()).unwrap();
    assert!(crate::simplify::promotable(&d.vjp).is_none());
    let code = expanded(quote!(wrt(x)), item);
    let grad = &code[code.find("fn quad_grad").unwrap()..];
    // The inner loop's sum of `x[i]`'s adjoint, added right after it.
    let lines: Vec<&str> = grad.lines().map(str::trim).collect();
    let after_loop = lines
        .windows(2)
        .any(|w| w[0] == "}" && w[1].starts_with("gx[i"));
    assert!(after_loop, "{grad}");
}

/// A caller does not save an array around a callee's pullback when the
/// callee's `__f_restores` says the pullback puts it back itself.
#[test]
fn arrays_a_callee_restores_are_not_saved_around_its_pullback() {
    let item = quote! {
        fn steps(x: &[f64], n: usize) -> f64 {
            let mut y = vec![0.0; x.len()];
            for _ in 0..n {
                step(x, &mut y);
            }
            y[0]
        }
    };
    let code = expanded(quote!(), item);
    let flat: String = code.split_whitespace().collect();
    assert!(
        flat.contains("if!__step_restores[1usize]{old_y.save_all(&y);}"),
        "{code}"
    );
    assert!(
        flat.contains("if!__step_restores[1usize]{old_y.restore_all(&mut"),
        "{code}"
    );
}

/// The WGSL of a GPU function: the rules it needs and its own functions
/// (a module starts with the prelude too).
fn wgsl(item: TokenStream) -> String {
    let item_fn: syn::ItemFn = syn::parse2(item).unwrap();
    let parsed = parse::parse(quote!(gpu), &item_fn).unwrap_or_else(|e| panic!("{e}"));
    let k = crate::gpu::kernels(&parsed).unwrap_or_else(|e| panic!("{e}"));
    k.pieces.concat()
}

/// Parses and validates WGSL with naga, as wgpu does before compiling it.
fn validate_wgsl(source: &str) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{}\n{source}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{}\n{source}", e.emit_to_string(source)));
}

/// The WGSL of `#[differentiable(gpu)]` functions, validated by naga and
/// read before it was accepted: a branch, a call (its pullback applied by
/// calling the callee's VJP), an unrolled loop.
#[test]
fn gpu_wgsl() {
    let branch = quote! {
        fn f(x: f32, y: f32) -> f32 {
            let s = x.sin() * y;
            if s > 0.0 { s.sqrt() } else { -s }
        }
    };
    let call = quote! {
        fn g(x: f32, y: f32) -> f32 {
            h(x * y) + x
        }
    };
    let looped = quote! {
        fn p(x: f32) -> f32 {
            let mut s = 0.0;
            for k in 0..3 {
                s = s * x + (k as f32);
            }
            s
        }
    };
    for (name, item) in [("branch", branch), ("call", call), ("loop", looped)] {
        let pieces = wgsl(item);
        // The callee of `g` is another GPU function: declare it for naga.
        let with_callee = format!(
            "{}{pieces}fn u_h(x: f32) -> f32 {{ return x; }}\n\
             fn u_h_jvp(x: f32, dx: f32) -> AdTuple2 {{ return AdTuple2(x, dx); }}\n\
             fn u_h_vjp(x: f32, dr: f32) -> f32 {{ return dr; }}\n",
            crate::gpu::prims::prelude()
        );
        validate_wgsl(&with_callee);
        insta::assert_snapshot!(format!("gpu_{name}"), pieces);
    }
}

/// Every rule of `rules/partials.rs` translates to WGSL that naga accepts,
/// and every primitive has one.
#[test]
fn every_rule_translates_to_wgsl() {
    let mut module = crate::gpu::prims::prelude();
    for p in crate::primitives::PRIMS {
        for piece in crate::gpu::rules::wgsl_rule(p.name).unwrap_or_else(|e| panic!("{e}")) {
            if !module.contains(&piece) {
                module.push_str(&piece);
            }
        }
    }
    for (name, rule) in crate::gpu::rules::translated() {
        assert!(rule.is_ok(), "{name}: {rule:?}");
    }
    validate_wgsl(&module);
}

#[test]
fn gpu_errors_point_at_the_construct() {
    let cases = [
        (
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
            "takes `f32` parameters only",
        ),
        (
            quote!(
                fn f(x: f32) -> (f32, f32) {
                    (x, x)
                }
            ),
            "returns one `f32`",
        ),
        (
            quote!(
                fn f(x: f32, n: usize) -> f32 {
                    let mut s = x;
                    for _ in 0..n {
                        s = s * x;
                    }
                    s
                }
            ),
            "takes `f32` parameters only",
        ),
        (
            quote!(
                fn f(x: f32) -> f32 {
                    let mut s = x;
                    while s < 10.0 {
                        s = s * 2.0;
                    }
                    s
                }
            ),
            "does not support `while`",
        ),
        (
            quote!(
                fn f(x: f32) -> f32 {
                    x * SCALE
                }
            ),
            "cannot read `SCALE`",
        ),
        (
            quote!(
                fn f(x: f32) -> f32 {
                    let mut s = x;
                    for _ in 0..2000 {
                        s = s.sin();
                    }
                    s
                }
            ),
            "more than 1024 iterations",
        ),
    ];
    for (item, message) in cases {
        let e = gpu_error(item.clone());
        assert!(e.contains(message), "{item}: {e}");
    }
}

fn gpu_error(item: TokenStream) -> String {
    match pipeline::derivatives(quote!(gpu), item) {
        Ok(t) => panic!("expected an error, got {t}"),
        Err(e) => e.to_string(),
    }
}

/// A function generic over its scalar: the siblings carry `T`, constants
/// are `lit::<T>(..)`, `T::zero()` is a constant and `T::from(x).unwrap()`
/// a cast, gradient buffers add without `+=` (which `Float` lacks).
#[test]
fn generic_scalar() {
    let item = quote! {
        fn f<T: Float>(x: &[T], c: T) -> T {
            let mut s = T::zero();
            for i in 0..x.len() {
                s = s + (x[i] * c).sin() * T::from(i).unwrap() + T::from(0.5).unwrap();
            }
            s * s
        }
    };
    let args = quote!();
    let generics = syn::parse2::<syn::ItemFn>(item.clone())
        .unwrap()
        .sig
        .generics;
    let out = parse::with_scalar_of(&generics, || expanded(args, item));
    insta::assert_snapshot!(out);
}

/// Struct variables, once the structs' macros have told their fields: the
/// inner function's body on leaves. A literal bound to a variable, a call's
/// result (its type from the fields read), the variable copied and
/// updated in a loop, passed on, and returned.
#[test]
fn struct_variables_rust() {
    let input = quote! {
        [__Structs __StructsTangent
            resolved s: State [State StateTangent scalar x: f64, scalar v: f64],
            resolved spring: Spring [Spring SpringTangent scalar k: f64],
            resolved __out: State [State StateTangent scalar x: f64, scalar v: f64]]
        (wrt(s, spring))
        fn steps(s: &State, spring: &Spring, h: f64, n: usize) -> State {
            let k1 = force(s, spring);
            let mid = State { x: s.x + h * k1.x, v: s.v + h * k1.v };
            let mut cur = mid.clone();
            for _ in 0..n {
                cur = step(&cur, spring, h);
            }
            cur
        }
    };
    let tokens = crate::structs::expand_with_fields(input);
    let file: syn::File =
        syn::parse2(tokens.clone()).unwrap_or_else(|e| panic!("unparsable output {e}: {tokens}"));
    // The inner function and what is emitted beside it, before the
    // siblings the ordinary pipeline derives from it.
    let items: Vec<syn::Item> = file
        .items
        .into_iter()
        .filter(|i| match i {
            syn::Item::Fn(f) => f.sig.ident == "__steps_fields",
            syn::Item::Type(_) | syn::Item::Const(_) => true,
            _ => false,
        })
        .collect();
    insta::assert_snapshot!(prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: Vec::new(),
        items,
    }));
}

/// An array value carried by a loop (`s = turn(s, a)`): forward mode
/// carries its tangent array; reverse mode carries its cotangent buffer
/// backwards, the call's pullback adding into the parameter's buffer.
#[test]
fn carried_array_rust() {
    let item = quote! {
        fn spin(s0: [f64; 2], a: f64, n: usize) -> f64 {
            let mut s = s0;
            for _ in 0..n {
                s = turn(s, a);
            }
            s[0] * s[0] + 3.0 * s[1]
        }
    };
    insta::assert_snapshot!(ir(quote!(), item));
}

/// Writing an element of an array value (`q[i] += e`): a new array value
/// with the element replaced (`insert`); reverse mode takes the element's
/// cotangent out of the buffer and passes the rest on.
#[test]
fn array_value_writes() {
    let item = quote! {
        fn bump(s: [f64; 2], h: f64) -> f64 {
            let mut q = s;
            q[1] += h * q[0];
            q[0] * q[1]
        }
    };
    insta::assert_snapshot!(ir(quote!(), item));
}

/// Linear blend skinning with weights stored densely: the tangent of each
/// `w * s` (four tangent loads and a dot product) and its addition into
/// `dskinned` move under `if w != 0.0` (`zeros.rs`), and so do the adjoint
/// `w * gskinned[..]` and the four additions into `gtransforms` it feeds;
/// the primal is as written, and a factor the function computes (`s`
/// itself) is not tested.
#[test]
fn zero_weights_skip_tangents() {
    let item = quote! {
        fn skin(transforms: &[f64], base: &[f64], weights: &[f64], n_bones: usize, skinned: &mut [f64]) {
            let n_verts = base.len() / 4;
            for b in 0..n_bones {
                for v in 0..n_verts {
                    let w = weights[b * n_verts + v];
                    for i in 0..3 {
                        let mut s = 0.0;
                        for k in 0..4 {
                            s += transforms[16 * b + 4 * i + k] * base[4 * v + k];
                        }
                        skinned[3 * v + i] += w * s;
                    }
                }
            }
        }
    };
    let ir = ir(quote!(wrt(transforms)), item);
    let derivatives = &ir[ir.find("# jvp").unwrap()..];
    insta::assert_snapshot!("zero_weights", derivatives);
}

/// The rule for in-out parameters (`Activity::in_out`): the initial
/// contents of an output parameter the body reads vary, so a state updated
/// only from itself is active; one only assigned (or assigned before it is
/// added into) is not an input.
#[test]
fn in_out_parameters_are_inputs() {
    let in_out = |item: TokenStream| {
        let f: syn::ItemFn = syn::parse2(item).unwrap();
        let parsed = parse::parse(quote!(), &f).unwrap();
        let mut primal = lower::lower(&parsed).unwrap();
        crate::simplify::simplify(&mut primal);
        let y = primal.block(primal.entry).params[1];
        let active = pipeline::active_params(&parsed.sig, &primal);
        let act = activity::activity(&primal, &active);
        let params = &act.in_out;
        // Is the value read from `y` active?
        let mut read_active = false;
        primal.walk(primal.entry, &mut |i| {
            if let crate::ir::Op::Index(a, _) = primal.inst(i).op {
                read_active |= a == y && act.is_active(primal.inst(i).results[0]);
            }
        });
        (params.contains(&y), read_active)
    };
    // Read: an input, and what is read from it is active although no
    // other active argument reaches it.
    let half = quote! {
        fn half(k: f64, y: &mut [f64]) {
            for i in 0..y.len() { y[i] = y[i] * 0.5; }
        }
    };
    assert_eq!(in_out(half), (true, true));
    // Added into: an input.
    let part = quote! {
        fn part(k: f64, y: &mut [f64]) { y[0] = k; y[1] += k; }
    };
    assert!(in_out(part).0);
    // Only assigned, or assigned before it is added into: not an input.
    let residual = quote! {
        fn residual(k: f64, out: &mut [f64]) {
            for i in 0..out.len() {
                out[i] = k * 2.0;
                if i > 0 { out[i] -= k; }
            }
        }
    };
    assert_eq!(in_out(residual), (false, false));
}
