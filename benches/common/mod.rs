//! Shared by the benchmarks.

/// Every variant is called through one of these, so that each is compiled
/// as a function of its own and none gains from being inlined into the
/// benchmark loop differently from the others.
macro_rules! not_inlined {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $body:expr;)*) => {$(
        #[inline(never)]
        fn $name($($arg: $ty),*) -> $ret {
            $body
        }
    )*};
}

pub(crate) use not_inlined;
