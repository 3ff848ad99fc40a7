//! [`Backend`]: the methods everything above the seam calls. Each checks its operands once —
//! the tensors belong to this backend and are live, then the operation's own checks
//! (shapes, storages, arguments) — and only then calls the `BackendImpl` method. The trait
//! is implemented for every `BackendImpl` by the blanket impl below, so no backend can skip
//! a check or word one differently.

use super::gpu::matmul_variants::MatmulChoice;
use super::ops::distinct_storages;
use super::program::{MAX_UNIFORM_BYTES, ProgramId, ProgramLimits, ProgramRun, ProgramSpec};
use super::{
    ActivationBackwardOp, BackendId, BackendImpl, BackendKind, Counters, DropoutBackwardOp, DropoutOp, GatherRowsOp,
    LossOp, MatmulOp, MetricsOp, OptimizerStepOp, ScoreOp, SoftmaxBackwardOp, SoftmaxOp, Tensor,
};
use crate::{Error, Result};

/// The future of one of the seam's asynchronous methods: boxed, so that [`Backend`] stays
/// object-safe (a model holds a `Box<dyn Backend>`), and `Send`, so that it may move to another
/// thread on native (wgpu's browser types are `Send` through its
/// `fragile-send-sync-non-atomic-wasm` feature).
pub type BackendFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>>;

/// Every tensor must come from `backend` (a foreign one would name one of its storages) and be
/// live.
fn check_operands<B: BackendImpl + ?Sized>(
    backend: &B,
    op: &'static str,
    tensors: impl IntoIterator<Item = Tensor>,
) -> Result<()> {
    let id = backend.id_impl();
    for t in tensors {
        if t.backend != id {
            return Err(Error::ForeignTensor {
                op,
                tensor_backend: t.backend,
                backend: id,
            });
        }
        if !backend.is_live_impl(t.storage) {
            return Err(Error::UnknownTensor { op, storage: t.storage });
        }
    }
    Ok(())
}

/// `len` values given for `t`.
fn check_len(op: &'static str, t: &Tensor, len: usize) -> Result<()> {
    if t.len() != len {
        return Err(Error::Shape {
            op,
            detail: format!("{len} values given for a tensor of {} elements", t.len()),
        });
    }
    Ok(())
}

/// rows × cols, or a shape error naming `op`.
fn element_count(op: &'static str, rows: usize, cols: usize) -> Result<usize> {
    rows.checked_mul(cols).ok_or(Error::Shape {
        op,
        detail: format!("[{rows}, {cols}] overflows the address space"),
    })
}

/// The operations a multi-layer perceptron needs to train, on one device. Implemented for
/// every `BackendImpl`; each method checks its operands, then runs the implementation.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, MatmulOp};
/// let mut cpu = CpuBackend::new();
/// let a = cpu.upload(2, 2, &[1., 2., 3., 4.]).unwrap();
/// let b = cpu.upload(2, 1, &[1., 1.]).unwrap();
/// let c = cpu.zeros(2, 1).unwrap();
/// cpu.matmul(&MatmulOp::new(a, b, c)).unwrap();
/// assert_eq!(cpu.read(c).unwrap(), vec![3., 7.]);
/// // A tensor of another backend is refused, not mistaken for one of this backend's.
/// let mut other = CpuBackend::new();
/// assert!(matches!(other.read(c), Err(wgtrain::Error::ForeignTensor { .. })));
/// ```
///
/// The unchecked half is out of reach outside the engine, through a `dyn Backend` or not:
///
/// ```compile_fail
/// use wgtrain::backend::{Backend, CpuBackend};
/// let mut cpu = CpuBackend::new();
/// let backend: &mut dyn Backend = &mut cpu;
/// backend.free_impl(0); // no such method on a `dyn Backend`
/// ```
pub trait Backend: Send {
    /// This instance's identity, recorded in every tensor it makes.
    fn id(&self) -> BackendId;

    /// Which implementation this is.
    fn kind(&self) -> BackendKind;

    /// A human-readable name: "cpu (ndarray)" or the adapter's name and API.
    fn name(&self) -> String;

