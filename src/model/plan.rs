//! The static training plan (DESIGN.md §3): every buffer a step needs at one batch size,
//! allocated once and reused by every step; a short last batch uses the first rows of each.
//! Also the data sets a fit keeps resident on the device.

use super::compiled::Model;
use super::layers::Layer;
use crate::backend::{Backend, Tensor, metric_slot};
use crate::nn::Activation;
use crate::{Error, Result};

/// Buffers of one layer at the plan's batch size B.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LayerBuffers {
    Dense {
        /// Pre-activation [B, units] (absent for a linear layer, whose output is z).
        z: Option<Tensor>,
        /// Output [B, units].
        y: Tensor,
        /// dL/dz [B, units] (absent when dz is dy: linear, or softmax fused with the loss).
        dz: Option<Tensor>,
        /// dL/dx [B, inputs] (absent for the first layer, whose input is data).
        dx: Option<Tensor>,
    },
    Dropout {
        mask: Tensor,
        y: Tensor,
        dx: Option<Tensor>,
    },
}

/// Every buffer of a training step at one batch size.
pub(crate) struct Plan {
    pub batch: usize,
    pub layers: Vec<LayerBuffers>,
    pub x: Tensor,
    pub y: Tensor,
    pub weights: Tensor,
    pub row_loss: Tensor,
    pub dpred: Tensor,
    pub acc: Tensor,
    pub val_acc: Tensor,
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
    /// Element counts of every plan buffer, in allocation order (used for both allocation and
    /// the memory estimate, so the estimate is what is allocated).
    fn shapes(model: &Model, batch: usize) -> Vec<(usize, usize)> {
        let fused = fused_softmax(model);
        let mut shapes = Vec::new();
        let mut width = model.architecture.input_width;
        let mut first = true;
        let n_layers = model.architecture.layers.len();
        for (i, layer) in model.architecture.layers.iter().enumerate() {
            match layer {
                Layer::Dense(d) => {
                    let linear = d.activation == Activation::Linear;
                    let fused_here = fused && i + 1 == n_layers;
                    if !linear {
                        shapes.push((batch, d.units)); // z
                    }
                    shapes.push((batch, d.units)); // y
                    if !linear && !fused_here {
                        shapes.push((batch, d.units)); // dz
                    }
                    if !first {
                        shapes.push((batch, width)); // dx
                    }
                    width = d.units;
                }
                Layer::Dropout(_) => {
                    shapes.push((batch, width));
                    shapes.push((batch, width));
                    if !first {
                        shapes.push((batch, width));
                    }
                }
            }
            first = false;
        }
        let out = model.architecture.output_width();
        shapes.push((batch, model.architecture.input_width));
        shapes.push((batch, target_width(model)));
        shapes.push((batch, 1));
        shapes.push((batch, 1));
        shapes.push((batch, out));
        shapes.push((1, metric_slot::COUNT));
        shapes.push((1, metric_slot::COUNT));
        shapes
    }

    /// Device bytes of the parameters, gradients, optimizer state, rollback copy and the plan.
    pub fn estimate_bytes(model: &Model, batch: usize) -> u64 {
        let params = model.parameter_count() as u64 * (3 + model.optimizer.slots() as u64);
        let plan: u64 = Self::shapes(model, batch)
            .iter()
            .map(|&(r, c)| (r as u64).saturating_mul(c as u64))
            .sum();
        params.saturating_add(plan).saturating_mul(4)
    }

    /// Allocates every buffer for batch size `batch`, after checking all of them against the
    /// device's limits (so a plan that cannot fit fails before it allocates anything).
    pub fn build(model: &mut Model, batch: usize) -> Result<Plan> {
        let shapes = Self::shapes(model, batch);
        let (max_bytes, limit) = model.backend.max_tensor_bytes();
        for &(r, c) in &shapes {
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
        let fused = fused_softmax(model);
        let layer_specs = model.architecture.layers.clone();
        let mut next = shapes.iter();
        let backend: &mut dyn Backend = model.backend.as_mut();
        let mut alloc = || -> Result<Tensor> {
            let (r, c) = next.next().expect("one shape per buffer");
            backend.zeros(*r, *c)
        };
        let n_layers = layer_specs.len();
        let mut layers = Vec::new();
        let mut first = true;
        for (i, layer) in layer_specs.iter().enumerate() {
            let buffers = match layer {
                Layer::Dense(d) => {
                    let linear = d.activation == Activation::Linear;
                    let fused_here = fused && i + 1 == n_layers;
                    let z = if linear { None } else { Some(alloc()?) };
                    let y = alloc()?;
                    let dz = if !linear && !fused_here { Some(alloc()?) } else { None };
                    let dx = if first { None } else { Some(alloc()?) };
                    LayerBuffers::Dense { z, y, dz, dx }
                }
                Layer::Dropout(_) => {
                    let mask = alloc()?;
                    let y = alloc()?;
                    let dx = if first { None } else { Some(alloc()?) };
                    LayerBuffers::Dropout { mask, y, dx }
                }
            };
            layers.push(buffers);
            first = false;
        }
        let plan = Plan {
            batch,
            layers,
            x: alloc()?,
            y: alloc()?,
            weights: alloc()?,
            row_loss: alloc()?,
            dpred: alloc()?,
            acc: alloc()?,
            val_acc: alloc()?,
        };
        Ok(plan)
    }

    /// Releases every buffer.
    pub fn free(&self, backend: &mut dyn Backend) {
        for l in &self.layers {
            let tensors: Vec<Tensor> = match *l {
                LayerBuffers::Dense { z, y, dz, dx } => [z, Some(y), dz, dx].into_iter().flatten().collect(),
                LayerBuffers::Dropout { mask, y, dx } => [Some(mask), Some(y), dx].into_iter().flatten().collect(),
            };
            for t in tensors {
                backend.free(t);
            }
        }
        for t in [
            self.x,
            self.y,
            self.weights,
            self.row_loss,
            self.dpred,
            self.acc,
            self.val_acc,
        ] {
            backend.free(t);
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
                        backend.free(t);
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
                backend.free(t);
            }
        }
        backend.free(self.order);
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
