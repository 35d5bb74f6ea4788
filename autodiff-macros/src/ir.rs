//! The intermediate representation: structured SSA.
//!
//! A [`Function`] owns flat arenas of values, instructions and blocks, indexed
//! by typed `u32` ids ([`Value`], [`Inst`], [`Block`]). Every value is defined
//! exactly once, by a block parameter or an instruction result, before it is
//! used. Blocks are regions: the entry block is the function body; a VJP adds
//! a `pullback` block, nested in the entry block (it sees every entry value,
//! as a closure sees its environment), whose parameters are the output
//! cotangents and whose results are the gradients. Control flow will arrive
//! as instructions owning blocks of their own, in the manner of MLIR's `scf`
//! or JAX's `cond`/`scan`, so that the emitted Rust stays structured.
//!
//! Spans and name hints live in side tables next to the values; the text form
//! (`v3 = mul v1, v2`) is [`Function`]'s `Display`.

use std::fmt;

use proc_macro2::{Ident, Literal, Span, TokenStream};

use crate::primitives::Prim;

macro_rules! entity {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

entity!(
    /// An SSA value.
    Value,
    "v"
);
entity!(
    /// An instruction.
    Inst,
    "i"
);
entity!(
    /// A block (a region of straight-line instructions).
    Block,
    "b"
);

/// What kind of Rust value a [`Value`] holds, as far as differentiation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// `f32` or `f64`: may carry a derivative.
    Float,
    /// An integer: never carries a derivative.
    Int,
    /// A `bool`.
    Bool,
    /// Known not to be a float: `self`, a parameter of another type, a
    /// pullback closure.
    Other,
    /// Not known before rustc type-checks it: an outside constant `C` or a
    /// field `self.k`. Never carries a derivative (it does not depend on the
    /// arguments), takes part in float arithmetic as a float.
    Unknown,
    /// A borrowed, read-only sequence of floats: `&[f64]`, `&Vec<f64>`,
    /// `&x[a..b]`. A callee adds its cotangent into the caller's buffer.
    Slice,
    /// An owned array of floats read as a value: a `[f64; N]` parameter,
    /// an array literal, an array a callee returns. Passed by value; its
    /// cotangent is an array of the same type, returned by a callee.
    Vector,
    /// A float array lent mutably to a callee (`&mut v`), which writes it
    /// (an output parameter of the callee).
    SliceMut,
    /// A reference to data without floats: `&[usize]`, `&Config`. Read,
    /// never differentiated; lent again to a callee's reverse sweep.
    Ref,
    /// A tape of values the reverse sweep pops.
    Tape,
    /// A mutable buffer of adjoints, shaped like a slice.
    Buffer,
    /// An array the function writes and returns: `vec![0.0; n]`,
    /// `[0.0; N]`, `Vec::with_capacity(n)`. Written, never read back.
    Array,
}

impl Class {
    /// Whether a value of this class may carry a derivative.
    pub fn differentiable(self) -> bool {
        matches!(self, Class::Float | Class::Unknown)
    }

    /// Whether a call argument of this class takes a tangent and gives a
    /// cotangent: a float, or a slice of floats.
    pub fn has_derivative_in_calls(self) -> bool {
        self.differentiable() || self.is_sequence()
    }

    /// Whether values of this class are read-only sequences of floats.
    pub fn is_sequence(self) -> bool {
        matches!(self, Class::Slice | Class::Vector)
    }

    /// Whether a value of this class is data read without derivative that
    /// can be indexed, measured and have its fields read.
    pub fn is_data(self) -> bool {
        matches!(self, Class::Other | Class::Unknown | Class::Ref)
    }

    /// Whether a callee's reverse sweep takes this argument again instead
    /// of keeping a borrow of it: slices and references to data.
    pub fn is_lent(self) -> bool {
        matches!(self, Class::Slice | Class::Ref | Class::SliceMut)
    }

    /// Whether a callee adds this argument's cotangent into a buffer its
    /// caller lends: a slice, or an array lent mutably.
    pub fn has_sink(self) -> bool {
        matches!(self, Class::Slice | Class::SliceMut)
    }

    fn text(self) -> &'static str {
        match self {
            Class::Float => "float",
            Class::Int => "int",
            Class::Bool => "bool",
            Class::Other => "other",
            Class::Unknown => "unknown",
            Class::Slice => "slice",
            Class::Vector => "vector",
            Class::Ref => "ref",
            Class::SliceMut => "slice mut",
            Class::Tape => "tape",
            Class::Buffer => "buffer",
            Class::Array => "array",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    /// `a.min(b)`, `a.max(b)` of integers.
    Min,
    Max,
}

impl BinOp {
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem
        )
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
        )
    }

    pub fn text(self) -> &'static str {
        match self {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::Div => "div",
            BinOp::Rem => "rem",
            BinOp::Lt => "lt",
            BinOp::Le => "le",
            BinOp::Gt => "gt",
            BinOp::Ge => "ge",
            BinOp::Eq => "eq",
            BinOp::Ne => "ne",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::BitAnd => "bitand",
            BinOp::BitOr => "bitor",
            BinOp::BitXor => "bitxor",
            BinOp::Shl => "shl",
            BinOp::Shr => "shr",
            BinOp::Min => "min",
            BinOp::Max => "max",
        }
    }
}

/// Tokens from the user's code that the IR carries without looking inside:
/// a constant's path, a field of `self`, a cast's target type. `text` is
/// their printed form, for the IR's text form and for hashing.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub tokens: TokenStream,
    pub text: String,
}

impl Tokens {
    pub fn new(tokens: TokenStream) -> Self {
        let text = tokens.to_string();
        Tokens { tokens, text }
    }
}