    /// The largest tensor one storage can hold, in bytes, and the device limit that sets it
    /// (unlimited on the CPU). Data sets larger than this are split into chunks.
    fn max_tensor_bytes(&self) -> (u64, &'static str);

    /// Allocates a zero-filled [rows, cols] tensor in a storage of its own.
    fn zeros(&mut self, rows: usize, cols: usize) -> Result<Tensor>;

    /// Allocates a [rows, cols] tensor holding `data` (row-major, rows × cols values).
    fn upload(&mut self, rows: usize, cols: usize, data: &[f32]) -> Result<Tensor>;

    /// Allocates a tensor of `data.len()` u32 values (row indices for `gather_rows`).
    fn upload_u32(&mut self, data: &[u32]) -> Result<Tensor>;

    /// Overwrites the elements of `dst` with `data` (exactly `dst.len()` values).
    fn write(&mut self, dst: Tensor, data: &[f32]) -> Result<()>;

    /// Overwrites the elements of `dst` with the bit patterns of `data` (u32 indices).
    fn write_u32(&mut self, dst: Tensor, data: &[u32]) -> Result<()>;

    /// Reads the elements of `src` back to the host (on the GPU: flushes and waits; in a
    /// browser, which cannot wait, the GPU's is [`Error::BlockingOnWeb`]: await
    /// [`Backend::read_async`]).
    fn read(&mut self, src: Tensor) -> Result<Vec<f32>>;

    /// Reads the elements of `src` back to the host, awaiting the device instead of blocking:
    /// on the GPU the copy is submitted at once and the future completes when its mapping does
    /// (on native it drives `device.poll` until then; in a browser the page's event loop
    /// delivers it). On the CPU the future is ready at once. [`Backend::read`] is this future
    /// driven to completion, with the same values.
    ///
    /// ```
    /// use wgtrain::backend::{Backend, CpuBackend};
    /// let mut cpu = CpuBackend::new();
    /// let t = cpu.upload(1, 2, &[1., 2.]).unwrap();
    /// assert_eq!(pollster::block_on(cpu.read_async(t)).unwrap(), vec![1., 2.]);
    /// ```
    fn read_async(&mut self, src: Tensor) -> BackendFuture<'_, Vec<f32>>;

    /// Releases the storage `t` lives in; every view of it becomes invalid. Freeing a storage
    /// twice does nothing; freeing a tensor of another backend is an error.
    fn free(&mut self, t: Tensor) -> Result<()>;

    /// Sets every element of `dst` to `value`.
    fn fill(&mut self, dst: Tensor, value: f32) -> Result<()>;

    /// Copies `src` into `dst` (same number of elements, different storages).
    fn copy(&mut self, src: Tensor, dst: Tensor) -> Result<()>;

    /// out = act(op(A)·op(B) + bias), keeping the pre-activation in z when asked.
    fn matmul(&mut self, op: &MatmulOp) -> Result<()>;

    /// dz = dy ⊙ act′(z) and db = Σ_rows dz (see [`ActivationBackwardOp`]).
    fn activation_backward(&mut self, op: &ActivationBackwardOp) -> Result<()>;

    /// Row-wise softmax (see [`SoftmaxOp`]).
    fn softmax(&mut self, op: &SoftmaxOp) -> Result<()>;

    /// Gradient through a row softmax (see [`SoftmaxBackwardOp`]).
    fn softmax_backward(&mut self, op: &SoftmaxBackwardOp) -> Result<()>;

    /// Inverted dropout at training time (see [`DropoutOp`]).
    fn dropout(&mut self, op: &DropoutOp) -> Result<()>;

    /// Gradient of dropout with the stored mask (see [`DropoutBackwardOp`]).
    fn dropout_backward(&mut self, op: &DropoutBackwardOp) -> Result<()>;

    /// Per-row losses and the gradient of the batch-mean loss (see [`LossOp`]).
    fn loss(&mut self, op: &LossOp) -> Result<()>;

    /// Adds a batch's loss sum, sample count, correct predictions and error sums to an
    /// accumulator that stays on the device until read once per epoch (see [`MetricsOp`]).
    fn accumulate_metrics(&mut self, op: &MetricsOp) -> Result<()>;

    /// The loss head's step: loss, gradient (through the output activation when asked) and
    /// metrics of one batch (see [`ScoreOp`]).
    fn score(&mut self, op: &ScoreOp) -> Result<()>;

    /// One optimizer step over a flat parameter vector, in one dispatch (see
    /// [`OptimizerStepOp`]).
    fn optimizer_step(&mut self, op: &OptimizerStepOp) -> Result<()>;

    /// Gathers rows by index: a shuffled mini-batch from a data set resident on the device
    /// (see [`GatherRowsOp`]).
    fn gather_rows(&mut self, op: &GatherRowsOp) -> Result<()>;

    /// Submits the recorded work (a no-op on the CPU).
    fn flush(&mut self) -> Result<()>;

    /// Submits the recorded work and waits until the device has finished it (for timing). In a
    /// browser, which cannot be waited for synchronously, it submits only.
    fn synchronize(&mut self) -> Result<()>;

    /// Work counters since the backend was created.
    fn counters(&self) -> Counters;

    /// The matrix-product variant used for each shape class this backend has run, and how it
    /// was chosen (empty on the CPU backend, which has one product).
    fn matmul_choices(&self) -> Vec<MatmulChoice>;

    /// What a generated program may use on this device; `None` where the backend runs no
    /// generated programs (the CPU backend).
    fn program_limits(&self) -> Option<ProgramLimits>;

    /// Validates (naga, against this device) and builds a generated program; the same source
    /// twice gives the same program.
    fn compile_program(&mut self, spec: &ProgramSpec) -> Result<ProgramId>;

    /// Records one dispatch of a program: every tensor must be this backend's and live, each
    /// bound once, and every uniform block at most [`MAX_UNIFORM_BYTES`].
    fn run_program(&mut self, run: &ProgramRun) -> Result<()>;
}

// The methods live in this one impl, not as the trait's defaults: a `dyn Backend` then offers
// only the checked methods (the implementation half is no supertrait to reach through it), and
// no backend can override a check.
impl<B: BackendImpl + ?Sized> Backend for B {
    fn id(&self) -> BackendId {
        self.id_impl()
    }

