//! The whole WGSL modules of a generated kernel, entry point included, as
//! wgpu compiles them: validated by naga and kept as snapshots (read before
//! they were accepted). No GPU needed.

use autodiff::gpu::Mode;
use autodiff::prelude::*;

/// The workload.
#[allow(dead_code)]
#[differentiable(gpu)]
fn f(x: f32) -> f32 {
    x.sin() * x + (-x).exp()
}

/// Two parameters, one of which the example shares between elements.
#[allow(dead_code)]
#[differentiable(gpu)]
fn scaled_error(x: f32, a: f32) -> f32 {
    let r = a * x - 1.0;
    r * r
}

fn validate(source: &str) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
}

/// The module without the prelude every module starts with.
fn own_part(module: &str) -> &str {
    let start = module
        .find("fn ad_d_")
        .or_else(|| module.find("fn u_"))
        .unwrap();
    &module[start..]
}

#[test]
fn vjp_of_the_workload() {
    let module = f_gpu_kernel().module(Mode::Vjp, &[false, false]);
    validate(&module);
    insta::assert_snapshot!(own_part(&module));
}

#[test]
fn vjp_with_a_shared_parameter() {
    let module = scaled_error_gpu_kernel().module(Mode::Vjp, &[false, true, false]);
    validate(&module);
    insta::assert_snapshot!(own_part(&module));
}

#[test]
fn jvp_of_the_workload() {
    let module = f_gpu_kernel().module(Mode::Jvp, &[false, false]);
    validate(&module);
    insta::assert_snapshot!(own_part(&module));
}
