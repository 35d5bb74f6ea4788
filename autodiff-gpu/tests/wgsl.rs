//! Every WGSL module the crate ships or builds parses and validates with
//! naga, as wgpu would check it: no GPU needed.

#[test]
fn every_module_validates() {
    let modules = autodiff_gpu::all_wgsl();
    assert!(modules.len() > 100, "{} modules", modules.len());
    let mut failures = Vec::new();
    for (name, source) in &modules {
        let module = match naga::front::wgsl::parse_str(source) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: {}", e.emit_to_string(source)));
                continue;
            }
        };
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        );
        if let Err(e) = validator.validate(&module) {
            failures.push(format!("{name}: {}", e.emit_to_string(source)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
