//! Device buffers owned by a guard. A training plan, a resident data set and a prediction's
//! staging tensors are each an [`OwnedTensors`]: when the guard drops (normally or on any error
//! path) its tensors go to the model's [`ReleaseQueue`], and the model frees them on the
//! backend at its next call. So no error path frees buffers by hand, and a guard needs no
//! borrow of the backend (which the work it guards keeps using).

use std::sync::{Arc, Mutex, PoisonError};

use crate::Result;
use crate::backend::{Backend, Tensor};

/// Tensors whose guards have dropped, waiting to be freed on the backend.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReleaseQueue(Arc<Mutex<Vec<Tensor>>>);

impl ReleaseQueue {
    /// Frees every queued tensor.
    pub fn drain(&self, backend: &mut dyn Backend) {
        let queued = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        for t in queued {
            // Only tensors this model's backend made are queued; a tensor already freed is
            // fine to free again, so nothing here can fail in a way worth reporting.
            let _ = backend.free(t);
        }
    }

    fn push(&self, tensors: &mut Vec<Tensor>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).append(tensors);
    }
}

/// Tensors allocated together and released together when the guard drops.
#[derive(Debug)]
pub(crate) struct OwnedTensors {
    tensors: Vec<Tensor>,
    queue: ReleaseQueue,
}

impl OwnedTensors {
    /// An empty set whose tensors go to `queue` on drop.
    pub fn new(queue: &ReleaseQueue) -> Self {
        OwnedTensors {
            tensors: Vec::new(),
            queue: queue.clone(),
        }
    }

    /// Allocates a zero-filled [rows, cols] tensor owned by this set.
    pub fn zeros(&mut self, backend: &mut dyn Backend, rows: usize, cols: usize) -> Result<Tensor> {
        let t = backend.zeros(rows, cols)?;
        self.tensors.push(t);
        Ok(t)
    }

    /// Allocates a [rows, cols] tensor holding `data`, owned by this set.
    pub fn upload(&mut self, backend: &mut dyn Backend, rows: usize, cols: usize, data: &[f32]) -> Result<Tensor> {
        let t = self.zeros(backend, rows, cols)?;
        backend.write(t, data)?;
        Ok(t)
    }

    /// Allocates a tensor of u32 values, owned by this set.
    pub fn upload_u32(&mut self, backend: &mut dyn Backend, data: &[u32]) -> Result<Tensor> {
        let t = self.zeros(backend, 1, data.len())?;
        backend.write_u32(t, data)?;
        Ok(t)
    }
}

impl Drop for OwnedTensors {
    fn drop(&mut self) {
        self.queue.push(&mut self.tensors);
    }
}