impl PartialEq for Tokens {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Tokens {}

impl std::hash::Hash for Tokens {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state)
    }
}

/// A literal, kept as the user spelled it (`2.5`, `1e-3_f32`, `3`).
#[derive(Clone, Debug)]
pub struct Lit {
    pub literal: Literal,
    pub text: String,
}

impl Lit {
    pub fn new(literal: Literal) -> Self {
        let text = literal.to_string();
        Lit { literal, text }
    }

    /// An unsuffixed float literal: rustc infers `f32` or `f64` from its use.
    pub fn float(x: f64) -> Self {
        Lit::new(Literal::f64_unsuffixed(x))
    }

    /// The value of a float literal, if this is one.
    pub fn float_value(&self) -> Option<f64> {
        let t = self.text.trim_end_matches("f64").trim_end_matches("f32");
        let t: String = t.chars().filter(|&c| c != '_').collect();
        if t.contains(['.', 'e', 'E']) || self.text.ends_with("f64") || self.text.ends_with("f32") {
            t.parse().ok()
        } else {
            None
        }
    }
}

impl PartialEq for Lit {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Lit {}

impl std::hash::Hash for Lit {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state)
    }
}

/// Whom a call goes to: `prefix name(args)` for a path (`m::g`, `Self::g`),
/// `args[0].name(args[1..])` for a method (`self.g(x)`). The derivative
/// siblings are found by appending to `name` (`g_jvp`, `g_pullback`), which
/// makes registration Rust's name resolution.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Callee {
    pub prefix: Tokens,
    pub name: Ident,
    pub method: bool,
    /// How many outputs the callee returns: 1 for a scalar, `n` for an
    /// `n`-tuple destructured by the caller.
    pub outputs: usize,
    /// Whether the primal makes the call for its effect only: its value
    /// is dropped or never read (`check(d);`, `let _t = g(x);`). Every
    /// sibling makes it too ([`crate::simplify`]); a call whose value the
    /// primal reads is a computation, which a sibling that does not need
    /// the value leaves out.
    pub effect: bool,
    /// Whether the callee takes rows of arrays (`&[[f64; 3]]`), which the
    /// caller holds flat ([`crate::layout`]): its primal is then called as
    /// `__g_flat`, which takes them flat as its other siblings do.
    pub flat: bool,
}

impl Callee {
    /// The arguments that may carry derivatives: all but a method's receiver.
    pub fn active_args<'a>(&self, args: &'a [Value]) -> &'a [Value] {
        if self.method { &args[1..] } else { args }
    }

    /// The arguments (a method's receiver aside) whose class `keep` accepts.
    fn args_where(&self, f: &Function, args: &[Value], keep: impl Fn(Class) -> bool) -> Vec<Value> {
        self.active_args(args)
            .iter()
            .copied()
            .filter(|&a| keep(f.class(a)))
            .collect()
    }

    /// The arguments that carry derivatives, in order: the float, array and
    /// slice ones.
    pub fn derivative_arg_values(&self, f: &Function, args: &[Value]) -> Vec<Value> {
        self.args_where(f, args, Class::has_derivative_in_calls)
    }

    /// How many arguments carry derivatives.
    pub fn derivative_args(&self, f: &Function, args: &[Value]) -> usize {
        self.derivative_arg_values(f, args).len()
    }

    /// The arguments a callee's reverse sweep takes again, in order.
    pub fn lent_arg_values(&self, f: &Function, args: &[Value]) -> Vec<Value> {
        self.args_where(f, args, Class::is_lent)
    }

    /// The float arrays the call writes: those lent mutably (`&mut v`,
    /// `&mut v[a..b]`).
    pub fn written_arrays(&self, f: &Function, args: &[Value]) -> Vec<Value> {
        let lent = self.args_where(f, args, |c| c == Class::SliceMut);
        lent.into_iter().filter_map(|a| f.lent_mutably(a)).collect()
    }

    /// The data (arrays without floats) the call may write: those lent
    /// mutably (`&mut r`, a `&mut [usize]` parameter passed on).
    pub fn written_data(&self, f: &Function, args: &[Value]) -> Vec<Value> {
        let lent = self.args_where(f, args, |c| c == Class::Ref);
        lent.into_iter().filter_map(|a| f.lent_mutably(a)).collect()
    }
}

impl fmt::Display for Callee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.method {
            write!(f, ".{}", self.name)
        } else {
            write!(f, "{}{}", self.prefix.text.replace(' ', ""), self.name)
        }
    }
}

/// The index sequence of a counted loop: `lo..hi` or `lo..=hi`, then
/// adapters in order (`(lo..hi).rev().step_by(k)`). Every such sequence runs
/// backwards too, which is how the reverse sweep replays it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Range {
    pub lo: Value,
    pub hi: Value,
    pub inclusive: bool,
    pub adapters: Vec<Adapter>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Adapter {
    Rev,
    StepBy(Value),
}

impl Range {
    /// The same indices in the opposite order.
    pub fn reversed(&self) -> Range {
        let mut r = self.clone();
        if r.adapters.last() == Some(&Adapter::Rev) {
            r.adapters.pop();
        } else {
            r.adapters.push(Adapter::Rev);
        }
        r
    }

