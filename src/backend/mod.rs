//! The Backend seam: one trait, implemented by [`CpuBackend`] (ndarray, the reference) and
//! [`GpuBackend`] (WGSL compute shaders through wgpu). Everything above it — layers, models,
//! the training loop — is written once against this trait.
//!
//! The seam checks once: a backend implements `BackendImpl` (the device half, which may
//! assume checked operands; sealed inside the engine), and [`Backend`] is implemented for
//! every `BackendImpl` by one blanket impl whose methods check the operands (ownership,
//! liveness, shapes, storages, arguments) and then call the implementation. No backend can
//! skip or reword a check, and no caller can reach an unchecked operation.
//!
//! Conventions (the Keras layout): x is [batch, in], W is [in, out], y = act(x·W + b).
//! Gradients carry a `d` prefix (dx, dw, db). Operations write into tensors the caller
//! allocated, so a training plan allocates everything once and a step allocates nothing.
//! On the GPU, operations are recorded and submitted in batches: `flush` submits, `read`
//! flushes and waits. Read-backs also come as futures ([`Backend::read_async`]) that await the
//! device instead of blocking, which is what a browser needs; the blocking forms wrap them.

mod backend_impl;
pub mod cpu;
mod cpu_loops;
pub mod gpu;
pub mod ops;
pub mod program;
mod seam;
pub mod tensor;

// Sealed: the implementation half is nameable only inside the engine, and `Backend` is no
// subtrait of it, so code outside the engine reaches a backend only through checked methods.
pub(crate) use backend_impl::BackendImpl;
pub use cpu::CpuBackend;
pub use gpu::GpuBackend;
pub use ops::{
    ActivationBackwardOp, DropoutBackwardOp, DropoutOp, GatherRowsOp, IndexedRows, LossOp, MatmulDims, MatmulOp,
    MetricSlot, MetricsOp, OptimizerStepOp, ScoreOp, SoftmaxBackwardOp, SoftmaxOp, metric_slot,
};
pub use program::{ProgramId, ProgramLimits, ProgramRun, ProgramSpec};
pub use seam::{Backend, BackendFuture};
pub use tensor::{BackendId, StorageId, Tensor};

/// Which implementation a backend is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// The ndarray CPU backend.
    Cpu,
    /// The wgpu backend.
    Gpu,
}

/// Refuses a synchronous call that would wait for `backend`'s device where waiting is
/// impossible (a GPU backend in a browser, whose answers arrive only through the event loop);
/// everywhere else the call may block.
pub(crate) fn may_block(backend: &dyn Backend, op: &'static str) -> crate::Result<()> {
    if cfg!(target_arch = "wasm32") && backend.kind() == BackendKind::Gpu {
        return Err(crate::Error::BlockingOnWeb { op });
    }
    Ok(())
}

/// Work counters, so tests and benchmarks can prove what a training step costs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Command buffers submitted to the queue.
    pub submits: u64,
    /// Buffers read back to the host.
    pub readbacks: u64,
    /// Buffers allocated (storage, uniform, staging).
    pub buffer_allocations: u64,
    /// Compute dispatches recorded (on the CPU backend: operations run).
    pub dispatches: u64,
    /// Bind groups created.
    pub bind_groups: u64,
}

impl Counters {
    /// The counts accumulated since `earlier`.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            submits: self.submits - earlier.submits,
            readbacks: self.readbacks - earlier.readbacks,
            buffer_allocations: self.buffer_allocations - earlier.buffer_allocations,
            dispatches: self.dispatches - earlier.dispatches,
            bind_groups: self.bind_groups - earlier.bind_groups,
        }
    }
}
