//! Every shader file parses and validates with naga (the compiler wgpu uses), so a WGSL
//! mistake fails here with a readable message instead of at pipeline creation.

use wgtrain::backend::gpu::shaders::{ACTIVATION_LIBRARY, KERNELS};

fn validate(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}.wgsl does not parse:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}.wgsl does not validate:\n{}", e.emit_to_string(source)));
    module
}

#[test]
fn every_kernel_validates_and_has_its_entry_point() {
    for kernel in KERNELS {
        let module = validate(kernel.name, &kernel.module_source());
        let entries: Vec<_> = module.entry_points.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            entries,
            vec![kernel.name],
            "{}.wgsl must have exactly the entry point `{}`",
            kernel.name,
            kernel.name
        );
    }
}

#[test]
fn activation_library_validates_alone() {
    let module = validate("activation", ACTIVATION_LIBRARY);
    assert!(module.entry_points.is_empty());
}

#[test]
fn every_shader_file_is_in_the_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            stem == "activation" || KERNELS.iter().any(|k| k.name == stem),
            "{} is not in the shader table",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("// "),
            "{} must start with a header comment",
            path.display()
        );
    }
}
