//! The kernel table against the shaders: every module the engine builds parses and validates
//! with naga through the engine's own validation function; each kernel's storage bindings
//! (names, order, access) and its uniform `Params` layout (member names, offsets, types and
//! size, reflected by naga) equal what the Rust side declares; the generated prelude's codes
//! are consistent; a broken module is a typed error naming the kernel, the file and the line.

use naga::{AddressSpace, ScalarKind, StorageAccess, TypeInner};
use wgtrain::Error;
use wgtrain::backend::gpu::kernels::{
    ACTIVATION_LIBRARY, Access, Kernel, KernelSpec, MATMUL_COMMON, MATMUL_LIBRARY, ModuleSource,
};
use wgtrain::backend::gpu::params::Scalar;
use wgtrain::backend::gpu::prelude;
use wgtrain::backend::gpu::validate::{ShaderTarget, validate};
use wgtrain::nn::Optimizer;
use wgtrain::nn::optimizer_slots::STATE_BINDINGS;

/// The kernel's module, validated against WebGPU's defaults plus the features it needs.
fn module(kernel: Kernel) -> naga::Module {
    let source = kernel.spec().module_source();
    validate(&source, &ShaderTarget::with_features(kernel.spec().features)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_kernel_validates_and_has_its_entry_point() {
    for &kernel in Kernel::ALL {
        let module = module(kernel);
        let entries: Vec<_> = module.entry_points.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            entries,
            vec![kernel.name()],
            "{}.wgsl must have exactly the entry point `{}`",
            kernel.name(),
            kernel.name()
        );
    }
}

#[test]
fn activation_library_validates_with_the_prelude_alone() {
    let mut source = ModuleSource::new("activation");
    source.push("generated prelude", prelude::wgsl());
    source.push("shaders/activation.wgsl", ACTIVATION_LIBRARY);
    let module = validate(&source, &ShaderTarget::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(module.entry_points.is_empty());
}

#[test]
fn matmul_library_validates_with_its_dependencies_alone() {
    let mut source = ModuleSource::new("matmul_common");
    source.push("generated prelude", prelude::wgsl());
    source.push("shaders/activation.wgsl", ACTIVATION_LIBRARY);
    source.push(MATMUL_COMMON.file, MATMUL_COMMON.wgsl);
    let module = validate(&source, &ShaderTarget::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(module.entry_points.is_empty());
    let variants = Kernel::ALL
        .iter()
        .filter(|k| k.spec().primary == Kernel::Matmul)
        .count();
    assert_eq!(variants, 4, "tiled, blocked, skinny, subgroup");
}

#[test]
fn every_shader_file_is_in_the_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            stem == "activation" || stem == "matmul_common" || Kernel::ALL.iter().any(|k| k.name() == stem),
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

/// Differences between the table's storage bindings and the module's (names, order, access),
/// and whether binding 0 is the only uniform.
fn binding_mismatches(spec: &KernelSpec, module: &naga::Module) -> Vec<String> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (_, var) in module.global_variables.iter() {
        let Some(binding) = &var.binding else { continue };
        let name = var.name.clone().unwrap_or_default();
        if binding.group != 0 {
            problems.push(format!("`{name}` is in group {}", binding.group));
        }
        match (binding.binding, var.space) {
            (0, AddressSpace::Uniform) => {}
            (0, space) => problems.push(format!("binding 0 `{name}` is {space:?}, not the Params uniform")),
            (b, AddressSpace::Storage { access }) => {
                let access = if access.contains(StorageAccess::STORE) {
                    Access::ReadWrite
                } else {
                    Access::Read
                };
                found.push((b, name, access));
            }
            (b, space) => problems.push(format!("binding {b} `{name}` is {space:?}, not a storage buffer")),
        }
    }
    found.sort_by_key(|(b, ..)| *b);
    let declared: Vec<_> = spec
        .bindings
        .iter()
        .enumerate()
        .map(|(i, b)| (i as u32 + 1, b.name.to_string(), b.access))
        .collect();
    if found != declared {
        problems.push(format!("the WGSL binds {found:?}, the table declares {declared:?}"));
    }
    problems
}

#[test]
fn storage_bindings_match_the_table_in_name_order_and_access() {
    for &kernel in Kernel::ALL {
        let problems = binding_mismatches(kernel.spec(), &module(kernel));
        assert!(problems.is_empty(), "{}: {problems:#?}", kernel.name());
    }
}

/// Differences between the module's uniform `Params` struct (reflected by naga) and the
/// `#[repr(C)]` Rust struct the table links to the kernel.
fn layout_mismatches(spec: &KernelSpec, module: &naga::Module) -> Vec<String> {
    let uniforms: Vec<_> = module
        .global_variables
        .iter()
        .filter(|(_, v)| v.space == AddressSpace::Uniform)
        .collect();
    let [(_, uniform)] = uniforms[..] else {
        return vec![format!("{} uniforms, one expected", uniforms.len())];
    };
    let TypeInner::Struct { members, span } = &module.types[uniform.ty].inner else {
        return vec!["the uniform is not a struct".into()];
    };
    let mut problems = Vec::new();
    let rust = spec.params;
    if *span as usize != rust.size {
        problems.push(format!("WGSL size {span}, Rust {} size {}", rust.name, rust.size));
    }
    let wgsl: Vec<(String, usize, Option<Scalar>)> = members
        .iter()
        .map(|m| {
            let scalar = match module.types[m.ty].inner {
                TypeInner::Scalar(s) if s.width == 4 && s.kind == ScalarKind::Uint => Some(Scalar::U32),
                TypeInner::Scalar(s) if s.width == 4 && s.kind == ScalarKind::Float => Some(Scalar::F32),
                // Uniform arrays of vec4 (the optimizer's schedule boundaries and values).
                TypeInner::Array {
                    base,
                    size: naga::ArraySize::Constant(n),
                    stride: 16,
                } => match module.types[base].inner {
                    TypeInner::Vector {
                        size: naga::VectorSize::Quad,
                        scalar,
                    } if scalar.width == 4 => match scalar.kind {
                        ScalarKind::Uint => Some(Scalar::U32x4Array(n.get() as usize)),
                        ScalarKind::Float => Some(Scalar::F32x4Array(n.get() as usize)),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            };
            (m.name.clone().unwrap_or_default(), m.offset as usize, scalar)
        })
        .collect();
    let declared: Vec<(String, usize, Option<Scalar>)> = rust
        .fields
        .iter()
        .map(|f| (f.name.to_string(), f.offset, Some(f.scalar)))
        .collect();
    for i in 0..wgsl.len().max(declared.len()) {
        if wgsl.get(i) != declared.get(i) {
            problems.push(format!(
                "member {i}: WGSL {:?}, Rust {} {:?}",
                wgsl.get(i),
                rust.name,
                declared.get(i)
            ));
        }
    }
    problems
}

#[test]
fn every_uniform_params_layout_equals_its_rust_struct() {
    for &kernel in Kernel::ALL {
        let problems = layout_mismatches(kernel.spec(), &module(kernel));
        assert!(problems.is_empty(), "{}: {problems:#?}", kernel.name());
    }
}

/// The comparisons above are not vacuous: a field added on one side, or two fields swapped,
/// is reported.
#[test]
fn layout_and_binding_checks_catch_drift() {
    let spec = Kernel::Fill.spec();
    let variant = |from: &str, to: &str| {
        assert!(spec.wgsl.contains(from), "fill.wgsl changed: update this test");
        let mut source = ModuleSource::new("fill");
        source.push("generated prelude", prelude::wgsl());
        source.push("fill.wgsl", &spec.wgsl.replace(from, to));
        validate(&source, &ShaderTarget::default()).unwrap_or_else(|e| panic!("{e}"))
    };
    let swapped = variant("    n: u32,\n    out_off: u32,", "    out_off: u32,\n    n: u32,");
    assert!(!layout_mismatches(spec, &swapped).is_empty(), "a swap went unnoticed");
    let added = variant("    _pad0: u32,\n", "    _pad0: u32,\n    extra: u32,\n");
    assert!(
        !layout_mismatches(spec, &added).is_empty(),
        "an added field went unnoticed"
    );
    // A read-only `out` (with its store removed, which validation would refuse).
    let stored = "out[p.out_off + i] = p.value;";
    assert!(spec.wgsl.contains(stored), "fill.wgsl changed: update this test");
    let mut source = ModuleSource::new("fill");
    source.push("generated prelude", prelude::wgsl());
    source.push(
        "fill.wgsl",
        &spec
            .wgsl
            .replace("var<storage, read_write> out", "var<storage, read> out")
            .replace(stored, "let unused = out[p.out_off + i];"),
    );
    let module = validate(&source, &ShaderTarget::default()).unwrap();
    assert!(
        !binding_mismatches(spec, &module).is_empty(),
        "a changed access went unnoticed"
    );
}

#[test]
fn a_broken_module_is_a_shader_error_naming_kernel_file_line_and_column() {
    // A type error on line 3 of the kernel's own text, after the prelude.
    let mut source = ModuleSource::new("broken_kernel");
    source.push("generated prelude", prelude::wgsl());
    source.push(
        "shaders/broken_kernel.wgsl",
        "// header\nfn f() -> u32 {\n    return 1.5 + f32(ACT_RELU);\n}\n",
    );
    match validate(&source, &ShaderTarget::default()) {
        Err(err @ Error::Shader { .. }) => {
            let Error::Shader {
                kernel,
                part,
                line,
                column,
                ..
            } = &err
            else {
                unreachable!()
            };
            assert_eq!(kernel, "broken_kernel");
            assert_eq!(part, "shaders/broken_kernel.wgsl");
            assert_eq!(*line, 3, "{err}");
            assert!(*column > 1, "{err}");
            println!("{err}");
        }
        other => panic!("expected a shader error, got {other:?}"),
    }
    // A syntax error (the parser's path) and a name the prelude lacks.
    for (text, line) in [
        ("fn f() {\n    let x = ;\n}\n", 2),
        ("fn f() -> u32 {\n    return ACT_NOPE;\n}\n", 2),
    ] {
        let mut source = ModuleSource::new("broken");
        source.push("generated prelude", prelude::wgsl());
        source.push("broken.wgsl", text);
        match validate(&source, &ShaderTarget::default()) {
            Err(Error::Shader { part, line: got, .. }) => assert_eq!((part.as_str(), got), ("broken.wgsl", line)),
            other => panic!("expected a shader error, got {other:?}"),
        }
    }
}

#[test]
fn a_kernel_over_the_device_limits_is_a_shader_error() {
    let mut source = ModuleSource::new("wide");
    source.push(
        "wide.wgsl",
        "var<workgroup> big: array<f32, 8192>;\n@compute @workgroup_size(64)\nfn wide() {\n    big[0] = 1.0;\n}\n",
    );
    // 32 KiB of workgroup memory: over WebGPU's 16 KiB, within a 32 KiB device.
    match validate(&source, &ShaderTarget::default()) {
        Err(Error::Shader { line: 1, message, .. }) => assert!(message.contains("32768"), "{message}"),
        other => panic!("expected a shader error, got {other:?}"),
    }
    let limits = wgpu::Limits {
        max_compute_workgroup_storage_size: 32 * 1024,
        ..Default::default()
    };
    let roomy = ShaderTarget::with_limits(ShaderTarget::default().capabilities, &limits);
    validate(&source, &roomy).unwrap();
}

#[test]
fn prelude_codes_are_distinct_and_flags_are_single_bits() {
    let groups = prelude::code_groups();
    let mut names = std::collections::HashSet::new();
    for group in &groups {
        if group.what == "optimizer state bindings" {
            // Bindings repeat across optimizers (each uses s0 first); within one they differ.
            for (name, value) in &group.codes {
                assert!(names.insert(name.clone()), "{name} is declared twice");
                assert!((*value as usize) < STATE_BINDINGS, "{name} = {value}");
            }
            continue;
        }
        let mut values = std::collections::HashSet::new();
        for (name, value) in &group.codes {
            assert!(names.insert(name.clone()), "{name} is declared twice");
            assert!(values.insert(*value), "{}: {name} repeats the code {value}", group.what);
            if group.what.ends_with("flag bits") {
                assert!(value.is_power_of_two(), "{name} = {value} is not a single bit");
            }
        }
        if group.what.ends_with("codes") || group.what.ends_with("slots") {
            // Dense: every code from 0 to the largest is named, so none was left out.
            assert_eq!(
                values.len() as u32,
                values.iter().max().unwrap() + 1,
                "{} has gaps",
                group.what
            );
        }
    }
    let text = prelude::wgsl();
    assert!(text.contains("const ACT_RELU: u32 = 1u;"));
    assert!(text.contains("const SLOT_ADAM_V: u32 = 1u;"));
    assert!(text.contains("const METRIC_NON_FINITE: u32 = 9u;"));
}

#[test]
fn each_optimizer_keeps_its_slots_in_distinct_bindings() {
    let optimizers = [
        Optimizer::sgd(),
        Optimizer::sgd().with_momentum(0.9),
        Optimizer::adam(),
        Optimizer::adamw(),
        Optimizer::rmsprop(),
        Optimizer::rmsprop().with_momentum(0.5),
        Optimizer::RmsProp {
            learning_rate: 1e-3.into(),
            rho: 0.9,
            momentum: 0.5,
            epsilon: 1e-7,
            centered: true,
            weight_decay: None,
        },
    ];
    for o in optimizers {
        let layout = o.slot_layout();
        let bindings: std::collections::HashSet<_> = layout.iter().map(|s| s.binding()).collect();
        assert_eq!(bindings.len(), layout.len(), "{o:?}");
        let names: Vec<_> = layout.iter().map(|s| s.name()).collect();
        assert_eq!(names, o.slot_names(), "{o:?}");
        assert_eq!(layout.len(), o.slots(), "{o:?}");
    }
}

/// No kernel repeats a switch code or flag bit as a bare number: codes come from the prelude.
/// (The optimizer's `state` accessors switch on a binding index, 0..3, which is not a code.)
#[test]
fn shaders_name_their_codes_instead_of_repeating_numbers() {
    let files = Kernel::ALL
        .iter()
        .map(|k| (k.name(), k.spec().wgsl))
        .chain([("activation", ACTIVATION_LIBRARY), ("matmul_common", MATMUL_LIBRARY)]);
    for (name, text) in files {
        let mut selector = String::new();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if let Some(rest) = code.trim_start().strip_prefix("switch ") {
                selector = rest.trim_end_matches('{').trim().to_string();
            }
            let bare_after = |needle: &str| {
                code.match_indices(needle)
                    .any(|(at, _)| code[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
            };
            let case_is_bare = selector != "slot" && bare_after("case ");
            let compared = [
                "flags & ",
                "kind == ",
                "kind >= ",
                "accuracy == ",
                "mode == ",
                "act == ",
            ];
            assert!(
                !case_is_bare && !compared.iter().any(|n| bare_after(n)),
                "{name}.wgsl:{}: a bare code in `{}`: use the prelude's constant",
                i + 1,
                line.trim()
            );
        }
    }
}