    fn operands(&self) -> impl Iterator<Item = Value> + '_ {
        [self.lo, self.hi]
            .into_iter()
            .chain(self.adapters.iter().filter_map(|a| match a {
                Adapter::StepBy(v) => Some(*v),
                Adapter::Rev => None,
            }))
    }

    pub fn map_operands(&mut self, f: &mut impl FnMut(Value) -> Value) {
        self.lo = f(self.lo);
        self.hi = f(self.hi);
        for a in &mut self.adapters {
            if let Adapter::StepBy(v) = a {
                *v = f(*v);
            }
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{}{}",
            self.lo,
            if self.inclusive { "=" } else { "" },
            self.hi
        )?;
        for a in &self.adapters {
            match a {
                Adapter::Rev => write!(f, " rev")?,
                Adapter::StepBy(v) => write!(f, " step_by {v}")?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A literal.
    Lit(Lit),
    /// A value from outside the function: a constant or a field of `self`.
    Extern(Tokens),
    Unary(UnOp, Value),
    Binary(BinOp, Value, Value),
    /// `v as ty`; the class is the target's.
    Cast(Value, Tokens),
    /// A primitive float method: `args[0].name(args[1..])`.
    Prim(Prim, Vec<Value>),
    /// The partial derivatives of a primitive at `args`, the last of which is
    /// the primitive's output: one result per float argument.
    Partials(Prim, Vec<Value>),
    /// A call of a function: one result per output.
    Call(Callee, Vec<Value>),
    /// A call of the callee's JVP: the arguments, and a tangent for each
    /// float or slice argument; the results are the outputs followed by
    /// their tangents.
    CallJvp(Callee, Vec<Value>, Vec<Value>),
    /// A call of the callee's pullback constructor: the results are the
    /// outputs followed by the pullback closure.
    CallPullback(Callee, Vec<Value>),
    /// Applies a pullback to one cotangent per output, the reference
    /// arguments of the call again (`lent`: slices and references to data,
    /// which the pullback reads instead of keeping a borrow), and one
    /// buffer per slice argument (the sinks, which the callee adds the
    /// slices' cotangents into): one result per float or vector argument,
    /// its cotangent.
    ApplyPullback(Value, Vec<Value>, Vec<Value>, Vec<Value>),
    /// `v` converted to the float type of `like` (the adjoint of a cast).
    CastLike(Value, Value),
    /// `slice[index]`.
    Index(Value, Value),
    /// `slice.len()`.
    Len(Value),
    /// `if cond { then } else { else }`: the results are what both blocks
    /// yield.
    If(Value, Block, Block),
    /// `for i in range { body }`. The body's parameters are the index and the
    /// carried values, which start as `init`; it yields the carried values of
    /// the next iteration; the results are their values after the loop.
    For(Range, Vec<Value>, Block),
    /// `while cond { body }`: both blocks take the carried values, which
    /// start as `init`; the first yields whether to go on, the second the
    /// next carried values; the results are their values after the loop.
    While(Vec<Value>, Block, Block),
    /// A new, empty tape, with room for one value per index of the range
    /// when the loop it records has one.
    TapeNew(Option<Range>),
    /// Pushes a value onto a tape; no result.
    TapePush(Value, Value),
    /// Pops the value pushed last.
    TapePop(Value),
    /// A buffer of zeros shaped like a slice: a `Vec` as long as it, or an
    /// array of the length given.
    Zeros(Value, Option<Tokens>),
    /// `buffer[index] += value`; no result.
    Accum(Value, Value, Value),
    /// Whether a value matches a pattern (which binds nothing).
    Matches(Value, Tokens),
    /// A new array of `init` values: `vec![init; len]`, `[init; N]`, or an
    /// empty `Vec` with room for `len`.
    NewArray(Value, ArrayShape),
    /// `array[index] = value`; no result.
    Store(Value, Value, Value),
    /// `array[index] += value`; no result.
    StoreAdd(Value, Value, Value),
    /// `array.push(value)`, the value landing at `position`; no result.
    Push(Value, Value, Value),
    /// `buffer[index] = 0.0`; no result.
    ZeroAt(Value, Value),
    /// A gradient buffer that the value (an output cotangent) moves into.
    Own(Value),
    /// A gradient buffer that the slice (the cotangent of an output
    /// parameter) is copied into.
    OwnCopy(Value),
    /// Before `array[index]` is written: its old value onto the tape.
    Save(Value, Value, Value),
    /// The reverse of a write: the last old value saved back into the
    /// array (tape, array).
    Restore(Value, Value),
    /// How many values a tape holds: a mark to undo back to.
    TapeLen(Value),
    /// Restores the array until the tape is back at the mark (tape, array,
    /// mark): the array as it was when the mark was taken.
    UndoTo(Value, Value, Value),
    /// Before a callee writes an array: all its old values onto the tape
    /// (tape, array).
    SaveAll(Value, Value, Option<Restores>),
    /// The reverse of `SaveAll`: the array's old values back from the
    /// tape (tape, array).
    RestoreAll(Value, Value, Option<Restores>),
    /// Switches a tape of old values off (its saves and restores do
    /// nothing) when the callee's `fills` constant names one of the
    /// candidates for the parameter: the call overwrites a scratch array
    /// completely (see [`crate::scratch`]). (tape, callee, parameter,
    /// candidate arguments)
    SkipSavesIf(Value, Callee, usize, Vec<usize>),
    /// Before a loop that writes `array[i]` for each `i` of `lo..hi`: the
    /// old values of that range onto the tape (tape, array, lo, hi).
    SaveRange(Value, Value, Value, Value),
    /// A copy of an array: what a function returns when its reverse sweep
    /// will put the array back as it was.
    CloneArray(Value),
    /// `buffer[i] += vector[i]` for every `i`: a callee's gradient for a
    /// slice argument added to the caller's (buffer, vector).
    AccumAll(Value, Value),
    /// An array value made of its elements: `[a, b, c]`.
    ArrayLit(Vec<Value>),
    /// The array value with one element replaced (array, index, element):
    /// `q[i] = e` on a variable holding an array value, which then holds
    /// the result.
    Insert(Value, Value, Value),
    /// The sum of two cotangents of a value a call returned, which may be
    /// a float or an array.
    AddCotangents(Value, Value),
    /// A field of data that carries no derivative: `config.n`.
    Field(Value, Tokens),
    /// `&v` (`&mut v` when the flag is set): a slice of an array, or a
    /// reference to data. Written where it is used.
    Ref(Value, bool),
    /// `&x[lo..hi]` (either bound may be absent): a part of a slice. Of a
    /// gradient buffer, the part of the buffer.
    SubSlice(Value, Option<Value>, Option<Value>),
    /// A macro run for its effect (`assert!`, `println!`, `panic!`): its
    /// tokens, with operand `k` where the identifier `__operand{k}` is; no
    /// result. Every sibling runs it where the primal does, once.
    Effect(Tokens, Vec<Value>),
}

/// A call's pullback puts back the array lent to parameter `param` itself
/// when the callee's `__f_restores[param]` says so (it reads the array,
/// so its reverse sweep restores every write): then the caller need not
/// save the array around the call (`save all` / `restore all` are skipped,
/// on a test of constants).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Restores {
    pub callee: Callee,
    pub param: usize,
}

fn unless_text(unless: &Option<Restores>) -> String {
    match unless {
        Some(r) => format!(" unless {} restores param {}", r.callee, r.param),
        None => String::new(),
    }
}

/// How a written array is made.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArrayShape {
    /// `vec![init; len]`.
    Vec(Value),
    /// `[init; N]`.
    Fixed(Tokens),
    /// `Vec::with_capacity(capacity)`, filled by `push`.
    Empty(Value),
}

