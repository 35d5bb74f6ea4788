//! Arrays the function writes and returns: `vec![0.0; n]`, `[0.0; N]`,
//! `Vec::with_capacity(n)` with `push`, written by `a[i] = e`, `a[i] += e`,
//! `a[i] -= e`. They are written only, never read back: so the reverse
//! sweep needs none of their values, only the cotangent of the output they
//! become. A `Vec` filled by `push` has a hidden length variable, which
//! gives each pushed value its position.

use proc_macro2::{Literal, Span};
use syn::parse::Parser;
use syn::spanned::Spanned;

use super::flow::strip;
use super::{Bound, Lower};
use crate::ir::{ArrayShape, BinOp, Class, Lit, Op, Tokens, UnOp, Value};

/// How an element is written.
#[derive(Clone, Copy)]
pub(super) enum Write {
    Set,
    Add,
    Sub,
    /// `a[i] *= v`, `a[i] /= v`: `a[i] = a[i] op v`, a read and a write.
    Update(BinOp),
}

impl Lower {
    fn int(&mut self, n: usize, span: Span) -> Value {
        self.push(
            Op::Lit(Lit::new(Literal::usize_unsuffixed(n))),
            Class::Int,
            span,
        )
    }

    fn new_array(&mut self, init: Value, shape: ArrayShape, span: Span) -> Value {
        let len = match &shape {
            ArrayShape::Vec(n) => Some(*n),
            ArrayShape::Empty(_) => Some(self.int(0, span)),
            ArrayShape::Fixed(_) => None,
        };
        let a = self.push(Op::NewArray(init, shape), Class::Array, span);
        if let Some(len) = len {
            self.bind(&length_var(a), Bound::Value(len));
        }
        a
    }

    /// `vec![init; n]`, or `vec![a, b, c]` (an empty `Vec` and a `push` of
    /// each).
    pub(super) fn vec_macro(&mut self, m: &syn::ExprMacro) -> Option<Bound> {
        let list = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated
            .parse2(m.mac.tokens.clone());
        if let Ok(items) = list
            && !items.is_empty()
        {
            let span = m.span();
            let values: Option<Vec<Value>> = items.iter().map(|e| self.value(e)).collect();
            let values = values?;
            let capacity = self.int(values.len(), span);
            let zero = self.push(Op::Lit(Lit::float(0.0)), Class::Float, span);
            let a = self.new_array(zero, ArrayShape::Empty(capacity), span);
            for (k, v) in values.into_iter().enumerate() {
                let pos = self.int(k, span);
                self.f.push(self.block, Op::Push(a, v, pos), &[], span);
            }
            let len = self.int(items.len(), span);
            self.set(&length_var(a), Bound::Value(len));
            return Some(Bound::Value(a));
        }
        let parsed = (|input: syn::parse::ParseStream| {
            let init: syn::Expr = input.parse()?;
            input.parse::<syn::Token![;]>()?;
            let len: syn::Expr = input.parse()?;
            Ok((init, len))
        })
        .parse2(m.mac.tokens.clone());
        let Ok((init, len)) = parsed else {
            self.errors.at(
                m,
                "#[differentiable] supports `vec![value; n]` and `vec![a, b, ..]`; build other \
                 vectors with `push`",
            );
            return None;
        };
        let init = self.value(&init);
        let n = self.value(&len);
        let (init, n) = (init?, n?);
        Some(Bound::Value(self.new_array(
            init,
            ArrayShape::Vec(n),
            m.span(),
        )))
    }

    /// `[a, b, c]`: an array value (a vector), read by index, passed by
    /// value, returned. Written elements need an array made to be written
    /// (`[0.0; N]`).
    pub(super) fn array_literal(&mut self, a: &syn::ExprArray) -> Option<Value> {
        let mut items = Vec::new();
        for e in &a.elems {
            items.push(self.value(e)?);
        }
        if items.iter().any(|&v| self.f.class(v).is_sequence()) {
            self.errors.at(
                a,
                "#[differentiable] does not support arrays of arrays; flatten them \
                 (a 3x3 matrix as `[f64; 9]`, element `(i, j)` at `3 * i + j`)",
            );
            return None;
        }
        let count = |l: &Self, classes: &[Class]| {
            items
                .iter()
                .filter(|&&v| classes.contains(&l.f.class(v)))
                .count()
        };
        let floats = count(self, &[Class::Float]);
        let ints = count(self, &[Class::Int, Class::Bool]);
        // An array of integers or `bool`s (data read from elsewhere among
        // them) is data: read, never differentiated.
        if floats == 0 && ints > 0 && ints + count(self, &[Class::Unknown]) == items.len() {
            return Some(self.push(Op::ArrayLit(items), Class::Other, a.span()));
        }
        let all_floats = items.iter().all(|&v| self.f.class(v).differentiable());
        if ints > 0 || !all_floats || items.is_empty() {
            self.errors.at(
                a,
                "#[differentiable] supports array literals whose elements are all f32/f64 values, \
                 or all integers or `bool`s",
            );
            return None;
        }
        Some(self.push(Op::ArrayLit(items), Class::Vector, a.span()))
    }

