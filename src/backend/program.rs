//! Generated programs: WGSL compute modules written at run time (the fused executor's kernels,
//! generated from a model), as opposed to the fixed kernel table. A backend that can run them
//! (the GPU) validates each module with naga, builds its pipeline once (through the pipeline
//! cache) and returns a [`ProgramId`]; a run binds uniform blocks and tensors to the program's
//! own bind-group layout and records one dispatch. The CPU backend runs no programs: its
//! [`ProgramLimits`] are `None` and compiling one is an error that says so.
//!
//! Bindings of a program: `uniforms` uniform blocks at bindings 0.. (each at most
//! [`MAX_UNIFORM_BYTES`], with a dynamic offset into the backend's per-submit uniform arena),
//! then one storage buffer per entry of `storages`, in order.

use crate::backend::Tensor;
use crate::backend::gpu::kernels::{Access, ModuleSource};

/// Largest uniform block a program run may bind, bytes.
pub const MAX_UNIFORM_BYTES: usize = 256;

/// What a backend needs to build a program.
#[derive(Clone, Debug)]
pub struct ProgramSpec {
    /// The complete module (prelude and libraries included), with its parts for error positions.
    pub source: ModuleSource,
    /// The compute entry point.
    pub entry_point: String,
    /// Uniform blocks at bindings 0 .. uniforms.
    pub uniforms: u32,
    /// The storage buffers after them, with how the program uses each.
    pub storages: Vec<Access>,
}

/// A built program on one backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProgramId(pub(crate) u32);

/// What a device grants a program (the adapter's own limits: the device is created with them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramLimits {
    /// Most invocations per workgroup (and along x).
    pub invocations_per_workgroup: u32,
    /// Workgroup memory, bytes.
    pub workgroup_storage_bytes: u32,
    /// Storage buffers one program may bind.
    pub storage_buffers: u32,
    /// Largest storage binding, bytes.
    pub storage_binding_bytes: u64,
    /// Whether the device is a CPU implementation (lavapipe), whose loops stop after 65 535
    /// iterations per invocation.
    pub cpu_device: bool,
}

impl ProgramLimits {
    /// What every WebGPU implementation grants without asking: 256 invocations, 16 KiB of
    /// workgroup memory, 8 storage buffers per stage, 128 MiB per binding.
    pub const WEBGPU_DEFAULTS: ProgramLimits = ProgramLimits {
        invocations_per_workgroup: 256,
        workgroup_storage_bytes: 16 * 1024,
        storage_buffers: 8,
        storage_binding_bytes: 128 << 20,
        cpu_device: false,
    };
}

impl ProgramLimits {
    /// What an adapter would grant a program (its own limits, as wgtrain opens its devices),
    /// known without opening a device.
    pub fn of_adapter(a: &crate::backend::gpu::AdapterSummary) -> ProgramLimits {
        ProgramLimits {
            invocations_per_workgroup: a.max_compute_invocations_per_workgroup,
            workgroup_storage_bytes: a.max_compute_workgroup_storage_size,
            storage_buffers: a.max_storage_buffers_per_shader_stage,
            storage_binding_bytes: a.max_storage_buffer_binding_size.min(a.max_buffer_size),
            cpu_device: a.device_type == "Cpu",
        }
    }
}

/// One dispatch of a program.
#[derive(Clone, Copy, Debug)]
pub struct ProgramRun<'a> {
    /// The program.
    pub program: ProgramId,
    /// One byte block per uniform binding (each at most [`MAX_UNIFORM_BYTES`]).
    pub uniforms: &'a [&'a [u8]],
    /// One tensor per storage binding; the whole storage is bound (offsets travel in the
    /// uniforms).
    pub storages: &'a [Tensor],
    /// Workgroups.
    pub groups: (u32, u32, u32),
}
