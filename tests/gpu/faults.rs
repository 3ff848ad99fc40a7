//! GPU faults come back as typed errors, never panics: a tensor over a small device's limits,
//! a destroyed device (`DeviceLost`, for good), a validation error raised behind the backend.

use wgtrain::Error;
use wgtrain::backend::gpu::{AdapterChoice, GpuContext};
use wgtrain::backend::{Backend, GpuBackend, MatmulOp};

use crate::common::harness::gpu_backend;

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