    /// `&v`, `&x[a..b]`, `&data`, `&mut data`: what calls take.
    pub(super) fn reference(&mut self, r: &syn::ExprReference) -> Option<Value> {
        let span = r.span();
        // `&x[a..b]`, `&x[a..]`, `&x[..b]`: a part of a slice.
        if let syn::Expr::Index(index) = strip(&r.expr)
            && let syn::Expr::Range(range) = strip(&index.index)
        {
            let mutable = r.mutability.is_some();
            let x = self.value(&index.expr)?;
            if mutable && self.f.class(x) != Class::Array {
                self.errors.at(
                    r,
                    "#[differentiable] lends mutably parts of local arrays and output parameters \
                     only; write into a local array made with `vec![0.0; n]` and lend a part of it",
                );
                return None;
            }
            if Some(x) == self.poison {
                return Some(x);
            }
            self.call_returns_array(x);
            if !matches!(self.f.class(x), Class::Slice | Class::Vector | Class::Array) {
                self.errors.at(
                    &index.expr,
                    "#[differentiable] takes parts of f32/f64 slices and arrays only",
                );
                return None;
            }
            let bound = |l: &mut Self, e: &Option<Box<syn::Expr>>| -> Option<Option<Value>> {
                match e {
                    None => Some(None),
                    Some(e) => {
                        let v = l.value(e)?;
                        if !matches!(l.f.class(v), Class::Int | Class::Unknown) {
                            l.errors.at(e, "the bounds of a range must be integers");
                            return None;
                        }
                        Some(Some(v))
                    }
                }
            };
            let lo = bound(self, &range.start)?;
            let mut hi = bound(self, &range.end)?;
            if let (syn::RangeLimits::Closed(_), Some(h)) = (&range.limits, hi) {
                let one = self.push(
                    Op::Lit(Lit::new(Literal::usize_unsuffixed(1))),
                    Class::Int,
                    span,
                );
                hi = Some(self.push(Op::Binary(BinOp::Add, h, one), Class::Int, span));
            }
            // A slice of an array: the part of a reference to it.
            let (x, class) = match (self.f.class(x), mutable) {
                (Class::Slice, _) => (x, Class::Slice),
                (_, false) => (
                    self.push(Op::Ref(x, false), Class::Slice, span),
                    Class::Slice,
                ),
                (_, true) => (
                    self.push(Op::Ref(x, true), Class::SliceMut, span),
                    Class::SliceMut,
                ),
            };
            return Some(self.push(Op::SubSlice(x, lo, hi), class, span));
        }
        let v = self.value(&r.expr)?;
        if Some(v) == self.poison {
            return Some(v);
        }
        // What a call returned, lent: an array (unless it may be a struct).
        if self.f.maybe_array(v) && !crate::parse::structs_in_scope() {
            self.call_returns_array(v);
        }
        let mutable = r.mutability.is_some();
        if self.is_data_array(v) {
            return Some(self.push(Op::Ref(v, mutable), Class::Ref, span));
        }
        match self.f.class(v) {
            Class::Slice if !mutable => Some(v),
            Class::Vector | Class::Array if !mutable => {
                Some(self.push(Op::Ref(v, false), Class::Slice, span))
            }
            // Lent to a callee that writes it (an output parameter).
            Class::Array => Some(self.push(Op::Ref(v, true), Class::SliceMut, span)),
            class if class.is_data() => Some(self.push(Op::Ref(v, mutable), Class::Ref, span)),
            Class::Slice | Class::Vector => {
                self.errors.at(
                    r,
                    "this array is an input or a value, which #[differentiable] does not lend \
                     mutably; write into a local array made with `vec![0.0; n]` and lend that",
                );
                None
            }
            _ if self.f.maybe_array(v) => {
                self.errors.at(
                    r,
                    "#[differentiable] cannot see the type of what a call returned, which this \
                     lends: bind it with its type first, `let v: Vec<f64> = f(..);` for an \
                     array, `let s: State = f(..);` for a struct, and lend that",
                );
                None
            }
            _ => {
                self.errors.at(
                    r,
                    "#[differentiable] takes references to arrays, slices and data only; \
                     pass a float by value",
                );
                None
            }
        }
    }

