//! Phase 7a, lanes: which values of the JVP carry `K` tangent directions
//! at once, for `f_jvp_lanes` (vector forward mode).
//!
//! `f_jvp_lanes` is the JVP with every tangent a `Lanes<T, K>` instead of
//! a float: the primal runs once and each tangent operation acts on `K`
//! directions, so a Jacobian with `n` columns takes `n / K` passes. The IR
//! is the JVP's; what changes is the type of the tangent values, which
//! [`infer`] finds: the tangent parameters and outputs, the tangents a
//! callee's JVP takes and gives, and everything tied to them (sums,
//! negations, the scaled operand of a product, elements of tangent arrays,
//! the values control flow carries or yields). A literal is never a lane:
//! the simplifier may share one `0.0` between the primal and a tangent, so
//! a zero literal in a lane position is written as zero lanes there.
//!
//! Forward mode is linear in the tangents, so the lane values only meet
//! `+`, `-`, unary `-`, products and quotients by a primal value, and
//! conversions between float types; anything else reaching a lane makes
//! [`infer`] refuse, and the function gets [`per_lane`] instead: its scalar JVP
//! called once per lane, which costs `K` primal evaluations but works for
//! every function the JVP does. Custom rules get [`per_lane`] too.

use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident, quote};

use crate::ir::{BinOp, Class, Function, Op, UnOp, Value};
use crate::parse::{Output, Signature};

/// The name of the number of lanes in generated code.
pub fn k() -> Ident {
    format_ident!("__K")
}

/// The tangent parameters and outputs of the JVP `f` of `sig`: what
/// [`infer`] starts from.
pub fn seeds(f: &Function, sig: &Signature) -> Vec<Value> {
    let entry = f.block(f.entry);
    let offset = sig.params.len() + usize::from(sig.receiver.is_some());
    let outputs = entry.ret.len() / 2;
    let mut seeds = entry.params[offset..].to_vec();
    seeds.extend(&entry.ret[outputs..]);
    seeds
}

