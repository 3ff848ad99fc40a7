//! The Backend seam: one trait, implemented by [`CpuBackend`] (ndarray, the reference) and
//! [`GpuBackend`] (WGSL compute shaders through wgpu). Everything above it — layers, models,
//! the training loop — is written once against this trait.
//!
//! Conventions (the Keras layout): x is [batch, in], W is [in, out], y = act(x·W + b).
//! Gradients carry a `d` prefix (dx, dw, db). Operations write into tensors the caller
//! allocated, so a training plan allocates everything once and a step allocates nothing.
//! On the GPU, operations are recorded and submitted in batches: `flush` submits, `read`
//! flushes and waits.

pub mod cpu;
mod cpu_loops;
pub mod gpu;
pub mod ops;
pub mod tensor;

pub use cpu::CpuBackend;
pub use gpu::GpuBackend;
pub use ops::{LossOp, MatmulOp, MetricsOp, metric_slot};
pub use tensor::{StorageId, Tensor};

use crate::Result;
use crate::nn::{Activation, Optimizer};

/// Which implementation a backend is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The ndarray CPU backend.
    Cpu,
    /// The wgpu backend.
    Gpu,
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

/// The operations a multi-layer perceptron needs to train, on one device.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, MatmulOp};
/// let mut cpu = CpuBackend::new();
/// let a = cpu.upload(2, 2, &[1., 2., 3., 4.]).unwrap();
/// let b = cpu.upload(2, 1, &[1., 1.]).unwrap();
/// let c = cpu.zeros(2, 1).unwrap();
/// cpu.matmul(&MatmulOp::new(a, b, c)).unwrap();
/// assert_eq!(cpu.read(c).unwrap(), vec![3., 7.]);
/// ```
pub trait Backend: Send {
    /// Which implementation this is.
    fn kind(&self) -> BackendKind;

    /// A human-readable name: "cpu (ndarray)" or the adapter's name and API.
    fn name(&self) -> String;

    /// The largest tensor one storage can hold, in bytes, and the device limit that sets it
    /// (unlimited on the CPU). Data sets larger than this are split into chunks.
    fn max_tensor_bytes(&self) -> (u64, &'static str) {
        (u64::MAX, "address space")
    }

    /// Allocates a zero-filled [rows, cols] tensor in a storage of its own.
    fn zeros(&mut self, rows: usize, cols: usize) -> Result<Tensor>;

    /// Allocates a [rows, cols] tensor holding `data` (row-major, rows × cols values).
    fn upload(&mut self, rows: usize, cols: usize, data: &[f32]) -> Result<Tensor> {
        let t = self.zeros(rows, cols)?;
        self.write(t, data)?;
        Ok(t)
    }

    /// Allocates a tensor of `data.len()` u32 values (row indices for `gather_rows`).
    fn upload_u32(&mut self, data: &[u32]) -> Result<Tensor> {
        let t = self.zeros(1, data.len())?;
        self.write_u32(t, data)?;
        Ok(t)
    }

    /// Overwrites the elements of `dst` with `data` (exactly `dst.len()` values).
    fn write(&mut self, dst: Tensor, data: &[f32]) -> Result<()>;

    /// Overwrites the elements of `dst` with the bit patterns of `data` (u32 indices).
    fn write_u32(&mut self, dst: Tensor, data: &[u32]) -> Result<()>;

    /// Reads the elements of `src` back to the host (on the GPU: flushes and waits).
    fn read(&mut self, src: Tensor) -> Result<Vec<f32>>;

    /// Releases the storage `t` lives in; every view of it becomes invalid.
    fn free(&mut self, t: Tensor);

    /// Sets every element of `dst` to `value`.
    fn fill(&mut self, dst: Tensor, value: f32) -> Result<()>;

    /// Copies `src` into `dst` (same number of elements, different storages).
    fn copy(&mut self, src: Tensor, dst: Tensor) -> Result<()>;

    /// out = act(op(A)·op(B) + bias), keeping the pre-activation in z when asked.
    fn matmul(&mut self, op: &MatmulOp) -> Result<()>;

    /// dz = dy ⊙ act′(z) (skipped when `dz` is None, allowed only for linear, where dz = dy),
    /// and db = Σ_rows dz when `db` is given. dy, z: [B, N]; db: [N].
    fn activation_backward(
        &mut self,
        dy: Tensor,
        z: Tensor,
        activation: Activation,
        dz: Option<Tensor>,
        db: Option<Tensor>,
    ) -> Result<()>;

    /// Row-wise softmax, numerically stable: out[i, j] = e^(z_ij − max_i) / Σ_k e^(z_ik − max_i).
    fn softmax(&mut self, z: Tensor, out: Tensor) -> Result<()>;

    /// Gradient through a row softmax: dz = y ⊙ (dy − Σ_j dy_j·y_j). y, dy, dz: [B, N].
    fn softmax_backward(&mut self, y: Tensor, dy: Tensor, dz: Tensor) -> Result<()>;

    /// Inverted dropout at training time: draws the keep-mask of (seed, step) into `mask`
    /// (1 kept, 0 dropped; see [`crate::nn::dropout`]) and writes out = x·mask / (1 − rate).
    fn dropout(&mut self, x: Tensor, mask: Tensor, out: Tensor, rate: f32, seed: u32, step: u32) -> Result<()>;

