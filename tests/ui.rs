//! Every error message of the macro, one file each, with the compiler's
//! output in the `.stderr` next to it: the message, its span, and that the
//! user's function is still emitted (no follow-up "cannot find" errors).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