impl Op {
    /// The values the operation reads.
    pub fn operands(&self) -> Vec<Value> {
        match self {
            Op::Lit(_) | Op::Extern(_) => vec![],
            Op::Unary(_, a) | Op::Cast(a, _) | Op::Field(a, _) | Op::Ref(a, _) => vec![*a],
            Op::SubSlice(x, lo, hi) => std::iter::once(*x).chain(*lo).chain(*hi).collect(),
            Op::Binary(_, a, b) | Op::CastLike(a, b) | Op::AddCotangents(a, b) => vec![*a, *b],
            Op::Prim(_, args)
            | Op::Partials(_, args)
            | Op::Call(_, args)
            | Op::CallPullback(_, args)
            | Op::Effect(_, args)
            | Op::ArrayLit(args) => args.clone(),
            Op::CallJvp(_, args, tangents) => args.iter().chain(tangents).copied().collect(),
            Op::ApplyPullback(pb, args, lent, sinks) => std::iter::once(*pb)
                .chain(args.iter().copied())
                .chain(lent.iter().copied())
                .chain(sinks.iter().copied())
                .collect(),
            Op::Index(a, b) | Op::TapePush(a, b) => vec![*a, *b],
            Op::Len(a) | Op::TapePop(a) | Op::Zeros(a, _) | Op::Matches(a, _) => vec![*a],
            Op::If(c, ..) => vec![*c],
            Op::For(range, init, _) => range.operands().chain(init.iter().copied()).collect(),
            Op::TapeNew(range) => range.iter().flat_map(|r| r.operands()).collect(),
            Op::While(init, ..) => init.clone(),
            Op::Accum(a, b, c)
            | Op::Store(a, b, c)
            | Op::StoreAdd(a, b, c)
            | Op::Push(a, b, c)
            | Op::Insert(a, b, c) => {
                vec![*a, *b, *c]
            }
            Op::ZeroAt(a, b) => vec![*a, *b],
            Op::Own(a) | Op::OwnCopy(a) | Op::TapeLen(a) | Op::CloneArray(a) => vec![*a],
            Op::SkipSavesIf(t, ..) => vec![*t],
            Op::SaveRange(t, a, lo, hi) => vec![*t, *a, *lo, *hi],
            Op::Save(t, a, i) | Op::UndoTo(t, a, i) => vec![*t, *a, *i],
            Op::Restore(t, a)
            | Op::AccumAll(t, a)
            | Op::SaveAll(t, a, _)
            | Op::RestoreAll(t, a, _) => {
                vec![*t, *a]
            }
            Op::NewArray(init, ArrayShape::Vec(n) | ArrayShape::Empty(n)) => vec![*init, *n],
            Op::NewArray(init, ArrayShape::Fixed(_)) => vec![*init],
        }
    }

    /// The blocks the operation owns.
    pub fn blocks(&self) -> Vec<Block> {
        match self {
            Op::If(_, t, e) => vec![*t, *e],
            Op::For(_, _, body) => vec![*body],
            Op::While(_, cond, body) => vec![*cond, *body],
            _ => vec![],
        }
    }