/// For each value of `f`, whether it carries lanes, given the tangent
/// parameters and outputs (`seeds`); `None` where a lane would meet an
/// operation lanes do not have.
pub fn infer(f: &Function, seeds: &[Value]) -> Option<Vec<bool>> {
    let mut lane = vec![false; f.values.len()];
    let is_lit = |v: Value| matches!(f.def_op(v), Some(Op::Lit(_)));
    let mut changed = true;
    let mark = |lane: &mut Vec<bool>, v: Value, changed: &mut bool| {
        if !is_lit(v) && !lane[v.index()] {
            lane[v.index()] = true;
            *changed = true;
        }
    };
    for &s in seeds {
        mark(&mut lane, s, &mut changed);
    }
    // Values that are lanes together.
    let tie = |lane: &mut Vec<bool>, a: Value, b: Value, changed: &mut bool| {
        if lane[a.index()] || lane[b.index()] {
            mark(lane, a, changed);
            mark(lane, b, changed);
        }
    };
    while changed {
        changed = false;
        for region in f.regions() {
            f.walk(region, &mut |inst| {
                let d = f.inst(inst);
                let r = d.results.first().copied();
                let c = &mut changed;
                match &d.op {
                    Op::Unary(UnOp::Neg, x)
                    | Op::Binary(BinOp::Div, x, _)
                    | Op::Index(x, _)
                    | Op::Ref(x, _)
                    | Op::Cast(x, _)
                    | Op::SubSlice(x, ..) => tie(&mut lane, *x, r.unwrap_or(*x), c),
                    Op::Binary(BinOp::Add | BinOp::Sub, x, y) => {
                        let r = r.unwrap_or(*x);
                        tie(&mut lane, *x, r, c);
                        tie(&mut lane, *y, r, c);
                    }
                    Op::Binary(BinOp::Mul, x, y) => {
                        if let Some(r) = r
                            && (lane[x.index()] || lane[y.index()])
                        {
                            mark(&mut lane, r, c);
                        }
                    }
                    Op::ArrayLit(items) => {
                        if let Some(r) = r {
                            for &item in items {
                                tie(&mut lane, item, r, c);
                            }
                        }
                    }
                    Op::Insert(a, _, x) => {
                        if let Some(r) = r {
                            tie(&mut lane, *a, r, c);
                            tie(&mut lane, *x, r, c);
                        }
                    }
                    Op::Store(a, _, v)
                    | Op::StoreAdd(a, _, v)
                    | Op::Accum(a, _, v)
                    | Op::Push(a, v, _) => tie(&mut lane, *a, *v, c),
                    Op::CallJvp(callee, _, tangents) => {
                        for &t in tangents {
                            mark(&mut lane, t, c);
                        }
                        for &t in &d.results[callee.outputs..] {
                            mark(&mut lane, t, c);
                        }
                    }
                    Op::If(_, then, els) => {
                        for (k, &r) in d.results.iter().enumerate() {
                            tie(&mut lane, r, f.block(*then).ret[k], c);
                            tie(&mut lane, r, f.block(*els).ret[k], c);
                        }
                    }
                    Op::For(_, init, body) => {
                        let b = f.block(*body);
                        for (k, &p) in b.params[1..].iter().enumerate() {
                            tie(&mut lane, p, init[k], c);
                            tie(&mut lane, p, b.ret[k], c);
                            tie(&mut lane, p, d.results[k], c);
                        }
                    }
                    Op::While(init, cond, body) => {
                        let b = f.block(*body);
                        for (k, &r) in d.results.iter().enumerate() {
                            let p = b.params[k];
                            tie(&mut lane, p, init[k], c);
                            tie(&mut lane, p, b.ret[k], c);
                            tie(&mut lane, p, r, c);
                            tie(&mut lane, p, f.block(*cond).params[k], c);
                        }
                    }
                    _ => {}
                }
            });
        }
    }
    check(f, &lane).then_some(lane)
}

/// Every use of a lane is one lanes support, and every value a lane
/// position takes is a lane or a zero literal.
fn check(f: &Function, lane: &[bool]) -> bool {
    let is = |v: &Value| lane[v.index()];
    let zero_or_lane =
        |v: &Value| is(v) || f.literal(*v).and_then(|l| l.float_value()) == Some(0.0);
    let mut ok_all = true;
    for region in f.regions() {
        f.walk(region, &mut |inst| {
            let d = f.inst(inst);
            let r = d.results.first().map(is).unwrap_or(false);
            let ok = match &d.op {
                // The result is a lane exactly when the operand is.
                Op::Unary(UnOp::Neg, x) | Op::Index(x, _) | Op::Ref(x, _) | Op::Cast(x, _) => {
                    is(x) == r
                }
                Op::SubSlice(x, lo, hi) => {
                    is(x) == r && !lo.is_some_and(|v| is(&v)) && !hi.is_some_and(|v| is(&v))
                }
                Op::Binary(BinOp::Add | BinOp::Sub, x, y) => {
                    if r {
                        zero_or_lane(x) && zero_or_lane(y)
                    } else {
                        !is(x) && !is(y)
                    }
                }
                // A lane scaled by a plain float.
                Op::Binary(BinOp::Mul, x, y) => !(is(x) && is(y)) && r == (is(x) || is(y)),
                Op::Binary(BinOp::Div, x, y) => !is(y) && is(x) == r,
                Op::ArrayLit(items) => !r || items.iter().all(zero_or_lane),
                Op::Insert(a, i, x) => {
                    !is(i)
                        && if r {
                            is(a) && zero_or_lane(x)
                        } else {
                            !is(a) && !is(x)
                        }
                }
                Op::Store(a, i, v)
                | Op::StoreAdd(a, i, v)
                | Op::Accum(a, i, v)
                | Op::Push(a, v, i) => !is(i) && (!is(a) || zero_or_lane(v)),
                Op::Zeros(..) => true,
                Op::NewArray(init, _) => !r || zero_or_lane(init),
                Op::CallJvp(c, args, tangents) => {
                    !args.iter().any(is)
                        && tangents.iter().all(zero_or_lane)
                        && d.results[..c.outputs].iter().all(|v| !is(v))
                }
                Op::If(cond, then, els) => {
                    !is(cond)
                        && d.results.iter().enumerate().all(|(k, r)| {
                            !is(r)
                                || (zero_or_lane(&f.block(*then).ret[k])
                                    && zero_or_lane(&f.block(*els).ret[k]))
                        })
                }
                Op::For(range, init, body) => {
                    !is(&range.lo)
                        && !is(&range.hi)
                        && f.block(*body).params[1..]
                            .iter()
                            .zip(init)
                            .zip(&f.block(*body).ret)
                            .all(|((p, i), y)| !is(p) || (zero_or_lane(i) && zero_or_lane(y)))
                }
                Op::While(init, _, body) => f
                    .block(*body)
                    .params
                    .iter()
                    .zip(init)
                    .zip(&f.block(*body).ret)
                    .all(|((p, i), y)| !is(p) || (zero_or_lane(i) && zero_or_lane(y))),
                op => !op.operands().iter().any(is) && !d.results.iter().any(is),
            };
            ok_all &= ok;
        });
    }
    ok_all
}

