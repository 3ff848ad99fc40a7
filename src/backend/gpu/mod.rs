//! The wgpu backend: every operation is a WGSL compute kernel (`shaders/`).
//!
//! How it stays cheap per step (DESIGN.md §3): operations are recorded into one command
//! encoder and submitted together on `flush` (or when a read needs the results); each
//! dispatch's parameters go into a uniform arena that is uploaded with one write per submit
//! and addressed with dynamic offsets; bind groups are cached per (kernel, buffers), so a
//! steady-state training step creates no buffer and no bind group. Tensors are views into
//! storage buffers, and the element offsets of the views travel in the uniform, so views need
//! no binding-offset alignment.

pub mod bounds;
pub mod context;
mod extents;
pub mod kernels;
mod matmul_choices;
mod matmul_tuning;
pub mod matmul_variants;
mod ops;
pub(crate) use ops::optimizer_uniform;
pub mod params;
pub mod pipeline_cache;
mod pipelines;
pub mod prelude;
mod product;
mod programs;
mod readback;
pub mod trust;
pub mod validate;

use std::collections::HashMap;

use bounds::LoopBound;
pub use context::{
    ADAPTER_ENV, AdapterChoice, AdapterSummary, BACKEND_ENV, GpuContext, backend_env_problem, chosen_adapter,
    chosen_adapter_async, list_adapters, list_adapters_async,
};
use extents::Extents;
use kernels::Kernel;
pub use matmul_choices::TuningSummary;
#[doc(hidden)]
pub use matmul_tuning::reset_for_tests as matmul_tuning_reset_for_tests;
use matmul_variants::Specialization;
use params::{KernelParams, MAX_PARAMS_SIZE};
use pipelines::{Pipeline, build_pipelines};
use trust::ShaderChecks;

use super::{BackendId, BackendKind, Counters, StorageId, Tensor};
use crate::{Error, Result};

/// Bytes of uniform arena per submit (at most); a submit is forced when it fills.
/// Each dispatch takes one slot of `max(min_uniform_buffer_offset_alignment, MAX_PARAMS_SIZE)`
/// bytes (256 on most adapters), so 1 MiB holds 4 096 dispatches: a whole epoch of a small
/// model's steps still goes in one submission.
const UNIFORM_ARENA_BYTES: u64 = 1024 * 1024;

/// The most storage bindings a kernel has (the loss head's 8, WebGPU's default limit).
pub(crate) const MAX_BINDINGS: usize = 8;

/// Invocations per workgroup of the one-dimensional kernels.
const LINEAR_WORKGROUP: usize = 64;

struct Storage {
    buffer: wgpu::Buffer,
}

/// The wgpu backend.
///
/// ```no_run
/// use wgtrain::backend::{Backend, GpuBackend};
/// let mut gpu = GpuBackend::new().expect("a GPU adapter");
/// let t = gpu.upload(1, 2, &[1.0, 2.0]).unwrap();
/// assert_eq!(gpu.read(t).unwrap(), vec![1.0, 2.0]);
/// ```
pub struct GpuBackend {
    id: BackendId,
    ctx: GpuContext,
    /// How the kernels were built (`trust.rs`).
    checks: ShaderChecks,
    /// The kernel table's pipelines, in [`Kernel::ALL`] order (`None` for a kernel whose
    /// features the device lacks). Only `dispatch_kernel` records them: the trusted ones rely
    /// on its extent and loop-bound checks.
    pipelines: Vec<Option<Pipeline>>,
    storages: Vec<Option<Storage>>,
    bind_groups: HashMap<(Kernel, [StorageId; MAX_BINDINGS]), wgpu::BindGroup>,
    uniform: wgpu::Buffer,
    uniform_bytes: Vec<u8>,
    uniform_align: usize,
    /// Bytes of the uniform arena (at most `UNIFORM_ARENA_BYTES`, within the device's limit).
    uniform_capacity: usize,
    encoder: Option<wgpu::CommandEncoder>,
    /// The compute pass dispatches are recorded into; it stays open across dispatches (wgpu
    /// orders them inside it) and is ended before any copy or submit on the encoder.
    pass: Option<wgpu::ComputePass<'static>>,
    /// The read-back buffer (`readback.rs`), and whether a read left it mapped or awaiting its
    /// mapping (a read future dropped before it completed): the next read then takes a new one.
    staging: Option<wgpu::Buffer>,
    staging_busy: bool,
    /// Generated programs built on this device, and their bind groups.
    programs: Vec<programs::ProgramPipeline>,
    program_bind_groups: HashMap<(u32, Vec<StorageId>), wgpu::BindGroup>,
    /// The on-disk pipeline cache the kernels were built with (generated programs use it too).
    pipeline_cache: Option<pipeline_cache::OpenCache>,
    /// Dummy storages bound where a kernel's optional operand is absent (one per binding slot,
    /// so no buffer is bound twice in one dispatch).
    dummies: [StorageId; MAX_BINDINGS],
    /// The partial sums of split reductions (split-K products, metric sums): one buffer the
    /// backend owns, grown to the largest split it has recorded (so once per plan, never in
    /// a steady step).
    scratch: Option<Tensor>,
    counters: Counters,
    /// Which matmul variant runs per shape class (`matmul_tuning.rs`).
    tuning: matmul_choices::Tuning,
    /// The matmul kernels' pipelines, one per specialization used.
    specialized: HashMap<(Kernel, Specialization), wgpu::ComputePipeline>,
}

