//! GPU context and fault tests: adapter listing and choice, device limits, and every way a
//! GPU operation can fail (limit exceeded, device lost, validation error, freed tensor, shape
//! mismatch) coming back as a variant of `wgtrain::Error` instead of a panic; plus the work
//! counters that prove a steady-state training step allocates nothing and submits once.
//!
//! Tests that need an adapter are registered as GPU tests: without one they are reported as
//! ignored, and under `WGTRAIN_REQUIRE_GPU=1` they fail. No test sets environment variables (tests share a
//! process); the `WGTRAIN_ADAPTER` logic is tested through `AdapterChoice::resolve_with`.

use wgtrain::Error;
use wgtrain::backend::gpu::{AdapterChoice, AdapterSummary, GpuContext, list_adapters};
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, DropoutBackwardOp, DropoutOp, GatherRowsOp, GpuBackend, LossOp,
    MatmulOp, MetricsOp, OptimizerStepOp, SoftmaxBackwardOp, SoftmaxOp, Tensor, metric_slot,
};
use wgtrain::nn::{Activation, Loss, Optimizer};

use crate::common::harness::{TestDevice, gpu_backend};

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

/// On a device opened with 1 MiB buffer limits, a 4 MB tensor is refused with
/// `LimitExceeded` naming the limit, its value and the size asked; small tensors still work.
pub fn small_device_refuses_a_tensor_over_its_limits() {
    let gpu = gpu_backend();
    const MIB: u64 = 1 << 20;
    let limits = wgpu::Limits {
        max_storage_buffer_binding_size: MIB,
        max_buffer_size: MIB,
        ..gpu.context().limits.clone()
    };
    let choice = AdapterChoice::Index(gpu.adapter().index);
    let ctx = GpuContext::with_limits(&choice, Some(limits)).expect("a device with small limits");
    assert_eq!(ctx.device.limits().max_buffer_size, MIB);
    assert_eq!(ctx.device.limits().max_storage_buffer_binding_size, MIB);
    let mut small = GpuBackend::from_context(ctx).unwrap();

    let err = small.zeros(1000, 1000).expect_err("4 MB on a 1 MiB device");
    match &err {
        Error::LimitExceeded {
            limit, max, requested, ..
        } => {
            assert!(
                *limit == "max_storage_buffer_binding_size" || *limit == "max_buffer_size",
                "unexpected limit {limit}"
            );
            assert_eq!(*max, MIB);
            assert_eq!(*requested, 4_000_000);
        }
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
    let message = err.to_string();
    for needle in ["max_", &MIB.to_string(), "4000000"] {
        assert!(message.contains(needle), "`{needle}` missing from: {message}");
    }
    println!("{message}");

    // The refusal left the backend usable: a tensor that fits is fine.
    let t = small.upload(2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(small.read(t).unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
}

/// Destroying the device turns the next read into `DeviceLost`, for good, without a panic;
/// the process can open a new device afterwards.
pub fn destroyed_device_is_device_lost_not_a_panic() {
    let mut gpu = gpu_backend();
    let a = gpu.upload(2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let b = gpu.upload(2, 2, &[1.0, 0.0, 0.0, 1.0]).unwrap();
    let c = gpu.zeros(2, 2).unwrap();
    assert_eq!(gpu.read(a).unwrap(), vec![1.0, 2.0, 3.0, 4.0]);

    gpu.context().device.destroy();

    // Recording may or may not notice yet; if it reports anything, it is the loss.
    match gpu.matmul(&MatmulOp::new(a, b, c)) {
        Ok(()) | Err(Error::DeviceLost { .. }) => {}
        Err(other) => panic!("matmul after destroy gave {other:?}, not DeviceLost"),
    }
    for attempt in 0..2 {
        match gpu.read(c) {
            Err(Error::DeviceLost { reason }) => println!("read {attempt}: device lost: {reason}"),
            other => panic!("read {attempt} after destroy gave {other:?}, not DeviceLost"),
        }
    }
    match gpu.zeros(4, 4) {
        Err(Error::DeviceLost { .. }) => {}
        other => panic!("zeros after destroy gave {other:?}, not DeviceLost"),
    }

    // The process is alive and can start again.
    let mut fresh = gpu_backend();
    let t = fresh.upload(1, 2, &[5.0, 6.0]).unwrap();
    assert_eq!(fresh.read(t).unwrap(), vec![5.0, 6.0]);
}

/// A wgpu validation error raised behind the backend's back (an invalid buffer created on its
/// device) is returned by the next backend operation as `GpuValidation`, once; the backend
/// keeps working afterwards.
pub fn injected_validation_error_is_returned_by_the_next_operation() {
    let mut gpu = gpu_backend();
    let t = gpu.zeros(4, 4).unwrap();
    // MAP_READ may only be combined with COPY_DST (no MAPPABLE_PRIMARY_BUFFERS feature).
    let _invalid = gpu.context().device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("deliberately invalid"),
        size: 64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    match gpu.fill(t, 1.0) {
        Err(Error::GpuValidation { during, message }) => {
            println!("validation error during {during}: {message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected GpuValidation from the next operation, got {other:?}"),
    }
    // Reported once; the device is still valid and the backend computes correctly.
    gpu.fill(t, 2.0).unwrap();
    assert_eq!(gpu.read(t).unwrap(), vec![2.0; 16]);
}

/// Operations on a freed tensor are `UnknownTensor` naming the operation, on both backends.
fn freed_tensor_is_unknown(be: &mut dyn Backend) {
    let a = be.upload(2, 2, &[1.0; 4]).unwrap();
    let b = be.upload(2, 2, &[1.0; 4]).unwrap();
    let c = be.zeros(2, 2).unwrap();
    be.free(a).unwrap();
    be.free(a).unwrap(); // freeing twice is harmless
    let id = a.storage();
    #[track_caller]
    fn expect_unknown<T: std::fmt::Debug>(result: wgtrain::Result<T>, op_name: &str, id: u32) {
        match result {
            Err(Error::UnknownTensor { op, storage }) => assert_eq!((op, storage), (op_name, id)),
            other => panic!("{op_name} on a freed tensor gave {other:?}"),
        }
    }
    expect_unknown(be.read(a), "read", id);
    expect_unknown(be.matmul(&MatmulOp::new(a, b, c)), "matmul", id);
    expect_unknown(be.write(a, &[0.0; 4]), "write", id);
    expect_unknown(be.copy(b, a), "copy", id);
    // Other tensors are unaffected.
    let d = be.upload(2, 2, &[1.0; 4]).unwrap();
    be.matmul(&MatmulOp::new(b, d, c)).unwrap();
    assert_eq!(be.read(c).unwrap(), vec![2.0; 4]);
}

pub fn freed_tensor_is_unknown_tensor(device: TestDevice) {
    freed_tensor_is_unknown(device.backend().as_mut());
}

/// Every operation of `be` refuses `foreign` (a [2, 2] tensor of another backend) with
/// `ForeignTensor` naming the operation and both backends, and leaves `be`'s own storages
/// (whose numbers the foreign tensor's storage may share) as they were.
fn refuses_foreign_tensor(be: &mut dyn Backend, foreign: Tensor) {
    let own = [1.0, 2.0, 3.0, 4.0];
    // Allocated first, so it has the lowest storage number this backend hands out.
    let mine = be.upload(2, 2, &own).unwrap();
    let out = be.zeros(2, 2).unwrap();
    let (col, acc) = (be.zeros(2, 1).unwrap(), be.zeros(1, metric_slot::COUNT).unwrap());
    let idx = be.upload_u32(&[0, 1]).unwrap();
    let adam = Optimizer::adam();
    let slots = [be.zeros(2, 2).unwrap(), be.zeros(2, 2).unwrap()];
    let foreign_slots = [slots[0], foreign];
    let (theirs, ours) = (foreign.backend(), be.id());
    assert_ne!(theirs, ours);
    let expect_foreign = |result: wgtrain::Result<()>, op_name: &str| match result {
        Err(err @ Error::ForeignTensor { .. }) => {
            let Error::ForeignTensor {
                op,
                tensor_backend,
                backend,
            } = &err
            else {
                unreachable!()
            };
            assert_eq!((*op, *tensor_backend, *backend), (op_name, theirs, ours));
            let message = err.to_string();
            for named in [op_name.to_string(), theirs.to_string(), ours.to_string()] {
                assert!(message.contains(&named), "`{named}` missing from: {message}");
            }
        }
        other => panic!("{}: {op_name} with a foreign tensor gave {other:?}", be_name(ours)),
    };
    expect_foreign(be.read(foreign).map(drop), "read");
    expect_foreign(be.write(foreign, &own), "write");
    expect_foreign(be.write_u32(foreign, &[0; 4]), "write_u32");
    expect_foreign(be.fill(foreign, 1.0), "fill");
    expect_foreign(be.copy(foreign, out), "copy");
    expect_foreign(be.copy(mine, foreign), "copy");
    expect_foreign(be.free(foreign), "free");
    expect_foreign(be.matmul(&MatmulOp::new(mine, foreign, out)), "matmul");
    expect_foreign(
        be.matmul(&MatmulOp::new(mine, mine, out).epilogue(
            Some(foreign.view(0, 1, 2).unwrap()),
            Activation::Relu,
            None,
        )),
        "matmul",
    );
    expect_foreign(
        be.activation_backward(&ActivationBackwardOp::new(mine, mine, Activation::Relu).dz(foreign)),
        "activation_backward",
    );
    expect_foreign(be.softmax(&SoftmaxOp::new(foreign, out)), "softmax");
    expect_foreign(
        be.softmax_backward(&SoftmaxBackwardOp::new(mine, foreign, out)),
        "softmax_backward",
    );
    expect_foreign(be.dropout(&DropoutOp::new(mine, foreign, out, 0.5)), "dropout");
    expect_foreign(
        be.dropout_backward(&DropoutBackwardOp::new(mine, mine, foreign, 0.5)),
        "dropout_backward",
    );
    let column = foreign.reshape(4, 1).unwrap().rows_range(0, 2).unwrap();
    expect_foreign(
        be.loss(&LossOp::new(
            Loss::MeanSquaredError,
            col,
            column,
            out.view(0, 2, 1).unwrap(),
        )),
        "loss",
    );
    expect_foreign(
        be.accumulate_metrics(&MetricsOp::new(col, col, column, acc)),
        "accumulate_metrics",
    );
    expect_foreign(
        be.optimizer_step(&OptimizerStepOp::new(&adam, 1, mine, out).slots(&foreign_slots)),
        "optimizer_step",
    );
    expect_foreign(be.gather_rows(&GatherRowsOp::new(foreign, idx, 0, out)), "gather_rows");
    // Nothing of this backend was touched (no foreign storage number was taken for its own).
    assert_eq!(be.read(mine).unwrap(), own.to_vec());
    assert_eq!(be.read(out).unwrap(), vec![0.0; 4]);
}

fn be_name(id: wgtrain::backend::BackendId) -> String {
    id.to_string()
}

pub fn a_tensor_of_another_cpu_backend_is_refused() {
    let mut first = CpuBackend::new();
    let theirs = first.upload(2, 2, &[9.0; 4]).unwrap();
    let mut second = CpuBackend::new();
    // Views keep the identity of the tensor they view.
    let view = theirs.view(1, 1, 2).unwrap();
    assert_eq!((view.backend(), theirs.backend()), (first.id(), first.id()));
    refuses_foreign_tensor(&mut second, theirs);
    refuses_foreign_tensor(&mut second, theirs.reshape(4, 1).unwrap().reshape(2, 2).unwrap());
    // The tensor is still good on its own backend (the refused free did not free it).
    assert_eq!(first.read(theirs).unwrap(), vec![9.0; 4]);
}

pub fn tensors_do_not_cross_between_gpu_and_cpu() {
    let mut gpu = gpu_backend();
    let mut cpu = CpuBackend::new();
    let on_gpu = gpu.upload(2, 2, &[9.0; 4]).unwrap();
    refuses_foreign_tensor(&mut cpu, on_gpu);
    let on_cpu = cpu.upload(2, 2, &[7.0; 4]).unwrap();
    refuses_foreign_tensor(&mut gpu, on_cpu);
    assert_eq!(gpu.read(on_gpu).unwrap(), vec![9.0; 4]);
    assert_eq!(cpu.read(on_cpu).unwrap(), vec![7.0; 4]);
}

/// The messages of a list of mistakes, each made on a fresh set of tensors of `be` (storage
/// numbers, which differ between backends, are replaced by `#`).
fn mistake_messages(be: &mut dyn Backend) -> Vec<String> {
    let a = be.zeros(2, 3).unwrap();
    let b = be.zeros(4, 5).unwrap();
    let out = be.zeros(2, 5).unwrap();
    let sq = be.zeros(2, 2).unwrap();
    let sq2 = be.zeros(2, 2).unwrap();
    let col = be.zeros(2, 1).unwrap();
    let acc = be.zeros(1, 3).unwrap();
    let idx = be.upload_u32(&[0, 1]).unwrap();
    let sgd = Optimizer::sgd();
    let adam = Optimizer::adam();
    let results: Vec<wgtrain::Result<()>> = vec![
        be.zeros(usize::MAX, 2).map(drop),
        be.upload(2, 2, &[1.0; 3]).map(drop),
        be.write(sq, &[1.0; 5]),
        be.copy(a, sq),
        be.copy(sq, sq),
        be.matmul(&MatmulOp::new(a, b, out)),
        be.matmul(&MatmulOp::new(sq, sq2, sq)),
        be.matmul(&MatmulOp::new(sq, sq2, sq).epilogue(None, Activation::Softmax, None)),
        be.activation_backward(&ActivationBackwardOp::new(sq, sq2, Activation::Tanh)),
        be.activation_backward(&ActivationBackwardOp::new(sq, a, Activation::Tanh).dz(sq2)),
        be.activation_backward(&ActivationBackwardOp::bias_grad(sq, out)),
        be.softmax(&SoftmaxOp::new(sq, a)),
        be.softmax_backward(&SoftmaxBackwardOp::new(sq, a, sq2)),
        be.dropout(&DropoutOp::new(sq, sq2, out, 0.5)),
        be.dropout(&DropoutOp::new(sq, sq2, sq2, 0.5)),
        be.dropout_backward(&DropoutBackwardOp::new(sq, sq2, a, 1.0)),
        be.dropout_backward(&DropoutBackwardOp::new(sq, sq2, out.view(0, 2, 2).unwrap(), 1.5)),
        be.loss(&LossOp::new(
            Loss::MeanSquaredError,
            sq,
            col,
            sq2.view(0, 2, 1).unwrap(),
        )),
        be.loss(&LossOp::new(Loss::MeanSquaredError, col, col, acc)),
        be.accumulate_metrics(&MetricsOp::new(col, col, col.view(0, 2, 1).unwrap(), acc)),
        be.optimizer_step(&OptimizerStepOp::new(&sgd, 0, sq, sq2)),
        be.optimizer_step(&OptimizerStepOp::new(&adam, 1, sq, sq2)),
        be.optimizer_step(&OptimizerStepOp::new(&sgd, 1, sq, a)),
        be.optimizer_step(&OptimizerStepOp::new(&sgd.with_learning_rate(-1.0), 1, sq, sq2)),
        be.gather_rows(&GatherRowsOp::new(sq, idx, 1, sq2)),
        be.gather_rows(&GatherRowsOp::new(a, idx, 0, sq2)),
    ];
    let mut messages = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        let mut message = match r {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{}: mistake {i} was accepted", be.name()),
        };
        for t in [a, b, out, sq, sq2, col, acc, idx] {
            message = message.replace(&format!("storage {}", t.storage()), "storage #");
        }
        messages.push(message);
    }
    messages
}

pub fn both_backends_reject_each_mistake_with_the_same_words() {
    let cpu = mistake_messages(&mut CpuBackend::new());
    // Two CPU backends agree with each other (the storage numbers are normalized)…
    assert_eq!(cpu, mistake_messages(&mut CpuBackend::new()));
    for m in &cpu {
        println!("{m}");
    }
    // …and the GPU says exactly the same.
    assert_eq!(mistake_messages(&mut gpu_backend()), cpu);
}

/// Shape mismatches are `Error::Shape` naming the operation, with both shapes in the message.
fn mismatched_shapes_are_shape_errors(be: &mut dyn Backend) {
    #[track_caller]
    fn expect_shape_error(backend: &str, result: wgtrain::Result<()>, op_name: &str, shapes: [&str; 2]) {
        match result {
            Err(err @ Error::Shape { .. }) => {
                let Error::Shape { op, .. } = &err else { unreachable!() };
                assert_eq!(*op, op_name, "{backend}");
                let message = err.to_string();
                for s in shapes {
                    assert!(message.contains(s), "{backend}: `{s}` missing from: {message}");
                }
            }
            other => panic!("{backend}: {op_name} gave {other:?}, not a shape error"),
        }
    }
    let name = be.name();
    let a23 = be.zeros(2, 3).unwrap();
    let b45 = be.zeros(4, 5).unwrap();
    let b35 = be.zeros(3, 5).unwrap();
    let out25 = be.zeros(2, 5).unwrap();
    let out52 = be.zeros(5, 2).unwrap();
    expect_shape_error(
        &name,
        be.matmul(&MatmulOp::new(a23, b45, out25)),
        "matmul",
        ["[2, 3]", "[4, 5]"],
    );
    expect_shape_error(
        &name,
        be.matmul(&MatmulOp::new(a23, b35, out52)),
        "matmul",
        ["[5, 2]", "[2, 5]"],
    );
    // Aᵀ·B with A [2, 3]: op(A) is [3, 2], which does not fit B [3, 5].
    expect_shape_error(
        &name,
        be.matmul(&MatmulOp::new(a23, b35, out25).transposed(true, false)),
        "matmul",
        ["[3, 2]", "[3, 5]"],
    );

    let dy = be.zeros(4, 3).unwrap();
    let z = be.zeros(3, 4).unwrap();
    let dz = be.zeros(4, 3).unwrap();
    expect_shape_error(
        &name,
        be.activation_backward(&ActivationBackwardOp::new(dy, z, Activation::Tanh).dz(dz)),
        "activation_backward",
        ["[3, 4]", "[4, 3]"],
    );

    let pred = be.zeros(4, 3).unwrap();
    let target = be.zeros(4, 2).unwrap();
    let row_loss = be.zeros(4, 1).unwrap();
    expect_shape_error(
        &name,
        be.loss(&LossOp {
            loss: Loss::MeanSquaredError,
            pred,
            target,
            weights: None,
            row_loss,
            grad: None,
        }),
        "loss",
        ["[4, 2]", "[4, 3]"],
    );

    let soft_out = be.zeros(3, 4).unwrap();
    expect_shape_error(
        &name,
        be.softmax(&SoftmaxOp::new(pred, soft_out)),
        "softmax",
        ["[3, 4]", "[4, 3]"],
    );
}

pub fn mismatched_shapes_are_shape_errors_with_both_shapes(device: TestDevice) {
    mismatched_shapes_are_shape_errors(device.backend().as_mut());
}

/// The tensors of a one-layer training step, allocated once.
struct Step {
    x: wgtrain::backend::Tensor,
    w: wgtrain::backend::Tensor,
    b: wgtrain::backend::Tensor,
    z: wgtrain::backend::Tensor,
    y: wgtrain::backend::Tensor,
    target: wgtrain::backend::Tensor,
    row_loss: wgtrain::backend::Tensor,
    dy: wgtrain::backend::Tensor,
    dz: wgtrain::backend::Tensor,
    db: wgtrain::backend::Tensor,
    dw: wgtrain::backend::Tensor,
    slots_w: [wgtrain::backend::Tensor; 2],
    slots_b: [wgtrain::backend::Tensor; 2],
}

impl Step {
    fn new(gpu: &mut GpuBackend) -> Step {
        let mut rng = crate::common::Rng::new(11);
        let (batch, inputs, outputs) = (8, 5, 3);
        Step {
            x: gpu.upload(batch, inputs, &rng.vec(batch * inputs, -1.0, 1.0)).unwrap(),
            w: gpu
                .upload(inputs, outputs, &rng.vec(inputs * outputs, -1.0, 1.0))
                .unwrap(),
            b: gpu.zeros(1, outputs).unwrap(),
            z: gpu.zeros(batch, outputs).unwrap(),
            y: gpu.zeros(batch, outputs).unwrap(),
            target: gpu.upload(batch, outputs, &rng.vec(batch * outputs, 0.0, 1.0)).unwrap(),
            row_loss: gpu.zeros(batch, 1).unwrap(),
            dy: gpu.zeros(batch, outputs).unwrap(),
            dz: gpu.zeros(batch, outputs).unwrap(),
            db: gpu.zeros(1, outputs).unwrap(),
            dw: gpu.zeros(inputs, outputs).unwrap(),
            slots_w: [gpu.zeros(inputs, outputs).unwrap(), gpu.zeros(inputs, outputs).unwrap()],
            slots_b: [gpu.zeros(1, outputs).unwrap(), gpu.zeros(1, outputs).unwrap()],
        }
    }

    /// Forward, loss, backward and Adam on both parameters: six dispatches.
    fn record(&self, gpu: &mut GpuBackend, step: u64) {
        let relu = Activation::Relu;
        gpu.matmul(&MatmulOp::new(self.x, self.w, self.y).epilogue(Some(self.b), relu, Some(self.z)))
            .unwrap();
        gpu.loss(&LossOp {
            loss: Loss::MeanSquaredError,
            pred: self.y,
            target: self.target,
            weights: None,
            row_loss: self.row_loss,
            grad: Some(self.dy),
        })
        .unwrap();
        gpu.activation_backward(&ActivationBackwardOp::new(self.dy, self.z, relu).dz(self.dz).db(self.db))
            .unwrap();
        gpu.matmul(&MatmulOp::new(self.x, self.dz, self.dw).transposed(true, false))
            .unwrap();
        let adam = Optimizer::adam();
        gpu.optimizer_step(&OptimizerStepOp::new(&adam, step, self.w, self.dw).slots(&self.slots_w))
            .unwrap();
        gpu.optimizer_step(&OptimizerStepOp::new(&adam, step, self.b, self.db).slots(&self.slots_b))
            .unwrap();
    }
}

/// After one warm-up step, repeating the step creates no buffer and no bind group, reads
/// nothing back and submits nothing until `flush` (exactly one submit) or `read`.
pub fn steady_state_steps_allocate_nothing_and_flush_submits_once() {
    let mut gpu = gpu_backend();
    let step = Step::new(&mut gpu);
    step.record(&mut gpu, 1);
    gpu.flush().unwrap();
    let first_loss = gpu.read(step.row_loss).unwrap();

    let before = gpu.counters();
    for t in 2..=4 {
        step.record(&mut gpu, t);
    }
    let recorded = gpu.counters().since(&before);
    assert_eq!(recorded.buffer_allocations, 0, "{recorded:?}");
    assert_eq!(recorded.bind_groups, 0, "{recorded:?}");
    assert_eq!(recorded.readbacks, 0, "{recorded:?}");
    assert_eq!(recorded.submits, 0, "work was submitted before flush: {recorded:?}");
    // Per step: matmul, loss, dz, db (a ones-row product, split over rows like any
    // reduction), dW and two optimizer steps.
    assert_eq!(recorded.dispatches, 3 * 7, "{recorded:?}");

    let before_flush = gpu.counters();
    gpu.flush().unwrap();
    let flushed = gpu.counters().since(&before_flush);
    assert_eq!(flushed.submits, 1, "a flush is one submit: {flushed:?}");
    assert_eq!(flushed.readbacks, 0, "{flushed:?}");

    let idle = gpu.counters();
    gpu.flush().unwrap();
    assert_eq!(
        gpu.counters().since(&idle).submits,
        0,
        "a flush with nothing recorded submits nothing"
    );

    let before_read = gpu.counters();
    let loss = gpu.read(step.row_loss).unwrap();
    let read = gpu.counters().since(&before_read);
    assert_eq!(read.readbacks, 1, "{read:?}");
    assert_eq!(read.buffer_allocations, 0, "the read-back buffer is reused: {read:?}");
    assert_eq!(read.bind_groups, 0, "{read:?}");

    // The steps did train: Adam moved the weights, so the loss changed.
    assert_ne!(first_loss, loss, "three Adam steps left the loss unchanged");
    println!("counters after the test: {:?}", gpu.counters());
}

/// The backend validates with the device's own target: every kernel passes it, and a broken
/// module is the same typed error there as with the defaults.
pub fn kernels_validate_against_the_devices_target() {
    use wgtrain::backend::gpu::kernels::{Kernel, ModuleSource};
    use wgtrain::backend::gpu::validate::validate;
    let gpu = gpu_backend();
    let target = gpu.shader_target();
    for &kernel in Kernel::ALL {
        validate(&kernel.spec().module_source(), &target).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut broken = ModuleSource::new("broken");
    broken.push("broken.wgsl", "fn f() {\n    let x = ;\n}\n");
    match validate(&broken, &target) {
        Err(Error::Shader { kernel, line: 2, .. }) => assert_eq!(kernel, "broken"),
        other => panic!("expected a shader error, got {other:?}"),
    }
}
