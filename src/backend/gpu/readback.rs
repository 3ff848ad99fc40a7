//! Read-backs: the one place the GPU backend waits for the device. A read is split in two:
//! [`GpuBackend::begin_read`] records the copy into the staging buffer, submits it and asks
//! for the mapping (it never waits), and [`GpuBackend::finish_read`] awaits the mapping through
//! a `futures-intrusive` oneshot channel that wgpu's `map_async` callback completes.
//!
//! Who drives the callback: on native, `device.poll` (it waits for the submission, then runs
//! the callback, so the channel is ready when awaited); in a browser `poll` does nothing and
//! the page's event loop runs the callback, so the awaiting task yields to the browser instead
//! of spinning. The blocking [`Backend::read`](crate::backend::Backend::read) is the same future
//! driven by `pollster` (native only: a browser cannot block, so there it is
//! [`Error::BlockingOnWeb`]).

use futures_intrusive::channel::shared::{OneshotReceiver, oneshot_channel};

use super::GpuBackend;
use crate::backend::{BackendFuture, StorageId, Tensor};
use crate::{Error, Result};

/// A read whose copy is submitted and whose mapping was asked for.
pub(super) struct PendingRead {
    staging: wgpu::Buffer,
    bytes: u64,
    mapped: OneshotReceiver<std::result::Result<(), wgpu::BufferAsyncError>>,
}

impl GpuBackend {
    /// The read's first half: copies `bytes` bytes at byte `offset` of storage `id` into the
    /// staging buffer (grown as needed, or replaced when an abandoned read still holds it),
    /// submits everything recorded, and asks for the mapping. `None` for an empty read.
    pub(super) fn begin_read(&mut self, id: StorageId, offset: u64, bytes: u64) -> Result<Option<PendingRead>> {
        if bytes == 0 {
            return Ok(None);
        }
        let need_new = self.staging_busy || self.staging.as_ref().is_none_or(|s| s.size() < bytes);
        if need_new {
            let size = bytes.next_power_of_two().max(256);
            self.staging = Some(self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgtrain read-back"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
            self.staging_busy = false;
            self.counters.buffer_allocations += 1;
        }
        let source = self.buffer(id)?.clone();
        let staging = self.staging.clone().expect("staging exists");
        self.encoder()
            .copy_buffer_to_buffer(&source, offset, &staging, 0, bytes);
        self.flush_inner()?;

        let (sender, mapped) = oneshot_channel();
        self.staging_busy = true;
        staging.slice(0..bytes).map_async(wgpu::MapMode::Read, move |result| {
            sender.send(result).ok();
        });
        Ok(Some(PendingRead { staging, bytes, mapped }))
    }

    /// The read's second half: awaits the mapping (driving `device.poll` on native), copies the
    /// bytes out and unmaps the staging buffer for the next read.
    pub(super) async fn finish_read(&mut self, pending: Option<PendingRead>) -> Result<Vec<u8>> {
        let Some(PendingRead { staging, bytes, mapped }) = pending else {
            return Ok(Vec::new());
        };
        // Natively this waits until the submission is done and runs the map callback; in a
        // browser it returns at once and the callback comes from the event loop.
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::ReadBack(e.to_string()))?;
        let outcome = mapped.receive().await;
        self.check_fault()?;
        match outcome {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::ReadBack(e.to_string())),
            None => return Err(Error::ReadBack("the map callback never ran".into())),
        }
        let data = staging
            .slice(0..bytes)
            .get_mapped_range()
            .map_err(|e| Error::ReadBack(e.to_string()))?
            .to_vec();
        staging.unmap();
        self.staging_busy = false;
        self.counters.readbacks += 1;
        Ok(data)
    }

    /// `src` read back as f32, awaiting the device.
    pub(super) fn read_tensor_async(&mut self, src: Tensor) -> BackendFuture<'_, Vec<f32>> {
        Box::pin(async move {
            let pending = self.begin_read(src.storage, src.offset as u64 * 4, src.len() as u64 * 4)?;
            let bytes = self.finish_read(pending).await?;
            Ok(bytemuck::pod_collect_to_vec(&bytes))
        })
    }

    /// `src` read back as f32, blocking until the device has written it (native only).
    pub(super) fn read_tensor_blocking(&mut self, src: Tensor) -> Result<Vec<f32>> {
        if cfg!(target_arch = "wasm32") {
            return Err(Error::BlockingOnWeb { op: "read" });
        }
        pollster::block_on(self.read_tensor_async(src))
    }
}