    /// Rewrites every operand.
    pub fn map_operands(&mut self, mut f: impl FnMut(Value) -> Value) {
        match self {
            Op::Lit(_) | Op::Extern(_) => {}
            Op::Unary(_, a) | Op::Cast(a, _) | Op::Field(a, _) | Op::Ref(a, _) => *a = f(*a),
            Op::SubSlice(x, lo, hi) => {
                *x = f(*x);
                for b in [lo, hi].into_iter().flatten() {
                    *b = f(*b);
                }
            }
            Op::Binary(_, a, b) | Op::CastLike(a, b) | Op::AddCotangents(a, b) => {
                *a = f(*a);
                *b = f(*b);
            }
            Op::Prim(_, args)
            | Op::Partials(_, args)
            | Op::Call(_, args)
            | Op::CallPullback(_, args)
            | Op::Effect(_, args)
            | Op::ArrayLit(args) => args.iter_mut().for_each(|a| *a = f(*a)),
            Op::CallJvp(_, args, tangents) => {
                args.iter_mut().chain(tangents).for_each(|a| *a = f(*a))
            }
            Op::ApplyPullback(pb, args, lent, sinks) => {
                *pb = f(*pb);
                args.iter_mut()
                    .chain(lent)
                    .chain(sinks)
                    .for_each(|a| *a = f(*a));
            }
            Op::Index(a, b) | Op::TapePush(a, b) => {
                *a = f(*a);
                *b = f(*b);
            }
            Op::Len(a) | Op::TapePop(a) | Op::Zeros(a, _) | Op::Matches(a, _) | Op::If(a, ..) => {
                *a = f(*a)
            }
            Op::For(range, init, _) => {
                range.map_operands(&mut f);
                init.iter_mut().for_each(|a| *a = f(*a));
            }
            Op::TapeNew(range) => {
                if let Some(r) = range {
                    r.map_operands(&mut f);
                }
            }
            Op::While(init, ..) => init.iter_mut().for_each(|a| *a = f(*a)),
            Op::Accum(a, b, c)
            | Op::Store(a, b, c)
            | Op::StoreAdd(a, b, c)
            | Op::Push(a, b, c)
            | Op::Insert(a, b, c) => {
                *a = f(*a);
                *b = f(*b);
                *c = f(*c);
            }
            Op::ZeroAt(a, b) => {
                *a = f(*a);
                *b = f(*b);
            }
            Op::Own(a) | Op::OwnCopy(a) | Op::TapeLen(a) | Op::CloneArray(a) => *a = f(*a),
            Op::SkipSavesIf(t, ..) => *t = f(*t),
            Op::SaveRange(t, a, lo, hi) => {
                *t = f(*t);
                *a = f(*a);
                *lo = f(*lo);
                *hi = f(*hi);
            }
            Op::Save(t, a, i) | Op::UndoTo(t, a, i) => {
                *t = f(*t);
                *a = f(*a);
                *i = f(*i);
            }
            Op::Restore(t, a)
            | Op::AccumAll(t, a)
            | Op::SaveAll(t, a, _)
            | Op::RestoreAll(t, a, _) => {
                *t = f(*t);
                *a = f(*a);
            }
            Op::NewArray(init, shape) => {
                *init = f(*init);
                if let ArrayShape::Vec(n) | ArrayShape::Empty(n) = shape {
                    *n = f(*n);
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// Parameter `n` of a block.
    Param(Block, usize),
    /// Result `n` of an instruction.
    Result(Inst, usize),
}

#[derive(Clone, Debug)]
pub struct ValueData {
    pub def: ValueDef,
    pub class: Class,
}

#[derive(Clone, Debug)]
pub struct InstData {
    pub op: Op,
    pub results: Vec<Value>,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct BlockData {
    pub params: Vec<Value>,
    pub insts: Vec<Inst>,
    /// What the block yields: the function's outputs for the entry block,
    /// the gradients for a pullback block.
    pub ret: Vec<Value>,
}

/// A function in the IR.
#[derive(Clone, Debug)]
pub struct Function {
    pub values: Vec<ValueData>,
    pub insts: Vec<InstData>,
    pub blocks: Vec<BlockData>,
    /// Side table: the span of each value's source expression.
    pub spans: Vec<Span>,
    /// Side table: a name hint for each value (the user's binding, or a
    /// derived name such as `dx` for a tangent).
    pub names: Vec<Option<String>>,
    pub entry: Block,
    /// The reverse sweep of a VJP, nested in the entry block.
    pub pullback: Option<Block>,
    /// While lowering: each carried parameter of a loop with its initial
    /// value, so that [`Function::slot`] joins them while the loop's
    /// body is lowered, before the loop instruction exists. Empty after
    /// lowering.
    pub open_loops: Vec<(Value, Value)>,
}

impl Default for Function {
    fn default() -> Self {
        Self::new()
    }
}

impl Function {
    pub fn new() -> Self {
        Function {
            values: Vec::new(),
            insts: Vec::new(),
            blocks: vec![BlockData::default()],
            spans: Vec::new(),
            names: Vec::new(),
            entry: Block(0),
            pullback: None,
            open_loops: Vec::new(),
        }
    }

    pub fn new_block(&mut self) -> Block {
        self.blocks.push(BlockData::default());
        Block(self.blocks.len() as u32 - 1)
    }

    fn new_value(
        &mut self,
        def: ValueDef,
        class: Class,
        span: Span,
        name: Option<String>,
    ) -> Value {
        self.values.push(ValueData { def, class });
        self.spans.push(span);
        self.names.push(name);
        Value(self.values.len() as u32 - 1)
    }

    pub fn add_param(
        &mut self,
        block: Block,
        class: Class,
        span: Span,
        name: Option<String>,
    ) -> Value {
        let n = self.blocks[block.index()].params.len();
        let v = self.new_value(ValueDef::Param(block, n), class, span, name);
        self.blocks[block.index()].params.push(v);
        v
    }

    /// Appends an instruction with one result of each of `classes`.
    pub fn push(&mut self, block: Block, op: Op, classes: &[Class], span: Span) -> Inst {
        let inst = Inst(self.insts.len() as u32);
        let results = classes
            .iter()
            .enumerate()
            .map(|(i, &c)| self.new_value(ValueDef::Result(inst, i), c, span, None))
            .collect();
        self.insts.push(InstData { op, results, block });
        self.blocks[block.index()].insts.push(inst);
        inst
    }

    /// Inserts an instruction into `block` before the one at `position`.
    pub fn insert(
        &mut self,
        block: Block,
        position: usize,
        op: Op,
        classes: &[Class],
        span: Span,
    ) -> Inst {
        let inst = self.push(block, op, classes, span);
        let insts = &mut self.blocks[block.index()].insts;
        insts.pop();
        insts.insert(position, inst);
        inst
    }

    /// Gives an instruction one more result.
    pub fn add_result(&mut self, inst: Inst, class: Class, span: Span) -> Value {
        let n = self.insts[inst.index()].results.len();
        let v = self.new_value(ValueDef::Result(inst, n), class, span, None);
        self.insts[inst.index()].results.push(v);
        v
    }

    /// Appends an instruction with a single result.
    pub fn push1(&mut self, block: Block, op: Op, class: Class, span: Span) -> Value {
        let inst = self.push(block, op, &[class], span);
        self.insts[inst.index()].results[0]
    }

    pub fn inst(&self, inst: Inst) -> &InstData {
        &self.insts[inst.index()]
    }

    /// The span of an instruction: its first result's, or the call site's.
    pub fn inst_span(&self, inst: Inst) -> Span {
        self.inst(inst)
            .results
            .first()
            .map(|&r| self.span(r))
            .unwrap_or_else(Span::call_site)
    }

    pub fn block(&self, block: Block) -> &BlockData {
        &self.blocks[block.index()]
    }

    pub fn block_mut(&mut self, block: Block) -> &mut BlockData {
        &mut self.blocks[block.index()]
    }

    pub fn class(&self, v: Value) -> Class {
        self.values[v.index()].class
    }

    pub fn def(&self, v: Value) -> ValueDef {
        self.values[v.index()].def
    }

    pub fn span(&self, v: Value) -> Span {
        self.spans[v.index()]
    }

    pub fn name(&self, v: Value) -> Option<&str> {
        self.names[v.index()].as_deref()
    }

    pub fn set_name(&mut self, v: Value, name: impl Into<String>) {
        self.names[v.index()] = Some(name.into());
    }

    /// The instruction defining `v`, if an instruction does.
    pub fn def_op(&self, v: Value) -> Option<&Op> {
        match self.def(v) {
            ValueDef::Result(inst, _) => Some(&self.inst(inst).op),
            ValueDef::Param(..) => None,
        }
    }

    /// Whether `v` is what a call returned with no sign of its shape: a
    /// float or an array, which the macro cannot see (an array is flipped
    /// to a vector where it is indexed, destructured or annotated).
    ///
    /// Through control flow too: a variable that a loop carries or a
    /// branch yields is one slot with the values it takes (its initial
    /// value, what each iteration or arm assigns), so it may be an array
    /// when each of those is a call's result, an array value, or such a
    /// slot itself ([`Function::slot`]).
    ///
    /// A value used in arithmetic (`t + t`, `t.sin()`, `t < 0.0`) is a
    /// float: an array has no such operations.
    pub fn maybe_array(&self, v: Value) -> bool {
        if self.class(v) != Class::Float || !(self.is_float_call(v) || self.is_plumbing(v)) {
            return false;
        }
        let slot = self.slot(v);
        slot.iter().any(|&x| self.is_float_call(x))
            && slot.iter().all(|&x| match self.class(x) {
                Class::Vector | Class::Unknown => true,
                Class::Float => self.is_float_call(x) || self.is_plumbing(x),
                _ => false,
            })
            && !self.insts.iter().any(|d| {
                let operands = match &d.op {
                    Op::Binary(op, a, b) if !matches!(op, BinOp::Eq | BinOp::Ne) => vec![*a, *b],
                    Op::Unary(_, a) | Op::Cast(a, _) => vec![*a],
                    Op::Prim(_, args) => args.clone(),
                    _ => vec![],
                };
                operands.iter().any(|x| slot.contains(x))
            })
    }

    /// (In a derivative's IR, a callee's JVP or pullback returns it.)
    fn is_float_call(&self, v: Value) -> bool {
        self.class(v) == Class::Float
            && matches!(
                self.def_op(v),
                Some(Op::Call(..) | Op::CallJvp(..) | Op::CallPullback(..))
            )
    }

    /// A loop's or a branch's result, or a loop body's carried parameter:
    /// a value that is only what it was given.
    fn is_plumbing(&self, v: Value) -> bool {
        match self.def(v) {
            ValueDef::Result(inst, _) => {
                matches!(self.inst(inst).op, Op::For(..) | Op::While(..) | Op::If(..))
            }
            ValueDef::Param(block, k) => {
                self.open_loops.iter().any(|&(p, _)| p == v)
                    || self
                        .owner(block)
                        .is_some_and(|inst| !(matches!(self.inst(inst).op, Op::For(..)) && k == 0))
            }
        }
    }

    /// The instruction whose block `block` is (a loop's body or
    /// condition, a branch's arm).
    pub fn owner(&self, block: Block) -> Option<Inst> {
        (0..self.insts.len())
            .map(|i| Inst(i as u32))
            .find(|&i| self.inst(i).op.blocks().contains(&block))
    }

    /// The values that are one variable with `v` across control flow: the
    /// result of a loop, its body's (and condition's) carried parameter,
    /// the initial value and what the body yields for it; the result of a
    /// branch and what each arm yields for it. They have one type.
    pub fn slot(&self, v: Value) -> Vec<Value> {
        let mut seen = vec![v];
        let mut todo = vec![v];
        while let Some(x) = todo.pop() {
            for y in self.slot_neighbours(x) {
                if !seen.contains(&y) {
                    seen.push(y);
                    todo.push(y);
                }
            }
        }
        seen
    }

    /// The results of the structured instructions that `x` is the result,
    /// a carried parameter, an initial value or a yield of, and the values
    /// those results are made of.
    fn slot_neighbours(&self, x: Value) -> Vec<Value> {
        let mut results = Vec::new();
        match self.def(x) {
            ValueDef::Result(inst, k)
                if matches!(self.inst(inst).op, Op::For(..) | Op::While(..) | Op::If(..)) =>
            {
                results.push((inst, k));
            }
            ValueDef::Param(block, k) => {
                if let Some(inst) = self.owner(block) {
                    match self.inst(inst).op {
                        Op::For(..) if k > 0 => results.push((inst, k - 1)),
                        Op::While(..) => results.push((inst, k)),
                        _ => {}
                    }
                }
            }
            ValueDef::Result(..) => {}
        }
        for (i, d) in self.insts.iter().enumerate() {
            let inst = Inst(i as u32);
            match &d.op {
                Op::For(_, init, body) | Op::While(init, _, body) => {
                    for (k, (&a, &b)) in init.iter().zip(&self.block(*body).ret).enumerate() {
                        if a == x || b == x {
                            results.push((inst, k));
                        }
                    }
                }
                Op::If(_, t, e) => {
                    for (k, (&a, &b)) in self
                        .block(*t)
                        .ret
                        .iter()
                        .zip(&self.block(*e).ret)
                        .enumerate()
                    {
                        if a == x || b == x {
                            results.push((inst, k));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for &(p, init) in &self.open_loops {
            if x == p {
                out.push(init);
            } else if x == init {
                out.push(p);
            }
        }
        for (inst, k) in results {
            let d = self.inst(inst);
            let Some(&r) = d.results.get(k) else { continue };
            out.push(r);
            match &d.op {
                Op::For(_, init, body) => {
                    let body = self.block(*body);
                    out.extend(init.get(k).copied());
                    out.extend(body.params.get(k + 1).copied());
                    out.extend(body.ret.get(k).copied());
                }
                Op::While(init, cond, body) => {
                    out.extend(init.get(k).copied());
                    out.extend(self.block(*cond).params.get(k).copied());
                    out.extend(self.block(*body).params.get(k).copied());
                    out.extend(self.block(*body).ret.get(k).copied());
                }
                Op::If(_, t, e) => {
                    out.extend(self.block(*t).ret.get(k).copied());
                    out.extend(self.block(*e).ret.get(k).copied());
                }
                _ => {}
            }
        }
        out
    }

    /// The array a mutable view (`&mut v`, `&mut v[a..b]`) lends.
    pub fn lent_mutably(&self, v: Value) -> Option<Value> {
        match self.def_op(v)? {
            Op::Ref(array, true) => Some(*array),
            Op::SubSlice(x, ..) => self.lent_mutably(*x),
            _ => None,
        }
    }

    /// The literal `v` is, if it is one.
    pub fn literal(&self, v: Value) -> Option<&Lit> {
        match self.def_op(v) {
            Some(Op::Lit(lit)) => Some(lit),
            _ => None,
        }
    }

    /// The blocks in nesting order: the entry block, then the pullback.
    pub fn regions(&self) -> Vec<Block> {
        std::iter::once(self.entry).chain(self.pullback).collect()
    }

    /// Calls `visit` on every instruction of `block` and of the blocks its
    /// instructions own, in program order.
    pub fn walk(&self, block: Block, visit: &mut impl FnMut(Inst)) {
        for &inst in &self.block(block).insts {
            visit(inst);
            for child in self.inst(inst).op.blocks() {
                self.walk(child, visit);
            }
        }
    }

    /// `block` and every block nested in it, outer first.
    pub fn nested_blocks(&self, block: Block) -> Vec<Block> {
        let mut out = vec![block];
        self.walk(block, &mut |inst| out.extend(self.inst(inst).op.blocks()));
        out
    }

    /// Every block of the function: each region and the blocks nested in
    /// it, outer first.
    pub fn all_blocks(&self) -> Vec<Block> {
        self.regions()
            .into_iter()
            .flat_map(|r| self.nested_blocks(r))
            .collect()
    }

    /// How many times each value is read, by instructions and block results.
    pub fn use_counts(&self) -> Vec<usize> {
        let mut uses = vec![0; self.values.len()];
        for block in self.all_blocks() {
            let data = self.block(block);
            for &inst in &data.insts {
                for v in self.inst(inst).op.operands() {
                    uses[v.index()] += 1;
                }
            }
            for &v in &data.ret {
                uses[v.index()] += 1;
            }
        }
        uses
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for block in self.regions() {
            let title = if block == self.entry {
                "entry"
            } else {
                "pullback"
            };
            writeln!(f, "{title}({}):", self.params_text(block))?;
            self.fmt_block(f, block, 1)?;
        }
        Ok(())
    }
}

fn list(vs: &[Value]) -> String {
    vs.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Function {
    fn params_text(&self, block: Block) -> String {
        let params: Vec<String> = self
            .block(block)
            .params
            .iter()
            .map(|&p| match self.name(p) {
                Some(n) => format!("{p}: {} {n}", self.class(p).text()),
                None => format!("{p}: {}", self.class(p).text()),
            })
            .collect();
        params.join(", ")
    }

    fn fmt_block(&self, f: &mut fmt::Formatter<'_>, block: Block, depth: usize) -> fmt::Result {
        let pad = "  ".repeat(depth);
        for &inst in &self.block(block).insts {
            let InstData { op, results, .. } = self.inst(inst);
            let body = match op {
                Op::Lit(l) => format!("lit {}", l.text),
                Op::Extern(t) => format!("extern `{}`", t.text),
                Op::Unary(UnOp::Neg, a) => format!("neg {a}"),
                Op::Unary(UnOp::Not, a) => format!("not {a}"),
                Op::Binary(op, a, b) => format!("{} {a}, {b}", op.text()),
                Op::Cast(a, ty) => format!("cast {a} as {}", ty.text),
                Op::Prim(p, args) => format!("{} {}", p.name(), list(args)),
                Op::Partials(p, args) => format!("partials.{} {}", p.name(), list(args)),
                Op::Call(c, args) => format!("call {c}({})", list(args)),
                Op::CallJvp(c, args, tangents) => {
                    format!("call_jvp {c}({}; {})", list(args), list(tangents))
                }
                Op::CallPullback(c, args) => format!("call_pullback {c}({})", list(args)),
                Op::ApplyPullback(pb, args, lent, sinks) if lent.is_empty() && sinks.is_empty() => {
                    format!("apply {pb}({})", list(args))
                }
                Op::ApplyPullback(pb, args, lent, sinks) => {
                    format!(
                        "apply {pb}({}; lent {}; into {})",
                        list(args),
                        list(lent),
                        list(sinks)
                    )
                }
                Op::CastLike(like, v) => format!("cast_like {like}, {v}"),
                Op::Index(x, i) => format!("index {x}[{i}]"),
                Op::Len(x) => format!("len {x}"),
                Op::If(c, _, _) => format!("if {c}"),
                Op::For(range, init, _) => format!("for {range} init({})", list(init)),
                Op::TapeNew(Some(range)) => format!("tape for {range}"),
                Op::TapeNew(None) => "tape".to_string(),
                Op::While(init, ..) => format!("while init({})", list(init)),
                Op::TapePush(t, v) => format!("push {t}, {v}"),
                Op::TapePop(t) => format!("pop {t}"),
                Op::Zeros(x, _) => format!("zeros_like {x}"),
                Op::Accum(b, i, v) => format!("accumulate {b}[{i}] += {v}"),
                Op::Matches(v, pat) => format!("matches {v}, `{}`", pat.text),
                Op::Effect(t, args) => format!("effect `{}` {}", t.text, list(args)),
                Op::NewArray(init, ArrayShape::Vec(n)) => format!("array [{init}; {n}]"),
                Op::NewArray(init, ArrayShape::Fixed(n)) => format!("array [{init}; {}]", n.text),
                Op::NewArray(_, ArrayShape::Empty(n)) => format!("array with capacity {n}"),
                Op::Store(a, i, v) => format!("store {a}[{i}] = {v}"),
                Op::StoreAdd(a, i, v) => format!("store {a}[{i}] += {v}"),
                Op::Push(a, v, p) => format!("push {a}[{p}] = {v}"),
                Op::ZeroAt(b, i) => format!("zero {b}[{i}]"),
                Op::Own(v) => format!("own {v}"),
                Op::OwnCopy(v) => format!("own copy of {v}"),
                Op::Save(t, a, i) => format!("save {t} <- {a}[{i}]"),
                Op::Restore(t, a) => format!("restore {a} <- {t}"),
                Op::TapeLen(t) => format!("len {t}"),
                Op::UndoTo(t, a, m) => format!("undo {a} <- {t} to {m}"),
                Op::CloneArray(a) => format!("clone {a}"),
                Op::SaveAll(t, a, unless) => {
                    format!("save {t} <- all of {a}{}", unless_text(unless))
                }
                Op::RestoreAll(t, a, unless) => {
                    format!("restore all of {a} <- {t}{}", unless_text(unless))
                }
                Op::SaveRange(t, a, lo, hi) => format!("save {t} <- {a}[{lo}..{hi}]"),
                Op::SkipSavesIf(t, c, p, cands) => {
                    format!("skip saves {t} if {c} fills param {p} by one of {cands:?}")
                }
                Op::ArrayLit(items) => format!("array [{}]", list(items)),
                Op::Insert(a, i, x) => format!("insert {a}[{i}] = {x}"),
                Op::AddCotangents(a, b) => format!("add_cotangents {a}, {b}"),
                Op::Field(a, m) => format!("field {a}.{}", m.text),
                Op::Ref(a, false) => format!("ref {a}"),
                Op::Ref(a, true) => format!("ref mut {a}"),
                Op::SubSlice(x, lo, hi) => {
                    let bound = |b: &Option<Value>| b.map(|v| v.to_string()).unwrap_or_default();
                    format!("subslice {x}[{}..{}]", bound(lo), bound(hi))
                }
                Op::AccumAll(b, v) => format!("accumulate {b} += {v}"),
            };
            let name = match results.as_slice() {
                [v] => self
                    .name(*v)
                    .map(|n| format!("  ; {n}"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            if results.is_empty() {
                writeln!(f, "{pad}{body}")?;
            } else {
                writeln!(f, "{pad}{} = {body}{name}", list(results))?;
            }
            match op {
                Op::If(_, t, e) => {
                    writeln!(f, "{pad}then:")?;
                    self.fmt_block(f, *t, depth + 1)?;
                    writeln!(f, "{pad}else:")?;
                    self.fmt_block(f, *e, depth + 1)?;
                }
                Op::For(_, _, body) => {
                    writeln!(f, "{pad}body({}):", self.params_text(*body))?;
                    self.fmt_block(f, *body, depth + 1)?;
                }
                Op::While(_, cond, body) => {
                    writeln!(f, "{pad}cond({}):", self.params_text(*cond))?;
                    self.fmt_block(f, *cond, depth + 1)?;
                    writeln!(f, "{pad}body({}):", self.params_text(*body))?;
                    self.fmt_block(f, *body, depth + 1)?;
                }
                _ => {}
            }
        }
        let ret = &self.block(block).ret;
        let word = if depth == 1 { "return" } else { "yield" };
        writeln!(f, "{pad}{word} {}", list(ret))
    }
}

impl Block {
    /// The entry block of every function.
    pub fn default_entry() -> Block {
        Block(0)
    }
}

impl Function {
    /// The value with arena index `i`.
    pub fn value(&self, i: usize) -> Value {
        Value(i as u32)
    }

    /// The block a value is defined in.
    pub fn block_of(&self, v: Value) -> Block {
        match self.def(v) {
            ValueDef::Param(b, _) => b,
            ValueDef::Result(i, _) => self.inst(i).block,
        }
    }
}