impl GpuBackend {
    /// A backend on the default adapter (`WGTRAIN_ADAPTER` picks another), its kernels built
    /// as `WGTRAIN_CHECKED_SHADERS` says ([`ShaderChecks::from_env`]).
    pub fn new() -> Result<Self> {
        Self::with_adapter(&AdapterChoice::Auto)
    }

    /// A backend on the chosen adapter, its kernels built as `WGTRAIN_CHECKED_SHADERS` says.
    pub fn with_adapter(choice: &AdapterChoice) -> Result<Self> {
        let checks = ShaderChecks::from_env()?;
        Self::from_context_with(GpuContext::new(choice)?, checks)
    }

    /// [`GpuBackend::new`], awaiting the device instead of blocking (the form a browser needs).
    pub async fn new_async() -> Result<Self> {
        Self::with_adapter_async(&AdapterChoice::Auto).await
    }

    /// [`GpuBackend::with_adapter`], awaiting the device instead of blocking.
    pub async fn with_adapter_async(choice: &AdapterChoice) -> Result<Self> {
        Self::from_context(GpuContext::new_async(choice).await?)
    }

    /// A backend on an already opened device, its kernels built as `WGTRAIN_CHECKED_SHADERS`
    /// says. Every kernel is validated by naga first: a kernel the device cannot run is
    /// [`Error::Shader`].
    pub fn from_context(ctx: GpuContext) -> Result<Self> {
        Self::from_context_with(ctx, ShaderChecks::from_env()?)
    }

    /// A backend on an already opened device with its kernels built as `checks` says:
    /// [`ShaderChecks::Trusted`] builds the kernels whose bounds are proven without runtime
    /// bounds checks (`trust.rs`), [`ShaderChecks::Checked`] builds every kernel with them.
    ///
    /// ```no_run
    /// use wgtrain::backend::GpuBackend;
    /// use wgtrain::backend::gpu::{AdapterChoice, GpuContext, trust::ShaderChecks};
    /// let ctx = GpuContext::new(&AdapterChoice::Auto).expect("a GPU adapter");
    /// let gpu = GpuBackend::from_context_with(ctx, ShaderChecks::Checked).unwrap();
    /// assert_eq!(gpu.trusted_kernels().count(), 0);
    /// ```
    pub fn from_context_with(ctx: GpuContext, checks: ShaderChecks) -> Result<Self> {
        let (pipelines, pipeline_cache) = build_pipelines(&ctx, checks)?;
        let tuning = matmul_choices::Tuning::new(&ctx, &pipelines)?;
        let uniform_align = ctx
            .limits
            .min_uniform_buffer_offset_alignment
            .max(MAX_PARAMS_SIZE as u32) as usize;
        // A device whose buffers are smaller gets a smaller arena (more submissions, same work).
        let align = uniform_align as u64;
        let uniform_capacity = UNIFORM_ARENA_BYTES
            .min(ctx.limits.max_buffer_size / align * align)
            .max(align);
        let uniform = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("wgtrain uniform arena"),
            size: uniform_capacity,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut backend = GpuBackend {
            id: BackendId::fresh(BackendKind::Gpu),
            ctx,
            checks,
            pipelines,
            storages: Vec::new(),
            bind_groups: HashMap::new(),
            uniform,
            uniform_bytes: Vec::with_capacity(uniform_capacity as usize),
            uniform_capacity: uniform_capacity as usize,
            uniform_align,
            encoder: None,
            pass: None,
            staging: None,
            staging_busy: false,
            programs: Vec::new(),
            program_bind_groups: HashMap::new(),
            pipeline_cache,
            dummies: [0; MAX_BINDINGS],
            scratch: None,
            counters: Counters {
                buffer_allocations: 1,
                ..Counters::default()
            },
            tuning,
            specialized: HashMap::new(),
        };
        for i in 0..backend.dummies.len() {
            backend.dummies[i] = backend.alloc(4, "dummy operand")?.storage;
        }
        backend.check_fault()?;
        Ok(backend)
    }