    /// Whether `v` is a local array of integers or `bool`s (indices,
    /// flags): data, which the function writes and reads back but never
    /// differentiates.
    pub(super) fn is_data_array(&self, v: Value) -> bool {
        matches!(self.f.def_op(v), Some(Op::NewArray(init, _))
            if matches!(self.f.class(*init), Class::Int | Class::Bool))
    }

    /// A value used as an array (indexed, destructured, annotated or
    /// returned as one): if a call made it, the call returns an array.
    pub(super) fn call_returns_array(&mut self, v: Value) {
        // The whole variable, across the loops and branches it goes
        // through, is an array.
        if self.f.maybe_array(v) {
            for x in self.f.slot(v) {
                if self.f.class(x) == Class::Float {
                    self.f.values[x.index()].class = Class::Vector;
                }
            }
        }
    }

    /// `let [a, b, c] = v;`: each name bound to its element.
    pub(super) fn bind_elements(&mut self, pat: &syn::PatSlice, value: Bound) {
        let Bound::Value(v) = value else {
            self.errors.at(
                pat,
                "this array pattern does not match the shape of the value",
            );
            return;
        };
        if Some(v) == self.poison {
            for p in &pat.elems {
                self.bind_pattern(p, Bound::Value(v), None);
            }
            return;
        }
        self.call_returns_array(v);
        if !self.f.class(v).is_sequence() {
            self.errors.at(
                pat,
                "#[differentiable] destructures arrays of f32/f64 only (`let [a, b] = v;`)",
            );
            return;
        }
        for (k, p) in pat.elems.iter().enumerate() {
            if matches!(p, syn::Pat::Rest(_)) {
                self.errors.at(
                    p,
                    "`..` in an array pattern is not supported by #[differentiable]; \
                     name every element, or index the array",
                );
                return;
            }
            let index = self.push(
                Op::Lit(crate::ir::Lit::new(proc_macro2::Literal::usize_unsuffixed(
                    k,
                ))),
                Class::Int,
                p.span(),
            );
            let element = self.push(Op::Index(v, index), Class::Float, p.span());
            self.bind_pattern(p, Bound::Value(element), None);
        }
    }

    /// `[init; N]`.
    pub(super) fn repeat(&mut self, r: &syn::ExprRepeat) -> Option<Bound> {
        let init = self.value(&r.expr)?;
        let len = Tokens::new(quote::ToTokens::to_token_stream(&r.len));
        Some(Bound::Value(self.new_array(
            init,
            ArrayShape::Fixed(len),
            r.span(),
        )))
    }

    /// `Vec::with_capacity(n)` or `Vec::new()`, for `push`.
    pub(super) fn empty_vec(&mut self, capacity: Option<&syn::Expr>, span: Span) -> Option<Bound> {
        let capacity = match capacity {
            Some(c) => self.value(c)?,
            None => self.int(0, span),
        };
        let zero = self.push(Op::Lit(Lit::float(0.0)), Class::Float, span);
        Some(Bound::Value(self.new_array(
            zero,
            ArrayShape::Empty(capacity),
            span,
        )))
    }

    /// An array this function writes, or an error saying why `e` is not one.
    fn written_array(&mut self, e: &syn::Expr) -> Option<Value> {
        let a = self.value(e)?;
        if Some(a) == self.poison {
            return None;
        }
        match self.f.class(a) {
            Class::Array => Some(a),
            Class::Slice => {
                self.errors.at(
                    e,
                    "this slice is an input, which #[differentiable] does not write; \
                     write into a local `vec![0.0; n]` and return it",
                );
                None
            }
            Class::Vector => {
                self.errors.at(
                    e,
                    "this array is a value (a parameter, a literal, or what a call returned), \
                     which #[differentiable] does not write; write into an array made with \
                     `[0.0; N]` or `vec![0.0; n]`",
                );
                None
            }
            // A `&mut [usize]` parameter: data the function writes.
            Class::Ref if self.mut_data.contains(&a) => Some(a),
            class if class.is_data() => {
                self.errors.at(
                    e,
                    "#[differentiable] writes data without floats only through `&mut` parameters \
                     (`r: &mut [usize]`) and local arrays (`vec![0usize; n]`)",
                );
                None
            }
            _ => {
                self.errors.at(e, "#[differentiable] writes elements of local arrays (`vec![0.0; n]`, `[0.0; N]`) only");
                None
            }
        }
    }

    /// The variable `e` names, when it holds an array value (a copy of a
    /// parameter, a literal, what a call returned): its elements are
    /// written by replacing the value ([`Lower::write_element`]).
    pub(super) fn array_value_variable(&mut self, e: &syn::Expr) -> Option<(String, Value)> {
        let syn::Expr::Path(p) = strip(e) else {
            return None;
        };
        let name = p.path.get_ident()?.to_string();
        let Some(Bound::Value(v)) = self.lookup(&name).cloned() else {
            return None;
        };
        self.call_returns_array(v);
        (self.f.class(v) == Class::Vector).then_some((name, v))
    }

