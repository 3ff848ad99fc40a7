//! Data sets resident on the device for a `fit` or `evaluate`: features, targets and per-row
//! sample weights, split into chunks when larger than one storage binding (each a whole
//! number of batches, so an evaluation batch never straddles two), and the index buffer each
//! epoch's permutation is written to. The tensors belong to an [`OwnedTensors`] guard.

use super::owned::{OwnedTensors, ReleaseQueue};
use crate::backend::{Backend, Tensor};
use crate::{Error, Result};

/// One chunk of a resident data set: rows `row_base .. row_base + rows`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DataChunk {
    pub row_base: usize,
    pub x: Tensor,
    pub y: Tensor,
    pub weights: Option<Tensor>,
}

/// A data set on the device.
pub(crate) struct DeviceData {
    pub rows: usize,
    pub chunks: Vec<DataChunk>,
    /// The epoch's row order (u32 indices), identity until a shuffle is written.
    pub order: Tensor,
    _owned: OwnedTensors,
}

/// A data set on the host, flattened row-major, with its widths.
pub(crate) struct HostData<'a> {
    pub x: &'a [f32],
    pub y: &'a [f32],
    pub weights: Option<&'a [f32]>,
    pub rows: usize,
    pub x_width: usize,
    pub y_width: usize,
}

impl DeviceData {
    /// Uploads `data` in chunks of whole `batch`es that each fit one storage.
    pub fn upload(
        backend: &mut dyn Backend,
        queue: &ReleaseQueue,
        data: &HostData,
        batch: usize,
    ) -> Result<DeviceData> {
        let (rows, xw, yw) = (data.rows, data.x_width, data.y_width);
        let chunk = chunk_rows(backend, rows, xw.max(yw), batch, "the data set")?;
        let mut owned = OwnedTensors::new(queue);
        let mut chunks = Vec::new();
        for row_base in (0..rows).step_by(chunk.max(1)) {
            let n = chunk.min(rows - row_base);
            let x = owned.upload(backend, n, xw, &data.x[row_base * xw..(row_base + n) * xw])?;
            let y = owned.upload(backend, n, yw, &data.y[row_base * yw..(row_base + n) * yw])?;
            let weights = data
                .weights
                .map(|w| owned.upload(backend, n, 1, &w[row_base..row_base + n]))
                .transpose()?;
            chunks.push(DataChunk {
                row_base,
                x,
                y,
                weights,
            });
        }
        let identity: Vec<u32> = (0..rows as u32).collect();
        let order = owned.upload_u32(backend, &identity)?;
        Ok(DeviceData {
            rows,
            chunks,
            order,
            _owned: owned,
        })
    }

    /// The chunk holding rows `first .. first + count` (which never straddle two).
    pub fn chunk_of(&self, first: usize) -> &DataChunk {
        let i = self.chunks.partition_point(|c| c.row_base <= first);
        &self.chunks[i.saturating_sub(1)]
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