    fn kind(&self) -> BackendKind {
        self.id_impl().kind()
    }

    fn name(&self) -> String {
        self.name_impl()
    }

    fn max_tensor_bytes(&self) -> (u64, &'static str) {
        self.max_tensor_bytes_impl()
    }

    fn zeros(&mut self, rows: usize, cols: usize) -> Result<Tensor> {
        let len = element_count("zeros", rows, cols)?;
        self.zeros_impl(rows, cols, len)
    }

    fn upload(&mut self, rows: usize, cols: usize, data: &[f32]) -> Result<Tensor> {
        let len = element_count("upload", rows, cols)?;
        if len != data.len() {
            return Err(Error::Shape {
                op: "upload",
                detail: format!("{} values given for a tensor of {len} elements", data.len()),
            });
        }
        let t = self.zeros_impl(rows, cols, len)?;
        match self.write_impl(t, data) {
            Ok(()) => Ok(t),
            Err(e) => {
                self.free_impl(t.storage);
                Err(e)
            }
        }
    }

    fn upload_u32(&mut self, data: &[u32]) -> Result<Tensor> {
        self.upload(1, data.len(), bytemuck::cast_slice(data))
    }

    fn write(&mut self, dst: Tensor, data: &[f32]) -> Result<()> {
        check_operands(self, "write", [dst])?;
        check_len("write", &dst, data.len())?;
        self.write_impl(dst, data)
    }

    fn write_u32(&mut self, dst: Tensor, data: &[u32]) -> Result<()> {
        check_operands(self, "write_u32", [dst])?;
        check_len("write_u32", &dst, data.len())?;
        self.write_impl(dst, bytemuck::cast_slice(data))
    }

    fn read(&mut self, src: Tensor) -> Result<Vec<f32>> {
        check_operands(self, "read", [src])?;
        self.read_impl(src)
    }

