//! The static training plan (DESIGN.md §3): every buffer a step needs at one batch size,
//! allocated once and reused by every step; a short last batch uses the first rows of each.
//! Also the data sets a fit keeps resident on the device.

use super::compiled::Model;
use super::layers::Layer;
use crate::backend::{Backend, Tensor, metric_slot};
use crate::nn::Activation;
use crate::{Error, Result};

/// Buffers of one layer at the plan's batch size B: tensors once allocated, their
/// [rows, cols] shapes while the plan is laid out (one description serves both).
#[derive(Clone, Copy, Debug)]
pub(crate) enum LayerBuffers<T = Tensor> {
    Dense {
        /// Pre-activation [B, units] (absent for a linear layer, whose output is z).
        z: Option<T>,
        /// Output [B, units].
        y: T,
        /// dL/dz [B, units] (absent when dz is dy: linear, or softmax fused with the loss).
        dz: Option<T>,
        /// dL/dx [B, inputs] (absent for the first layer, whose input is data).
        dx: Option<T>,
    },
    Dropout {
        mask: T,
        y: T,
        dx: Option<T>,
    },
}

/// Every buffer of a training step at one batch size.
pub(crate) struct Plan<T = Tensor> {
    pub batch: usize,
    pub layers: Vec<LayerBuffers<T>>,
    pub x: T,
    pub y: T,
    pub weights: T,
    pub row_loss: T,
    pub dpred: T,
    pub acc: T,
    pub val_acc: T,
}

/// A buffer's shape while the plan is laid out.
type Shape = (usize, usize);

impl<T: Copy> Plan<T> {
    /// Every buffer, in allocation order.
    fn buffers(&self) -> Vec<T> {
        let mut all = Vec::new();
        for l in &self.layers {
            match *l {
                LayerBuffers::Dense { z, y, dz, dx } => all.extend([z, Some(y), dz, dx].into_iter().flatten()),
                LayerBuffers::Dropout { mask, y, dx } => all.extend([Some(mask), Some(y), dx].into_iter().flatten()),
            }
        }
        all.extend([
            self.x,
            self.y,
            self.weights,
            self.row_loss,
            self.dpred,
            self.acc,
            self.val_acc,
        ]);
        all
    }

    /// The same plan with every buffer passed through `f`, in allocation order.
    fn try_map<U>(&self, mut f: impl FnMut(T) -> Result<U>) -> Result<Plan<U>> {
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            layers.push(match *l {
                LayerBuffers::Dense { z, y, dz, dx } => {
                    let z = z.map(&mut f).transpose()?;
                    let y = f(y)?;
                    let dz = dz.map(&mut f).transpose()?;
                    LayerBuffers::Dense {
                        z,
                        y,
                        dz,
                        dx: dx.map(&mut f).transpose()?,
                    }
                }
                LayerBuffers::Dropout { mask, y, dx } => {
                    let (mask, y) = (f(mask)?, f(y)?);
                    LayerBuffers::Dropout {
                        mask,
                        y,
                        dx: dx.map(&mut f).transpose()?,
                    }
                }
            });
        }
        Ok(Plan {
            batch: self.batch,
            layers,
            x: f(self.x)?,
            y: f(self.y)?,
            weights: f(self.weights)?,
            row_loss: f(self.row_loss)?,
            dpred: f(self.dpred)?,
            acc: f(self.acc)?,
            val_acc: f(self.val_acc)?,
        })
    }
}

/// True when the output softmax is fused with a cross-entropy loss (computed on logits).
pub(crate) fn fused_softmax(model: &Model) -> bool {
    let last = model.dense.last().map(|d| d.spec.activation);
    last == Some(Activation::Softmax)
        && matches!(
            model.loss,
            crate::nn::Loss::CategoricalCrossentropy { from_logits: false }
                | crate::nn::Loss::SparseCategoricalCrossentropy { from_logits: false }
        )
}

/// Width of the targets: 1 for sparse labels, else the output width.
pub(crate) fn target_width(model: &Model) -> usize {
    if model.loss.sparse_targets() {
        1
    } else {
        model.architecture.output_width()
    }
}

impl Plan {
    /// The shape of every buffer at batch size `batch` (used for both the allocation and the
    /// memory estimate, so the estimate is what is allocated).
    fn layout(model: &Model, batch: usize) -> Plan<Shape> {
        let fused = fused_softmax(model);
        let mut width = model.architecture.input_width;
        let n_layers = model.architecture.layers.len();
        let mut layers = Vec::with_capacity(n_layers);
        for (i, layer) in model.architecture.layers.iter().enumerate() {
            let dx = (i > 0).then_some((batch, width));
            layers.push(match layer {
                Layer::Dense(d) => {
                    let linear = d.activation == Activation::Linear;
                    let fused_here = fused && i + 1 == n_layers;
                    width = d.units;
                    LayerBuffers::Dense {
                        z: (!linear).then_some((batch, d.units)),
                        y: (batch, d.units),
                        dz: (!linear && !fused_here).then_some((batch, d.units)),
                        dx,
                    }
                }
                Layer::Dropout(_) => LayerBuffers::Dropout {
                    mask: (batch, width),
                    y: (batch, width),
                    dx,
                },
            });
        }
        Plan {
            batch,
            layers,
            x: (batch, model.architecture.input_width),
            y: (batch, target_width(model)),
            weights: (batch, 1),
            row_loss: (batch, 1),
            dpred: (batch, model.architecture.output_width()),
            acc: (1, metric_slot::COUNT),
            val_acc: (1, metric_slot::COUNT),
        }
    }

