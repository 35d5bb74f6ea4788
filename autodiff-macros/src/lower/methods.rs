//! The slice and `Vec` methods users reach for, lowered by writing them as
//! the loops and element reads they stand for (see docs/supported.md for
//! the table): `to_vec`, `fill`, `copy_from_slice`, `swap`, `sort_by`,
//! `first`, `split_at`, ...

use quote::quote_spanned;
use syn::parse_quote_spanned;
use syn::spanned::Spanned;

use super::flow::strip;
use super::{Bound, Lower};
use crate::ir::Class;

/// The length of a slice expression, without taking a part of it:
/// `hi - lo` for `x[lo..hi]`.
fn slice_len(x: &syn::Expr) -> syn::Expr {
    let x = match strip(x) {
        syn::Expr::Reference(r) => &*r.expr,
        other => other,
    };
    if let syn::Expr::Index(ix) = strip(x)
        && let syn::Expr::Range(r) = strip(&ix.index)
    {
        let base = &ix.expr;
        let lo: syn::Expr = r
            .start
            .as_deref()
            .cloned()
            .unwrap_or_else(|| syn::parse_quote!(0));
        let hi: syn::Expr = match (&r.end, &r.limits) {
            (None, _) => syn::parse_quote!(#base.len()),
            (Some(h), syn::RangeLimits::HalfOpen(_)) => (**h).clone(),
            (Some(h), syn::RangeLimits::Closed(_)) => syn::parse_quote!(#h + 1),
        };
        return syn::parse_quote!(((#hi) - (#lo)));
    }
    syn::parse_quote!(#x.len())
}

impl Lower {
    /// A slice or `Vec` method, lowered; `None` when `m` is not one.
    pub(super) fn slice_method(&mut self, m: &syn::ExprMethodCall) -> Option<Option<Bound>> {
        let method = m.method.to_string();
        let span = m.span();
        let x = &*m.receiver;
        let arg = |i: usize| m.args.get(i);
        let by_name = matches!(strip(x), syn::Expr::Path(_) | syn::Expr::Index(_));
        let by_path = matches!(strip(x), syn::Expr::Path(_));
        let rewritten: syn::Expr = match (method.as_str(), m.args.len()) {
            ("to_vec" | "to_owned" | "clone", 0) => return Some(self.copy(x, span)),
            ("as_slice" | "as_mut_slice", 0) => return Some(self.expr(x)),
            ("is_empty", 0) => parse_quote_spanned!(span=> #x.len() == 0),
            ("fill", 1) if by_name => {
                let v = arg(0)?;
                parse_quote_spanned!(span=> {
                    let __fill = #v;
                    for __e in #x.iter_mut() { *__e = __fill; }
                })
            }
            ("copy_from_slice" | "clone_from_slice", 1) if by_name => {
                let src = arg(0)?;
                let (n, m) = (slice_len(x), slice_len(src));
                parse_quote_spanned!(span=> {
                    ::core::assert!(
                        #n == #m,
                        "source slice length does not match destination slice length"
                    );
                    for (__d, __s) in #x.iter_mut().zip(#src) { *__d = *__s; }
                })
            }
            ("extend_from_slice", 1) if by_path => {
                let src = arg(0)?;
                parse_quote_spanned!(span=> {
                    let __src = #src;
                    for __s in __src.iter() { #x.push(*__s); }
                })
            }
            ("swap", 2) if by_path => {
                let (i, j) = (arg(0)?, arg(1)?);
                parse_quote_spanned!(span=> {
                    let (__i, __j) = (#i, #j);
                    let __t = #x[__i];
                    #x[__i] = #x[__j];
                    #x[__j] = __t;
                })
            }
            ("resize", 2) if by_path => {
                let (n, v) = (arg(0)?, arg(1)?);
                parse_quote_spanned!(span=> {
                    let (__len, __value) = (#n, #v);
                    ::core::assert!(
                        #x.len() <= __len,
                        "#[differentiable] grows vectors with `resize`, it does not shrink them"
                    );
                    while #x.len() < __len { #x.push(__value); }
                })
            }
            ("split_at", 1) => {
                let k = arg(0)?;
                parse_quote_spanned!(span=> {
                    let __mid = #k;
                    (&#x[..__mid], &#x[__mid..])
                })
            }
            // Stable, as `sort_by` is: an insertion sort, quadratic, whose
            // derivative follows the permutation it finds.
            ("sort_by" | "sort_unstable_by", 1) if by_path => {
                let cmp = match super::iter::comparator(arg(0)?) {
                    Ok(c) => c,
                    Err(e) => {
                        self.errors.push(e);
                        return Some(None);
                    }
                };
                let greater = match cmp.greater(
                    parse_quote_spanned!(span=> #x[__j - 1]),
                    parse_quote_spanned!(span=> #x[__j]),
                ) {
                    Ok(g) => g,
                    Err(e) => {
                        self.errors.push(e);
                        return Some(None);
                    }
                };
                parse_quote_spanned!(span=> {
                    for __i in 1..#x.len() {
                        let mut __j = __i;
                        while __j > 0 {
                            if !(#greater) { break; }
                            #x.swap(__j - 1, __j);
                            __j -= 1;
                        }
                    }
                })
            }
            (
                "fill" | "copy_from_slice" | "clone_from_slice" | "extend_from_slice" | "swap"
                | "resize" | "sort_by" | "sort_unstable_by",
                _,
            ) => {
                self.errors.at(
                    x,
                    format_args!(
                        "#[differentiable] rewrites `.{method}(..)` on a slice or `Vec` by name \
                         (`v.{method}(..)`; `fill` and `copy_from_slice` also on `v[a..b]`); \
                         bind this to a variable first"
                    ),
                );
                return Some(None);
            }
            (
                "truncate" | "clear" | "pop" | "insert" | "remove" | "retain" | "dedup" | "drain",
                _,
            ) => {
                self.errors.at(
                    &m.method,
                    format_args!(
                        "#[differentiable] does not change the length of a vector with \
                         `.{method}(..)`; make a new one of the length you need \
                         (`vec![0.0; n]`, or `collect()` of a chain)"
                    ),
                );
                return Some(None);
            }
            ("first" | "last", 0) => {
                self.errors.at(
                    m,
                    format_args!(
                        "`.{method}()` gives an `Option`, which #[differentiable] takes apart where \
                         it is made: write `{m}.unwrap()` or `{m}.copied().unwrap_or(v)`, or index \
                         the slice",
                        m = quote::ToTokens::to_token_stream(m)
                    ),
                );
                return Some(None);
            }
            _ => return None,
        };
        Some(self.lower_with(vec![], &rewritten, 1))
    }

    /// `x.first().unwrap()`, `x.last().copied().unwrap_or(v)`: the element.
    pub(super) fn first_or_last(
        &mut self,
        m: &syn::ExprMethodCall,
        unwrap: &super::iter::Unwrap,
    ) -> Option<Option<Bound>> {
        let m = match strip(&m.receiver) {
            syn::Expr::MethodCall(inner)
                if (m.method == "copied" || m.method == "cloned") && m.args.is_empty() =>
            {
                inner
            }
            _ => m,
        };
        let method = m.method.to_string();
        if !matches!(method.as_str(), "first" | "last") || !m.args.is_empty() {
            return None;
        }
        let x = &*m.receiver;
        let span = m.span();
        let at: syn::Expr = if method == "first" {
            parse_quote_spanned!(span=> 0)
        } else {
            parse_quote_spanned!(span=> __s.len() - 1)
        };
        let e: syn::Expr = match unwrap {
            super::iter::Unwrap::Panic => parse_quote_spanned!(span=> { let __s = &#x; __s[#at] }),
            super::iter::Unwrap::Or(d) => parse_quote_spanned!(span=> {
                let __s = &#x;
                if __s.len() > 0 { __s[#at] } else { #d }
            }),
        };
        Some(self.lower_with(vec![], &e, 1))
    }

    /// `x.to_vec()`: a new vector with the elements of a slice or array;
    /// a value (a float, an array value) is itself.
    fn copy(&mut self, x: &syn::Expr, span: proc_macro2::Span) -> Option<Bound> {
        let b = self.expr(x)?;
        let Bound::Value(v) = b else { return Some(b) };
        if Some(v) == self.poison {
            return Some(b);
        }
        self.call_returns_array(v);
        let copy = matches!(
            self.f.class(v),
            Class::Slice | Class::SliceMut | Class::Array
        ) || self.is_data_sequence(v);
        if !copy {
            return Some(b);
        }
        let s = quote::format_ident!("__copied", span = span);
        let e: syn::Expr = syn::parse2(quote_spanned!(span=> {
            let mut __copy = ::std::vec::Vec::with_capacity(#s.len());
            for __e in #s.iter() { __copy.push(*__e); }
            __copy
        }))
        .ok()?;
        self.lower_with(vec![(s, Bound::Value(v))], &e, 1)
    }
}