    fn read_async(&mut self, src: Tensor) -> BackendFuture<'_, Vec<f32>> {
        match check_operands(self, "read", [src]) {
            Ok(()) => self.read_async_impl(src),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn free(&mut self, t: Tensor) -> Result<()> {
        if t.backend != self.id_impl() {
            return Err(Error::ForeignTensor {
                op: "free",
                tensor_backend: t.backend,
                backend: self.id_impl(),
            });
        }
        self.free_impl(t.storage);
        Ok(())
    }

    fn fill(&mut self, dst: Tensor, value: f32) -> Result<()> {
        check_operands(self, "fill", [dst])?;
        self.fill_impl(dst, value)
    }

    fn copy(&mut self, src: Tensor, dst: Tensor) -> Result<()> {
        check_operands(self, "copy", [src, dst])?;
        check_len("copy", &dst, src.len())?;
        distinct_storages("copy", &[Some(src)], &[Some(dst)])?;
        self.copy_impl(src, dst)
    }

    fn matmul(&mut self, op: &MatmulOp) -> Result<()> {
        check_operands(self, MatmulOp::NAME, op.tensors())?;
        let dims = op.check()?;
        self.matmul_impl(op, dims)
    }

    fn activation_backward(&mut self, op: &ActivationBackwardOp) -> Result<()> {
        check_operands(self, ActivationBackwardOp::NAME, op.tensors())?;
        op.check()?;
        if op.dz.is_none() && op.db.is_none() {
            return Ok(());
        }
        self.activation_backward_impl(op)
    }

    fn softmax(&mut self, op: &SoftmaxOp) -> Result<()> {
        check_operands(self, SoftmaxOp::NAME, op.tensors())?;
        op.check()?;
        self.softmax_impl(op)
    }

    fn softmax_backward(&mut self, op: &SoftmaxBackwardOp) -> Result<()> {
        check_operands(self, SoftmaxBackwardOp::NAME, op.tensors())?;
        op.check()?;
        self.softmax_backward_impl(op)
    }

    fn dropout(&mut self, op: &DropoutOp) -> Result<()> {
        check_operands(self, DropoutOp::NAME, op.tensors())?;
        op.check()?;
        self.dropout_impl(op)
    }

    fn dropout_backward(&mut self, op: &DropoutBackwardOp) -> Result<()> {
        check_operands(self, DropoutBackwardOp::NAME, op.tensors())?;
        op.check()?;
        self.dropout_backward_impl(op)
    }

    fn loss(&mut self, op: &LossOp) -> Result<()> {
        check_operands(self, LossOp::NAME, op.tensors())?;
        op.check()?;
        self.loss_impl(op)
    }

    fn accumulate_metrics(&mut self, op: &MetricsOp) -> Result<()> {
        check_operands(self, MetricsOp::NAME, op.tensors())?;
        op.check()?;
        self.accumulate_metrics_impl(op)
    }

    fn score(&mut self, op: &ScoreOp) -> Result<()> {
        check_operands(self, ScoreOp::NAME, op.tensors())?;
        op.check()?;
        self.score_impl(op)
    }

    fn optimizer_step(&mut self, op: &OptimizerStepOp) -> Result<()> {
        check_operands(self, OptimizerStepOp::NAME, op.tensors())?;
        op.check()?;
        self.optimizer_step_impl(op)
    }

    fn gather_rows(&mut self, op: &GatherRowsOp) -> Result<()> {
        check_operands(self, GatherRowsOp::NAME, op.tensors())?;
        op.check()?;
        self.gather_rows_impl(op)
    }

    fn flush(&mut self) -> Result<()> {
        self.flush_impl()
    }

    fn synchronize(&mut self) -> Result<()> {
        self.synchronize_impl()
    }

    fn counters(&self) -> Counters {
        self.counters_impl()
    }

    fn matmul_choices(&self) -> Vec<MatmulChoice> {
        self.matmul_choices_impl()
    }

    fn program_limits(&self) -> Option<ProgramLimits> {
        self.program_limits_impl()
    }

    fn compile_program(&mut self, spec: &ProgramSpec) -> Result<ProgramId> {
        self.compile_program_impl(spec)
    }

    fn run_program(&mut self, run: &ProgramRun) -> Result<()> {
        const OP: &str = "run_program";
        check_operands(self, OP, run.storages.iter().copied())?;
        let all: Vec<Option<Tensor>> = run.storages.iter().copied().map(Some).collect();
        distinct_storages(OP, &[], &all)?;
        if let Some(u) = run.uniforms.iter().find(|u| u.len() > MAX_UNIFORM_BYTES) {
            return Err(Error::InvalidArgument {
                what: "program uniform",
                detail: format!("{} bytes given, at most {MAX_UNIFORM_BYTES}", u.len()),
            });
        }
        self.run_program_impl(run)
    }
}