    /// Device bytes of the parameters, gradients, optimizer state, rollback copy and the plan.
    pub fn estimate_bytes(model: &Model, batch: usize) -> u64 {
        let params = model.parameter_count() as u64 * (3 + model.optimizer.slots() as u64);
        let plan: u64 = Self::layout(model, batch)
            .buffers()
            .iter()
            .map(|&(r, c)| (r as u64).saturating_mul(c as u64))
            .sum();
        params.saturating_add(plan).saturating_mul(4)
    }

    /// Allocates every buffer for batch size `batch`, after checking all of them against the
    /// device's limits (so a plan that cannot fit fails before it allocates anything).
    pub fn build(model: &mut Model, batch: usize) -> Result<Plan> {
        let layout = Self::layout(model, batch);
        let (max_bytes, limit) = model.backend.max_tensor_bytes();
        for (r, c) in layout.buffers() {
            let bytes = (r as u64).saturating_mul(c as u64).saturating_mul(4);
            if bytes > max_bytes {
                return Err(Error::LimitExceeded {
                    what: format!("a [{r}, {c}] activation buffer at batch size {batch}"),
                    limit,
                    max: max_bytes,
                    requested: bytes,
                });
            }
        }
        let backend: &mut dyn Backend = model.backend.as_mut();
        let mut made = Vec::new();
        let plan = layout.try_map(|(r, c)| {
            let t = backend.zeros(r, c)?;
            made.push(t);
            Ok(t)
        });
        if plan.is_err() {
            // An allocation failed part way (out of memory): give back what was made.
            for t in made {
                let _ = backend.free(t);
            }
        }
        plan
    }

    /// Releases every buffer.
    pub fn free(&self, backend: &mut dyn Backend) {
        for t in self.buffers() {
            let _ = backend.free(t);
        }
    }
}

/// One chunk of a resident data set: rows `row_base .. row_base + rows`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DataChunk {
    pub row_base: usize,
    pub x: Tensor,
    pub y: Tensor,
    pub weights: Option<Tensor>,
}

/// A data set resident on the device: features, targets and per-row sample weights, split
/// into chunks when it is larger than one storage binding (each a whole number of batches,
/// so an evaluation batch never straddles two), and the index buffer each epoch's
/// permutation is written to.
pub(crate) struct DeviceData {
    pub rows: usize,
    pub chunks: Vec<DataChunk>,
    pub order: Tensor,
}

impl DeviceData {
    #[allow(clippy::too_many_arguments)]
    pub fn upload(
        backend: &mut dyn Backend,
        x: &[f32],
        y: &[f32],
        weights: Option<&[f32]>,
        rows: usize,
        x_width: usize,
        y_width: usize,
        batch: usize,
    ) -> Result<DeviceData> {
        let chunk_rows = chunk_rows(backend, rows, x_width.max(y_width), batch, "the data set")?;
        let mut chunks = Vec::new();
        let result = (|| {
            for row_base in (0..rows).step_by(chunk_rows.max(1)) {
                let n = chunk_rows.min(rows - row_base);
                let xt = backend.upload(n, x_width, &x[row_base * x_width..(row_base + n) * x_width])?;
                let yt = backend.upload(n, y_width, &y[row_base * y_width..(row_base + n) * y_width])?;
                let wt = weights
                    .map(|w| backend.upload(n, 1, &w[row_base..row_base + n]))
                    .transpose()?;
                chunks.push(DataChunk {
                    row_base,
                    x: xt,
                    y: yt,
                    weights: wt,
                });
            }
            let identity: Vec<u32> = (0..rows as u32).collect();
            backend.upload_u32(&identity)
        })();
        match result {
            Ok(order) => Ok(DeviceData { rows, chunks, order }),
            Err(e) => {
                for c in &chunks {
                    for t in [Some(c.x), Some(c.y), c.weights].into_iter().flatten() {
                        let _ = backend.free(t);
                    }
                }
                Err(e)
            }
        }
    }

    /// The chunk holding rows `first .. first + count` (which never straddle two).
    pub fn chunk_of(&self, first: usize) -> &DataChunk {
        let i = self.chunks.partition_point(|c| c.row_base <= first);
        &self.chunks[i.saturating_sub(1)]
    }

    pub fn free(&self, backend: &mut dyn Backend) {
        for c in &self.chunks {
            for t in [Some(c.x), Some(c.y), c.weights].into_iter().flatten() {
                let _ = backend.free(t);
            }
        }
        let _ = backend.free(self.order);
    }
}

/// Rows per chunk so that a [rows, width] f32 tensor fits one storage: all of them when they
/// fit, else the most whole batches that do; an error naming the limit when not even one
/// batch fits.
pub(crate) fn chunk_rows(backend: &dyn Backend, rows: usize, width: usize, batch: usize, what: &str) -> Result<usize> {
    let (max_bytes, limit) = backend.max_tensor_bytes();
    let row_bytes = (width.max(1) * 4) as u64;
    let fit = (max_bytes / row_bytes).min(usize::MAX as u64) as usize;
    if fit >= rows {
        return Ok(rows.max(1));
    }
    let whole = fit / batch * batch;
    if whole == 0 {
        return Err(Error::LimitExceeded {
            what: format!("one batch of {what} ({batch} rows × {width} values)"),
            limit,
            max: max_bytes,
            requested: batch as u64 * row_bytes,
        });
    }
    Ok(whole)
}
