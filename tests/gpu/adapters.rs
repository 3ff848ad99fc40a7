//! Adapters: listing with their limits, the device opened with the adapter's own limits,
//! choosing by name or index (`WGTRAIN_ADAPTER` through `AdapterChoice::resolve_with`), and
//! every kernel validating against the device's own target.

use wgtrain::Error;
use wgtrain::backend::gpu::{AdapterChoice, AdapterSummary, GpuContext, list_adapters};
use wgtrain::backend::{Backend, GpuBackend};

use crate::common::harness::gpu_backend;

/// The GPU backend and the adapters present (the harness runs these tests only where a GPU
/// backend opens, or under WGTRAIN_REQUIRE_GPU=1 to fail there).
fn adapters() -> (GpuBackend, Vec<AdapterSummary>) {
    let gpu = gpu_backend();
    let list = list_adapters();
    assert!(
        !list.is_empty(),
        "a GPU backend was created but list_adapters() is empty"
    );
    (gpu, list)
}

pub fn list_adapters_reports_every_adapter_with_non_zero_limits() {
    let (gpu, list) = adapters();
    for (i, a) in list.iter().enumerate() {
        println!("{a}");
        assert_eq!(a.index, i, "summaries are numbered in list order");
        assert!(!a.name.is_empty(), "adapter {i} has no name");
        assert!(!a.backend.is_empty() && !a.device_type.is_empty());
        let limits = [
            ("max_storage_buffer_binding_size", a.max_storage_buffer_binding_size),
            ("max_buffer_size", a.max_buffer_size),
            (
                "max_compute_workgroups_per_dimension",
                a.max_compute_workgroups_per_dimension.into(),
            ),
            (
                "max_compute_invocations_per_workgroup",
                a.max_compute_invocations_per_workgroup.into(),
            ),
            (
                "max_compute_workgroup_storage_size",
                a.max_compute_workgroup_storage_size.into(),
            ),
            (
                "max_storage_buffers_per_shader_stage",
                a.max_storage_buffers_per_shader_stage.into(),
            ),
        ];
        for (name, value) in limits {
            assert!(value > 0, "adapter {i} ({}) reports {name} = 0", a.name);
        }
    }
    // The backend's adapter is one of those listed.
    let used = gpu.adapter();
    assert_eq!(list[used.index].name, used.name);
}

/// The device is opened with the adapter's own limits, not wgpu's defaults: checked against
/// the summary and against an adapter enumerated independently through wgpu.
pub fn device_is_created_with_the_adapters_own_limits() {
    let (gpu, _) = adapters();
    let ctx = gpu.context();
    let device_limits = ctx.device.limits();
    let summary = gpu.adapter();
    assert_eq!(
        device_limits.max_buffer_size, summary.max_buffer_size,
        "device max_buffer_size differs from the adapter's"
    );
    assert_eq!(
        device_limits.max_storage_buffer_binding_size, summary.max_storage_buffer_binding_size,
        "device max_storage_buffer_binding_size differs from the adapter's"
    );
    assert_eq!(
        device_limits.max_compute_workgroups_per_dimension,
        summary.max_compute_workgroups_per_dimension
    );
    assert_eq!(
        device_limits.max_compute_workgroup_storage_size,
        summary.max_compute_workgroup_storage_size
    );
    assert_eq!(
        device_limits.max_storage_buffers_per_shader_stage,
        summary.max_storage_buffers_per_shader_stage
    );
    assert_eq!(ctx.limits, device_limits, "GpuContext::limits is what the device has");

    // Independently of wgtrain's summary: the same adapter, found through wgpu directly.
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let raw =
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY)));
    let same: Vec<_> = raw.iter().filter(|a| a.get_info().name == summary.name).collect();
    assert!(!same.is_empty(), "wgpu does not list `{}`", summary.name);
    assert!(
        same.iter().any(|a| a.limits() == device_limits),
        "the device's limits are not the limits of any adapter named `{}`",
        summary.name
    );

    // Where the adapter offers more than wgpu's defaults, the device has it.
    let defaults = wgpu::Limits::default();
    if summary.max_buffer_size > defaults.max_buffer_size {
        assert!(device_limits.max_buffer_size > defaults.max_buffer_size);
    }
    println!(
        "{}: buffer {} MiB (default {}), storage binding {} MiB (default {})",
        summary.name,
        device_limits.max_buffer_size >> 20,
        defaults.max_buffer_size >> 20,
        device_limits.max_storage_buffer_binding_size >> 20,
        defaults.max_storage_buffer_binding_size >> 20
    );
}

