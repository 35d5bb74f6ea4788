//! Errors that need the `gpu` feature on (the facade's `tests/ui/gpu` has
//! those the macro reports before any GPU code is emitted).

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