    /// `q[i] = e`, or `q[i] op= e`, on a variable holding an array value:
    /// the variable then holds the array with that element replaced.
    pub(super) fn write_element(
        &mut self,
        place: &syn::ExprIndex,
        (name, q): (String, Value),
        op: Option<BinOp>,
        value: Value,
        span: Span,
    ) {
        let Some(i) = self.value(&place.index) else {
            return;
        };
        if !matches!(self.f.class(i), Class::Int | Class::Unknown) {
            self.errors.at(&place.index, "an index must be an integer");
            return;
        }
        let element = match op {
            None => value,
            Some(op) => {
                let old = self.push(Op::Index(q, i), Class::Float, span);
                self.push(Op::Binary(op, old, value), Class::Float, span)
            }
        };
        let new = self.push(Op::Insert(q, i, element), Class::Vector, span);
        self.f.set_name(new, name.clone());
        self.set(&name, Bound::Value(new));
    }

    /// `a[i] = v`, `a[i] += v`, `a[i] -= v`.
    pub(super) fn store(&mut self, place: &syn::ExprIndex, value: Value, how: Write, span: Span) {
        if let Some(variable) = self.array_value_variable(&place.expr) {
            let op = match how {
                Write::Set => None,
                Write::Add => Some(BinOp::Add),
                Write::Sub => Some(BinOp::Sub),
                Write::Update(op) => Some(op),
            };
            return self.write_element(place, variable, op, value, span);
        }
        let a = self.written_array(&place.expr);
        let i = self.value(&place.index);
        let (Some(a), Some(i)) = (a, i) else { return };
        let op = match how {
            Write::Set => Op::Store(a, i, value),
            Write::Add => Op::StoreAdd(a, i, value),
            Write::Sub => {
                let class = self.f.class(value);
                let neg = self.push(Op::Unary(UnOp::Neg, value), class, span);
                Op::StoreAdd(a, i, neg)
            }
            Write::Update(op) => {
                let class = match self.is_data_array(a) {
                    true => Class::Unknown,
                    false => Class::Float,
                };
                let old = self.push(Op::Index(a, i), class, span);
                let class = super::join(class, self.f.class(value));
                let new = self.push(Op::Binary(op, old, value), class, span);
                Op::Store(a, i, new)
            }
        };
        self.f.push(self.block, op, &[], span);
    }

    /// `a.push(v)`: the value lands at the current length.
    pub(super) fn push_value(&mut self, m: &syn::ExprMethodCall) -> Option<Bound> {
        let a = self.written_array(&m.receiver)?;
        if matches!(
            self.f.def_op(a),
            Some(Op::NewArray(_, ArrayShape::Fixed(_)))
        ) {
            self.errors.at(
                m,
                "an array `[x; N]` has no `push`; use `Vec::with_capacity(n)`",
            );
            return None;
        }
        let [arg] = m.args.iter().collect::<Vec<_>>()[..] else {
            self.errors.at(m, "`push` takes one value");
            return None;
        };
        let v = self.value(arg)?;
        if matches!(self.f.class(v), Class::Slice | Class::SliceMut) {
            self.errors.at(
                m,
                "#[differentiable] does not make vectors of slices (`Vec<&[f64]>`, `collect()` \
                 of `chunks`); iterate over the chunks where they are used \
                 (`for c in x.chunks(3)`), or index the flat slice (`x[3 * i + k]`)",
            );
            return None;
        }
        let name = length_var(a);
        let Some(Bound::Value(pos)) = self.lookup(&name).cloned() else {
            return None;
        };
        let span = m.span();
        self.f.push(self.block, Op::Push(a, v, pos), &[], span);
        let one = self.int(1, span);
        let next = self.push(Op::Binary(BinOp::Add, pos, one), Class::Int, span);
        self.set(&name, Bound::Value(next));
        Some(Bound::Tuple(vec![]))
    }

    /// `a.len()` of an array this function writes: its length so far.
    pub(super) fn array_len(&mut self, a: Value, span: Span) -> Option<Value> {
        if let Some(Op::NewArray(_, ArrayShape::Fixed(n))) = self.f.def_op(a) {
            let n = n.clone();
            return Some(self.push_extern(n, Class::Int, span));
        }
        match self.lookup(&length_var(a)).cloned() {
            Some(Bound::Value(len)) => Some(len),
            // An output parameter: its length as given.
            _ => Some(self.push(Op::Len(a), Class::Int, span)),
        }
    }
}

/// The hidden variable holding the length of a `Vec` being written.
pub(super) fn length_var(a: Value) -> String {
    format!("@len{}", a.index())
}
