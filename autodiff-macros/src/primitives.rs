//! The primitives: one entry per float method the macro differentiates.
//!
//! An entry says how the method is called (its arguments, receiver first,
//! each a float or an integer). Its derivative rule is the runtime function
//! `::autodiff::__private::partials::<name>`, which takes the arguments and
//! the output and returns one partial per float argument; forward and reverse
//! mode both use it, as does `Dual`. Adding a primitive is one line here and
//! one function there.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Float,
    Int,
}

use Arg::{Float as F, Int as I};

pub struct PrimInfo {
    pub name: &'static str,
    /// The arguments, the receiver first.
    pub args: &'static [Arg],
    /// Whether a user may call it as a method; `rem` is the `%` operator.
    pub method: bool,
    /// Whether recomputing it costs about as much as reading it back: the
    /// reverse sweep of a loop recomputes a cheap primitive, and reads an
    /// expensive one (a libm call) from a tape.
    pub cheap: bool,
}

const fn m(name: &'static str, args: &'static [Arg]) -> PrimInfo {
    PrimInfo {
        name,
        args,
        method: true,
        cheap: false,
    }
}

/// A primitive of a few instructions.
const fn cheap(name: &'static str, args: &'static [Arg]) -> PrimInfo {
    PrimInfo {
        name,
        args,
        method: true,
        cheap: true,
    }
}

pub static PRIMS: &[PrimInfo] = &[
    m("sin", &[F]),
    m("cos", &[F]),
    m("tan", &[F]),
    m("asin", &[F]),
    m("acos", &[F]),
    m("atan", &[F]),
    m("atan2", &[F, F]),
    m("sinh", &[F]),
    m("cosh", &[F]),
    m("tanh", &[F]),
    m("asinh", &[F]),
    m("acosh", &[F]),
    m("atanh", &[F]),
    m("exp", &[F]),
    m("exp2", &[F]),
    m("exp_m1", &[F]),
    m("ln", &[F]),
    m("ln_1p", &[F]),
    m("log", &[F, F]),
    m("log2", &[F]),
    m("log10", &[F]),
    m("sqrt", &[F]),
    m("cbrt", &[F]),
    m("powi", &[F, I]),
    m("powf", &[F, F]),
    m("hypot", &[F, F]),
    cheap("abs", &[F]),
    cheap("signum", &[F]),
    cheap("max", &[F, F]),
    cheap("min", &[F, F]),
    m("mul_add", &[F, F, F]),
    cheap("recip", &[F]),
    cheap("clamp", &[F, F, F]),
    cheap("to_degrees", &[F]),
    cheap("to_radians", &[F]),
    cheap("floor", &[F]),
    cheap("ceil", &[F]),
    cheap("round", &[F]),
    cheap("trunc", &[F]),
    cheap("fract", &[F]),
    PrimInfo {
        name: "rem",
        args: &[F, F],
        method: false,
        cheap: false,
    },
];

/// A primitive: an index into [`PRIMS`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prim(u8);

impl Prim {
    /// The float method called `name`.
    pub fn method(name: &str) -> Option<Prim> {
        PRIMS
            .iter()
            .position(|p| p.method && p.name == name)
            .map(|i| Prim(i as u8))
    }

    /// The `%` operator on floats.
    pub fn rem() -> Prim {
        Prim(
            PRIMS
                .iter()
                .position(|p| p.name == "rem")
                .unwrap_or_default() as u8,
        )
    }

    pub fn info(self) -> &'static PrimInfo {
        &PRIMS[self.0 as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn args(self) -> &'static [Arg] {
        self.info().args
    }

    /// How many partials its rule returns.
    pub fn is_cheap(self) -> bool {
        self.info().cheap
    }

    pub fn float_args(self) -> usize {
        self.args().iter().filter(|&&a| a == Arg::Float).count()
    }

    /// The names of all float methods, for error messages.
    pub fn method_names() -> Vec<&'static str> {
        PRIMS.iter().filter(|p| p.method).map(|p| p.name).collect()
    }
}

impl fmt::Debug for Prim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_rem_is_the_operator() {
        for (i, p) in PRIMS.iter().enumerate() {
            assert!(
                PRIMS[..i].iter().all(|q| q.name != p.name),
                "{} twice",
                p.name
            );
            assert_eq!(
                p.args.first(),
                Some(&Arg::Float),
                "{}: receiver must be a float",
                p.name
            );
        }
        assert_eq!(Prim::rem().name(), "rem");
        assert_eq!(Prim::method("rem"), None, "`%` is not a method");
        assert_eq!(Prim::method("powi").map(Prim::float_args), Some(1));
        assert_eq!(Prim::method("clamp").map(Prim::float_args), Some(3));
    }
}