/// A case-insensitive substring of a name picks that adapter; so does its index.
pub fn adapter_is_chosen_by_name_substring_and_by_index() {
    let (_gpu, list) = adapters();
    // Part of the first adapter's name, with its case flipped: "llvmpipe (LLVM…)" → "LVMPI".
    let name: Vec<char> = list[0].name.chars().collect();
    let from = name.len().min(2) / 2; // skip the first character when there is more than one
    let to = (from + 5).min(name.len());
    let part: String = name[from..to]
        .iter()
        .map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().next().unwrap_or(*c)
            } else {
                c.to_lowercase().next().unwrap_or(*c)
            }
        })
        .collect();
    let ctx = GpuContext::new(&AdapterChoice::Name(part.clone()))
        .unwrap_or_else(|e| panic!("choosing by `{part}` failed: {e}"));
    assert_eq!(ctx.summary.index, 0, "`{part}` picked {}", ctx.summary.name);
    assert_eq!(ctx.summary.name, list[0].name);

    // The whole name in lower case works too, through `parse` as a user would type it.
    let lower = AdapterChoice::parse(&list[0].name.to_lowercase());
    assert!(matches!(lower, AdapterChoice::Name(_)));
    assert_eq!(GpuContext::new(&lower).unwrap().summary.name, list[0].name);

    for (i, a) in list.iter().enumerate().take(4) {
        let ctx =
            GpuContext::new(&AdapterChoice::Index(i)).unwrap_or_else(|e| panic!("choosing adapter {i} failed: {e}"));
        assert_eq!(ctx.summary.index, i);
        assert_eq!(ctx.summary.name, a.name);
        // A backend on it works.
        let mut gpu = GpuBackend::from_context(ctx).unwrap();
        let t = gpu.upload(1, 3, &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(gpu.read(t).unwrap(), vec![1.0, 2.0, 3.0]);
    }
}

/// A name that matches nothing and an index past the end are `NoAdapter`, and the message
/// lists the adapters that are present so the user can pick one.
pub fn unmatched_choice_is_no_adapter_listing_the_adapters_present() {
    let (_gpu, list) = adapters();
    for choice in [
        AdapterChoice::Name("no-such-adapter-zq9".into()),
        AdapterChoice::Index(list.len() + 3),
    ] {
        let err = match GpuContext::new(&choice) {
            Ok(ctx) => panic!("{choice:?} opened `{}`", ctx.summary.name),
            Err(e) => e,
        };
        assert!(matches!(err, Error::NoAdapter { .. }), "{choice:?} gave {err:?}");
        let message = err.to_string();
        for a in &list {
            assert!(
                message.contains(&format!("[{}] {}", a.index, a.name)),
                "the message does not list adapter {} `{}`: {message}",
                a.index,
                a.name
            );
        }
        let asked = match &choice {
            AdapterChoice::Name(n) => n.clone(),
            AdapterChoice::Index(i) => i.to_string(),
            AdapterChoice::Auto => unreachable!(),
        };
        assert!(
            message.contains(&asked),
            "the message does not say what was asked: {message}"
        );
        println!("{message}");
    }
}

/// `WGTRAIN_ADAPTER` parsing and precedence, without touching the environment.
pub fn adapter_choice_parse_and_resolve_with() {
    assert_eq!(AdapterChoice::parse("0"), AdapterChoice::Index(0));
    assert_eq!(AdapterChoice::parse(" 2 "), AdapterChoice::Index(2));
    assert_eq!(AdapterChoice::parse(""), AdapterChoice::Auto);
    assert_eq!(AdapterChoice::parse("   "), AdapterChoice::Auto);
    assert_eq!(AdapterChoice::parse("auto"), AdapterChoice::Auto);
    assert_eq!(AdapterChoice::parse("AUTO"), AdapterChoice::Auto);
    assert_eq!(AdapterChoice::parse("llvmpipe"), AdapterChoice::Name("llvmpipe".into()));
    assert_eq!(
        AdapterChoice::parse(" NVIDIA GeForce "),
        AdapterChoice::Name("NVIDIA GeForce".into()),
        "surrounding spaces are trimmed, inner ones and case kept"
    );
    assert_eq!(AdapterChoice::default(), AdapterChoice::Auto);

    // Auto follows the variable when it is set ...
    assert_eq!(AdapterChoice::Auto.resolve_with(None), AdapterChoice::Auto);
    assert_eq!(AdapterChoice::Auto.resolve_with(Some("1")), AdapterChoice::Index(1));
    assert_eq!(
        AdapterChoice::Auto.resolve_with(Some("Intel")),
        AdapterChoice::Name("Intel".into())
    );
    assert_eq!(AdapterChoice::Auto.resolve_with(Some("")), AdapterChoice::Auto);
    // ... and an explicit choice wins over it.
    assert_eq!(AdapterChoice::Index(3).resolve_with(Some("0")), AdapterChoice::Index(3));
    assert_eq!(
        AdapterChoice::Name("llvm".into()).resolve_with(Some("1")),
        AdapterChoice::Name("llvm".into())
    );
    assert_eq!(AdapterChoice::Index(0).resolve_with(None), AdapterChoice::Index(0));
}

/// The backend validates with the device's own target: every kernel passes it, and a broken
/// module is the same typed error there as with the defaults.
pub fn kernels_validate_against_the_devices_target() {
    use wgtrain::backend::gpu::kernels::{Kernel, ModuleSource};
    use wgtrain::backend::gpu::validate::validate;
    let gpu = gpu_backend();
    let target = gpu.shader_target();
    let features = gpu.context().device.features();
    for &kernel in Kernel::ALL.iter().filter(|k| features.contains(k.spec().features)) {
        validate(&kernel.spec().module_source(), &target).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut broken = ModuleSource::new("broken");
    broken.push("broken.wgsl", "fn f() {\n    let x = ;\n}\n");
    match validate(&broken, &target) {
        Err(Error::Shader { kernel, line: 2, .. }) => assert_eq!(kernel, "broken"),
        other => panic!("expected a shader error, got {other:?}"),
    }
}
