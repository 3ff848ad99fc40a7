//! The device half of the seam: what a backend implements. Every method may assume that its
//! operands were checked by [`Backend`](super::Backend) (they belong to this backend, are
//! live, fit together and respect the storage rules), so an implementation holds no checks
//! but its device's own limits. Callers use [`Backend`](super::Backend), never these methods.

use super::BackendFuture;
use super::program::{ProgramId, ProgramLimits, ProgramRun, ProgramSpec};
use super::{
    ActivationBackwardOp, BackendId, Counters, DropoutBackwardOp, DropoutOp, GatherRowsOp, LossOp, MatmulDims,
    MatmulOp, MetricsOp, OptimizerStepOp, ScoreOp, SoftmaxBackwardOp, SoftmaxOp, StorageId, Tensor,
};
use crate::{Error, Result};

/// The error of a backend that runs no generated programs.
fn no_programs(backend: String) -> Error {
    Error::InvalidArgument {
        what: "generated program",
        detail: format!("the {backend} backend runs no generated programs (only the GPU backend does)"),
    }
}

/// A backend's implementation of the operations, behind the checks of
/// [`Backend`](super::Backend) (implemented for every `BackendImpl`). Each method is the
/// `Backend` method of the same name without `_impl`; see there for what it computes.
pub trait BackendImpl: Send {
    /// This instance's identity, fixed at creation ([`BackendId`]).
    fn id_impl(&self) -> BackendId;

    /// A human-readable name.
    fn name_impl(&self) -> String;

    /// The largest tensor one storage can hold, in bytes, and the limit that sets it.
    fn max_tensor_bytes_impl(&self) -> (u64, &'static str) {
        (u64::MAX, "address space")
    }

    /// Whether `storage` exists and was not freed.
    fn is_live_impl(&self, storage: StorageId) -> bool;

    /// Allocates a zero-filled [rows, cols] tensor of `len` = rows × cols elements.
    fn zeros_impl(&mut self, rows: usize, cols: usize, len: usize) -> Result<Tensor>;

    /// Overwrites `dst` with `data` (`dst.len()` values; u32 data comes as its bit patterns).
    fn write_impl(&mut self, dst: Tensor, data: &[f32]) -> Result<()>;

    /// Reads `src` back.
    fn read_impl(&mut self, src: Tensor) -> Result<Vec<f32>>;

    /// Reads `src` back, awaiting the device; this default (a backend that never waits, the
    /// CPU) is ready at once with `read_impl`'s values.
    fn read_async_impl(&mut self, src: Tensor) -> BackendFuture<'_, Vec<f32>> {
        Box::pin(std::future::ready(self.read_impl(src)))
    }

    /// Releases `storage` (already freed: nothing to do).
    fn free_impl(&mut self, storage: StorageId);

    /// Sets every element of `dst` to `value`.
    fn fill_impl(&mut self, dst: Tensor, value: f32) -> Result<()>;

    /// Copies `src` into `dst` (same length, different storages).
    fn copy_impl(&mut self, src: Tensor, dst: Tensor) -> Result<()>;

    /// The product, with its dimensions as checked.
    fn matmul_impl(&mut self, op: &MatmulOp, dims: MatmulDims) -> Result<()>;

    /// The activation derivative and bias gradient (at least one output is present).
    fn activation_backward_impl(&mut self, op: &ActivationBackwardOp) -> Result<()>;

    /// Row softmax.
    fn softmax_impl(&mut self, op: &SoftmaxOp) -> Result<()>;

    /// Gradient through a row softmax.
    fn softmax_backward_impl(&mut self, op: &SoftmaxBackwardOp) -> Result<()>;

    /// Inverted dropout, drawing the mask.
    fn dropout_impl(&mut self, op: &DropoutOp) -> Result<()>;

    /// Gradient of dropout with the stored mask.
    fn dropout_backward_impl(&mut self, op: &DropoutBackwardOp) -> Result<()>;

    /// Per-row losses and their gradient.
    fn loss_impl(&mut self, op: &LossOp) -> Result<()>;

    /// Adds one batch to the metric accumulator.
    fn accumulate_metrics_impl(&mut self, op: &MetricsOp) -> Result<()>;

    /// [`ScoreOp`], checked.
    fn score_impl(&mut self, op: &ScoreOp) -> Result<()>;

    /// One optimizer step (the slots match the optimizer's layout).
    fn optimizer_step_impl(&mut self, op: &OptimizerStepOp) -> Result<()>;

    /// The row gather.
    fn gather_rows_impl(&mut self, op: &GatherRowsOp) -> Result<()>;

    /// Submits the recorded work.
    fn flush_impl(&mut self) -> Result<()>;

    /// Submits and waits.
    fn synchronize_impl(&mut self) -> Result<()>;

    /// Work counters since creation.
    fn counters_impl(&self) -> Counters;

    /// The matmul variant per shape class used so far (none where there is one product).
    fn matmul_choices_impl(&self) -> Vec<crate::backend::gpu::matmul_variants::MatmulChoice> {
        Vec::new()
    }

    /// What a generated program may use on this device; `None` where the backend runs no
    /// generated programs (the CPU).
    fn program_limits_impl(&self) -> Option<ProgramLimits> {
        None
    }

    /// Validates and builds a generated program (built once per distinct source).
    fn compile_program_impl(&mut self, _spec: &ProgramSpec) -> Result<ProgramId> {
        Err(no_programs(self.name_impl()))
    }

    /// Records one dispatch of a built program (operands checked by the seam).
    fn run_program_impl(&mut self, _run: &ProgramRun) -> Result<()> {
        Err(no_programs(self.name_impl()))
    }
}