/// The lanes type of a tangent type: every float type in it (`f64`, `f32`
/// or the scalar parameter `T`) becomes `Lanes<float, __K>`; so does a
/// float alias (`Real`) and the element of a sequence alias
/// (`<Series as FloatElems>::Elem`), and an array alias `Vec3` becomes
/// `[Lanes<<Vec3 as FloatElems>::Elem, __K>; <Vec3 as FloatArray>::LEN]`
/// (`aliases.rs`).
pub fn lane_ty(ty: &TokenStream, scalar: Option<&Ident>) -> TokenStream {
    // (Tokens that are no type, the empty output of a function writing
    // output parameters, hold no float.)
    let Ok(mut t) = syn::parse2::<syn::Type>(ty.clone()) else {
        return ty.clone();
    };
    syn::visit_mut::VisitMut::visit_type_mut(&mut ToLanes { scalar }, &mut t);
    t.to_token_stream()
}

/// [`lane_ty`] on the structure of a type.
struct ToLanes<'a> {
    scalar: Option<&'a Ident>,
}

impl syn::visit_mut::VisitMut for ToLanes<'_> {
    fn visit_type_mut(&mut self, ty: &mut syn::Type) {
        use crate::aliases::{Meaning, elem_of, len_of, meaning};
        let k = k();
        let name = match &*ty {
            syn::Type::Path(p) if p.qself.is_none() => p.path.get_ident(),
            _ => None,
        };
        let float = name.is_some_and(|n| self.scalar == Some(n))
            || crate::parse::class_of_type(ty) == Some(Class::Float);
        if float {
            *ty = syn::parse_quote!(::autodiff::__private::Lanes<#ty, #k>);
        } else if name.and_then(meaning) == Some(Meaning::Floats) {
            let (elem, len) = (elem_of(ty), len_of(ty));
            *ty = syn::parse_quote!([::autodiff::__private::Lanes<#elem, #k>; #len]);
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// Zero lanes of a parameter's tangent, for a parameter outside `wrt`.
pub fn zero_lanes(len: Option<&TokenStream>, slice: bool) -> TokenStream {
    let k = k();
    let zero = quote!(::autodiff::__private::Lanes::<_, #k>::zero());
    match (slice, len) {
        (true, _) => quote!(&[] as &[::autodiff::__private::Lanes<_, #k>]),
        (false, Some(n)) => quote!([#zero; #n]),
        (false, None) => zero,
    }
}

/// The body of a lanes JVP that calls the scalar JVP `jvp` (the hidden
/// one, a tangent for every float or sequence parameter, then one per
/// output parameter) once per lane. The parameters are named as in `sig`,
/// their tangents `tangent(param)`; `call` makes the call from the
/// arguments. `None` where an output's shape is not one lanes gather.
/// The value comes from the first lane's call: `K` is at least 1.
pub fn per_lane(
    sig: &Signature,
    tangent: impl Fn(&Ident) -> Ident,
    call: impl Fn(Vec<TokenStream>) -> TokenStream,
) -> Option<TokenStream> {
    let rt = quote!(::autodiff::__private);
    let mut args = Vec::new();
    let mut before = TokenStream::new();
    let mut each = TokenStream::new();
    let mut after_each = TokenStream::new();
    for p in &sig.params {
        let n = &p.name;
        let mutable = p.ty.to_string().starts_with("& mut");
        args.push(if mutable {
            quote!(&mut *#n)
        } else {
            quote!(::core::clone::Clone::clone(&#n))
        });
    }
    for p in &sig.params {
        if !p.class.has_derivative_in_calls() {
            continue;
        }
        let d = tangent(&p.name);
        args.push(match (p.class, &p.array_len) {
            (Class::Float | Class::Unknown, _) => quote!(#d.0[__k]),
            (_, Some(_)) => quote!(#rt::lane_of_array(&#d, __k)),
            _ => quote!(&#rt::lane_of_slice(#d, __k)[..]),
        });
    }
    for p in sig.out_params() {
        let (n, d) = (&p.name, tangent(&p.name));
        let init = format_ident!("__init_{}", p.name.to_string().trim_start_matches("r#"));
        let dk = format_ident!("__lane_{}", p.name.to_string().trim_start_matches("r#"));
        before.extend(quote!(let #init = #n.to_vec();));
        each.extend(quote! {
            #n.copy_from_slice(&#init);
            let mut #dk = #rt::lane_of_slice(#d, __k);
        });
        args.push(quote!(&mut #dk[..]));
        after_each.extend(quote!(#rt::set_lane_of_slice(#d, __k, &#dk);));
    }
    let call = call(args);
    let k = k();
    let types = match &sig.output {
        Output::Scalar(t) if t.is_empty() || t.to_string() == "()" => Vec::new(),
        o => o.types(),
    };
    if types.is_empty() {
        return Some(quote! {
            #before
            for __k in 0..#k {
                #each
                #call;
                #after_each
            }
        });
    }
    let single = types.len() == 1;
    let mut gathered = Vec::new();
    for (j, ty) in types.iter().enumerate() {
        let part = if single {
            quote!(__tangents[__k])
        } else {
            let j = syn::Index::from(j);
            quote!(__tangents[__k].#j)
        };
        let ty: syn::Type = syn::parse2((*ty).clone()).ok()?;
        gathered.push(match ty {
            syn::Type::Array(_) => quote!(#rt::gather_array(&::core::array::from_fn(|__k| #part))),
            syn::Type::Path(p) if p.path.segments.last()?.ident == "Vec" => quote! {
                #rt::gather_vec(&::core::array::from_fn(|__k| ::core::clone::Clone::clone(&#part)))
            },
            syn::Type::Path(p) if p.path.segments.len() == 1 => {
                quote!(#rt::gather_scalar(&::core::array::from_fn(|__k| #part)))
            }
            _ => return None,
        });
    }
    let tangent = crate::emit::tuple_or_single(&gathered);
    Some(quote! {
        #before
        let mut __value = ::core::option::Option::None;
        let __tangents: [_; #k] = ::core::array::from_fn(|__k| {
            #each
            let (__v, __t) = #call;
            #after_each
            if __k == 0 {
                __value = ::core::option::Option::Some(__v);
            }
            __t
        });
        let __value = match __value {
            ::core::option::Option::Some(v) => v,
            ::core::option::Option::None => {
                ::core::panic!("a JVP with lanes needs at least one lane (K > 0)")
            }
        };
        (__value, #tangent)
    })
}
