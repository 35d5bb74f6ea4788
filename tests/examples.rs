//! The examples of custom rules, run: each checks itself (derivatives
//! against finite differences and each other) and panics on a mismatch.

#[allow(dead_code)]
#[path = "../examples/logsumexp_rule.rs"]
mod logsumexp_rule;

#[allow(dead_code)]
#[path = "../examples/erf_model.rs"]
mod erf_model;

#[allow(dead_code)]
#[path = "../examples/implicit_newton.rs"]
mod implicit_newton;

#[test]
fn logsumexp_rule_is_stable_where_the_naive_gradient_overflows() {
    logsumexp_rule::main();
}

#[test]
fn erf_from_another_crate_fits_a_model() {
    erf_model::main();
}

#[test]
fn implicit_differentiation_matches_unrolling() {
    implicit_newton::checks();
}
