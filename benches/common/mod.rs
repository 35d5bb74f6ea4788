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

/// Whether two gradients agree to 1e-9 relative (absolute below 1e-3), as
/// every variant of a benchmark must before it is timed.
#[allow(dead_code)] // not every benchmark compares vectors
pub(crate) fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-9 * y.abs().max(1e-3))
}