    /// Gradient of dropout with the stored mask: dx = dy·mask / (1 − rate).
    fn dropout_backward(&mut self, dy: Tensor, mask: Tensor, dx: Tensor, rate: f32) -> Result<()>;

    /// Per-row losses and the gradient of the batch-mean loss (see [`crate::nn::loss`]).
    fn loss(&mut self, op: &LossOp) -> Result<()>;

    /// Adds a batch's loss sum, sample count, correct predictions and error sums to an
    /// accumulator that stays on the device until read once per epoch.
    fn accumulate_metrics(&mut self, op: &MetricsOp) -> Result<()>;

    /// Applies optimizer step `step` (from 1) to `param` with `grad` and the optimizer's state
    /// `slots` (`optimizer.slots()` tensors of the parameters' size), in one dispatch.
    fn optimizer_step(
        &mut self,
        optimizer: &Optimizer,
        step: u64,
        param: Tensor,
        grad: Tensor,
        slots: &[Tensor],
    ) -> Result<()>;

    /// out[i, :] = src[indices[first + i], :] for every row i of out (a shuffled mini-batch
    /// from a data set resident on the device). An index past the end of src gives a zero row.
    fn gather_rows(&mut self, src: Tensor, indices: Tensor, first: usize, out: Tensor) -> Result<()> {
        self.gather_rows_chunk(src, 0, indices, first, out, true)
    }

    /// The gather over one chunk of a data set split across storages: `src` holds rows
    /// `row_base .. row_base + src.rows()` of the whole set; out rows whose index falls in the
    /// chunk are copied, the others are zeroed when `zero_outside`, else left as they are (so
    /// one gather per chunk assembles a batch from a set larger than one GPU binding).
    fn gather_rows_chunk(
        &mut self,
        src: Tensor,
        row_base: usize,
        indices: Tensor,
        first: usize,
        out: Tensor,
        zero_outside: bool,
    ) -> Result<()>;

    /// Submits the recorded work (a no-op on the CPU).
    fn flush(&mut self) -> Result<()>;

    /// Submits the recorded work and waits until the device has finished it (for timing).
    fn synchronize(&mut self) -> Result<()>;

    /// Work counters since the backend was created.
    fn counters(&self) -> Counters;
}

/// Checks the operands of an optimizer step (shared by both backends).
pub(crate) fn check_optimizer_step(
    optimizer: &Optimizer,
    step: u64,
    param: &Tensor,
    grad: &Tensor,
    slots: &[Tensor],
) -> Result<()> {
    optimizer.validate()?;
    if step == 0 {
        return Err(crate::Error::InvalidArgument {
            what: "optimizer step",
            detail: "steps count from 1".into(),
        });
    }
    if slots.len() != optimizer.slots() {
        return Err(crate::Error::InvalidArgument {
            what: "optimizer state",
            detail: format!(
                "this optimizer keeps {} state slots, {} were given",
                optimizer.slots(),
                slots.len()
            ),
        });
    }
    for (name, t) in std::iter::once(("grad", grad)).chain(slots.iter().map(|s| ("state slot", s))) {
        if t.len() != param.len() {
            return Err(crate::Error::Shape {
                op: "optimizer_step",
                detail: format!("{name} has {} elements, the parameters {}", t.len(), param.len()),
            });
        }
    }
    let mut outputs = vec![*param];
    outputs.extend_from_slice(slots);
    ops::distinct_storages("optimizer_step", &[*grad], &outputs)
}

/// Checks the operands of softmax_backward and dropout: three same-shape tensors, the last
/// written (and the second too when `b_written`, as dropout's mask is in the forward pass).
pub(crate) fn check_same_shape3(op: &'static str, a: &Tensor, b: &Tensor, out: &Tensor, b_written: bool) -> Result<()> {
    ops::expect_shape(op, "second operand", b, a.rows, a.cols)?;
    ops::expect_shape(op, "output", out, a.rows, a.cols)?;
    if b_written {
        ops::distinct_storages(op, &[*a], &[*b, *out])
    } else {
        ops::distinct_storages(op, &[*a, *b], &[*out])
    }
}

/// Checks a dropout rate.
pub(crate) fn check_rate(rate: f32) -> Result<()> {
    if !(0.0..1.0).contains(&rate) {
        return Err(crate::Error::InvalidArgument {
            what: "dropout rate",
            detail: format!("must be in [0, 1), got {rate}"),
        });
    }
    Ok(())
}

/// Checks the operands of a row gather (shared by both backends).
pub(crate) fn check_gather(src: &Tensor, indices: &Tensor, first: usize, out: &Tensor) -> Result<()> {
    if out.cols != src.cols {
        return Err(crate::Error::Shape {
            op: "gather_rows",
            detail: format!("out has {} columns, src {}", out.cols, src.cols),
        });
    }
    if first + out.rows > indices.len() {
        return Err(crate::Error::Shape {
            op: "gather_rows",
            detail: format!(
                "indices {first}..{} asked for but only {} indices exist",
                first + out.rows,
                indices.len()
            ),
        });
    }
    ops::distinct_storages("gather_rows", &[*src, *indices], &[*out])
}