    /// How the kernels were built.
    pub fn shader_checks(&self) -> ShaderChecks {
        self.checks
    }

    /// The kernels of the table built without runtime bounds checks.
    pub fn trusted_kernels(&self) -> impl Iterator<Item = Kernel> + '_ {
        Kernel::ALL
            .iter()
            .copied()
            .filter(|k| trust::builds_trusted(k.spec(), self.checks))
    }

    /// What the adapter is.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.ctx.summary
    }

    /// What this device's shaders are validated against (see [`validate::validate`]), for
    /// callers that generate WGSL of their own.
    pub fn shader_target(&self) -> validate::ShaderTarget {
        validate::ShaderTarget::of(&self.ctx)
    }

    /// The open device, for callers that need it (fault injection in tests, interop).
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    fn check_fault(&self) -> Result<()> {
        match self.ctx.take_fault() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Allocates a zeroed storage buffer for `len` f32 values, checked against the limits.
    fn alloc(&mut self, len: usize, what: &str) -> Result<Tensor> {
        // Padded to 16 bytes so the matmul kernel can bind every buffer as array<vec4<f32>>.
        let bytes = ((len.max(1) as u64) * 4).div_ceil(16) * 16;
        let limits = &self.ctx.limits;
        let binding_max = limits.max_storage_buffer_binding_size;
        if bytes > binding_max {
            return Err(Error::LimitExceeded {
                what: what.to_string(),
                limit: "max_storage_buffer_binding_size",
                max: binding_max,
                requested: bytes,
            });
        }
        if bytes > limits.max_buffer_size {
            return Err(Error::LimitExceeded {
                what: what.to_string(),
                limit: "max_buffer_size",
                max: limits.max_buffer_size,
                requested: bytes,
            });
        }
        if len > u32::MAX as usize {
            return Err(Error::LimitExceeded {
                what: what.to_string(),
                limit: "u32 element index",
                max: u32::MAX as u64,
                requested: len as u64,
            });
        }
        // Natively an out-of-memory scope makes a refused allocation this call's error. A
        // browser answers a scope only through its event loop, which a synchronous call cannot
        // wait for: there the failure reaches the device's error callback and the next check.
        #[cfg(not(target_arch = "wasm32"))]
        let scope = self.ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(context::convert_error(
                e,
                &format!("allocating {bytes} bytes for {what}"),
            ));
        }
        self.check_fault()?;
        self.counters.buffer_allocations += 1;
        let storage = u32::try_from(self.storages.len()).expect("fewer than 2^32 tensors");
        self.storages.push(Some(Storage { buffer }));
        Ok(Tensor::whole(self.id, storage, 1, len))
    }

    /// The most f32 values one buffer bound as storage may hold.
    fn max_scratch_len(&self) -> u64 {
        let limits = &self.ctx.limits;
        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) / 4
    }

    /// The scratch buffer, at least `len` values long (grown, never shrunk).
    fn scratch(&mut self, len: usize) -> Result<Tensor> {
        if let Some(t) = self.scratch
            && t.len() >= len
        {
            return Ok(t);
        }
        if let Some(old) = self.scratch.take() {
            use crate::backend::BackendImpl;
            self.free_impl(old.storage);
        }
        let len = (len.next_power_of_two() as u64)
            .min(self.max_scratch_len())
            .max(len as u64) as usize;
        let t = self.alloc(len, "the partial sums of a split reduction")?;
        self.scratch = Some(t);
        Ok(t)
    }

    fn buffer(&self, id: StorageId) -> Result<&wgpu::Buffer> {
        self.storages
            .get(id as usize)
            .and_then(Option::as_ref)
            .map(|s| &s.buffer)
            .ok_or(Error::UnknownTensor {
                op: "gpu storage lookup",
                storage: id,
            })
    }

    /// The encoder, for copies and clears: ends the open compute pass first.
    fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        let device = &self.ctx.device;
        self.encoder.get_or_insert_with(|| {
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("wgtrain step"),
            })
        })
    }

    /// Records one dispatch of the kernel that reads `params` over `storages` (in binding
    /// order; `None` binds a dummy), as `groups` workgroups.
    fn dispatch<P: KernelParams + LoopBound + Extents>(
        &mut self,
        params: &P,
        storages: &[Option<StorageId>],
        groups: (u32, u32, u32),
    ) -> Result<()> {
        self.dispatch_kernel(P::KERNEL, None, params, storages, groups)
    }

    /// Records one dispatch of `kernel`, which takes `P` (its primary kernel's or its own),
    /// built with `specialization` for a kernel built per specialization. The only place a
    /// kernel of the table is recorded: it refuses a dispatch whose loop bound passes the
    /// budget or whose ranges pass a bound buffer's end, which is what lets the proven kernels
    /// run trusted (every variant of a primary kernel indexes as its `Params` say, the same
    /// ranges, as each one's audit in the kernel table states).
    fn dispatch_kernel<P: KernelParams + LoopBound + Extents>(
        &mut self,
        kernel: Kernel,
        specialization: Option<Specialization>,
        params: &P,
        storages: &[Option<StorageId>],
        groups: (u32, u32, u32),
    ) -> Result<()> {
        debug_assert_eq!(kernel.spec().primary, P::KERNEL);
        debug_assert_eq!(storages.len(), kernel.storage_count());
        let compute = self.compute_pipeline(kernel, specialization)?;
        self.ctx.set_current_op(kernel.name());
        let max = self.ctx.limits.max_compute_workgroups_per_dimension;
        if groups.0 > max || groups.1 > max || groups.2 > max {
            return Err(Error::LimitExceeded {
                what: format!("a {kernel:?} dispatch of {groups:?} workgroups"),
                limit: "max_compute_workgroups_per_dimension",
                max: u64::from(max),
                requested: u64::from(groups.0.max(groups.1).max(groups.2)),
            });
        }
        if groups.0 == 0 || groups.1 == 0 || groups.2 == 0 {
            return Ok(());
        }
        // A loop past lavapipe's limit ends silently: refuse the dispatch instead.
        let bound = params.loop_bound();
        if bound > bounds::LOOP_BUDGET {
            return Err(Error::LimitExceeded {
                what: format!("a {kernel:?} dispatch"),
                limit: "loop iterations per invocation (bounded loops)",
                max: bounds::LOOP_BUDGET,
                requested: bound,
            });
        }
        let mut key = [u32::MAX; MAX_BINDINGS];
        let mut lens = [0u64; MAX_BINDINGS];
        for (i, s) in storages.iter().enumerate() {
            key[i] = s.unwrap_or(self.dummies[i]);
            lens[i] = extents::capacity(self.buffer(key[i])?.size());
        }
        // Every range the kernel may index lies inside the buffer bound there (trust.rs),
        // and a specialized kernel indexes as its uniform says.
        if let Some(s) = &specialization
            && !params.agrees(s)
        {
            return Err(Error::InvalidArgument {
                what: "kernel specialization",
                detail: format!(
                    "{} built with {s:?} was dispatched with other transpose, index or epilogue flags",
                    kernel.name()
                ),
            });
        }
        extents::check(kernel, &params.reach(groups), &lens[..storages.len()])?;
        if self.uniform_bytes.len() + self.uniform_align > self.uniform_capacity {
            self.flush_inner()?;
        }
        let offset = self.uniform_bytes.len();
        self.uniform_bytes.extend_from_slice(bytemuck::bytes_of(params));
        self.uniform_bytes.resize(offset + self.uniform_align, 0);

        if !self.bind_groups.contains_key(&(kernel, key)) {
            let bind_group = self.create_bind_group(kernel, &key[..storages.len()])?;
            self.bind_groups.insert((kernel, key), bind_group);
        }
        self.open_pass();
        let bind_group = &self.bind_groups[&(kernel, key)];
        let pass = self.pass.as_mut().expect("a pass is open");
        pass.set_pipeline(&compute);
        pass.set_bind_group(0, bind_group, &[offset as u32]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        self.counters.dispatches += 1;
        self.check_fault()
    }

    /// The built pipeline of `kernel`; an error for a kernel the device cannot run (a variant
    /// needing a feature it lacks).
    fn pipeline(&self, kernel: Kernel) -> Result<&Pipeline> {
        self.pipelines[kernel.index()]
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument {
                what: "kernel",
                detail: format!(
                    "{} needs {:?}, which this device lacks",
                    kernel.name(),
                    kernel.spec().features
                ),
            })
    }

    /// The compute pipeline of `kernel`: the table's, or for a kernel built per specialization
    /// the one of `specialization`, built (through the pipeline cache) on its first use.
    fn compute_pipeline(
        &mut self,
        kernel: Kernel,
        specialization: Option<Specialization>,
    ) -> Result<wgpu::ComputePipeline> {
        let built = self.pipeline(kernel)?;
        let Some(s) = specialization else {
            return built.pipeline.clone().ok_or_else(|| Error::InvalidArgument {
                what: "kernel",
                detail: format!(
                    "{} is built per specialization and was dispatched without one",
                    kernel.name()
                ),
            });
        };
        if let Some(p) = self.specialized.get(&(kernel, s)) {
            return Ok(p.clone());
        }
        let cache = self.pipeline_cache.as_ref().map(|open| &open.cache);
        self.ctx.set_current_op("building a matmul pipeline");
        let pipeline = pipelines::specialized(&self.ctx.device, kernel, built, &s.constants(), cache);
        self.check_fault()?;
        if let Some(open) = &self.pipeline_cache {
            open.save();
        }
        self.specialized.insert((kernel, s), pipeline.clone());
        Ok(pipeline)
    }

    /// Opens the compute pass (and the encoder) when none is open.
    fn open_pass(&mut self) {
        if self.pass.is_none() {
            let device = &self.ctx.device;
            let encoder = self.encoder.get_or_insert_with(|| {
                device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("wgtrain step"),
                })
            });
            let pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            self.pass = Some(pass.forget_lifetime());
        }
    }

    fn create_bind_group(&mut self, kernel: Kernel, storages: &[StorageId]) -> Result<wgpu::BindGroup> {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.uniform,
                offset: 0,
                size: wgpu::BufferSize::new(MAX_PARAMS_SIZE),
            }),
        }];
        for (i, &id) in storages.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: self.buffer(id)?.as_entire_binding(),
            });
        }
        let bind_group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.pipeline(kernel)?.layout,
            entries: &entries,
        });
        self.counters.bind_groups += 1;
        Ok(bind_group)
    }

    /// Workgroups for a one-dimensional kernel over `n` items, folded into two dimensions when
    /// more than the per-dimension limit are needed (the kernels rebuild the index).
    fn linear_groups(&self, n: usize) -> (u32, u32, u32) {
        let groups = n.div_ceil(LINEAR_WORKGROUP);
        let max = self.ctx.limits.max_compute_workgroups_per_dimension as usize;
        if groups <= max {
            return (groups as u32, 1, 1);
        }
        let y = groups.div_ceil(max);
        (groups.div_ceil(y) as u32, y as u32, 1)
    }

    /// Submits everything recorded, after uploading the uniform arena it refers to.
    fn flush_inner(&mut self) -> Result<()> {
        // The pass must end before its encoder can finish.
        self.pass = None;
        if let Some(encoder) = self.encoder.take() {
            if !self.uniform_bytes.is_empty() {
                self.ctx.queue.write_buffer(&self.uniform, 0, &self.uniform_bytes);
            }
            self.ctx.queue.submit(Some(encoder.finish()));
            self.counters.submits += 1;
        }
        self.uniform_bytes.clear();
        self.check_fault()
    }
}
