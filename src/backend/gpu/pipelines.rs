//! Compute pipelines: one per kernel of the table, each with an explicit bind-group layout
//! (binding 0 the `Params` uniform with a dynamic offset into the per-submit uniform arena,
//! then the storage buffers with read-only flags where the kernel only reads), all built once
//! when the backend is created, through the on-disk pipeline cache where the adapter supports
//! one. Every module is validated by naga (`validate.rs`) before wgpu sees any of them, and
//! built trusted or checked as `trust.rs` decides.

use super::context::GpuContext;
use super::kernels::{Access, Kernel, ModuleSource};
use super::pipeline_cache;
use super::trust::{ShaderChecks, kernel_module};
use super::validate::{ShaderTarget, validate};
use crate::Result;

/// A built kernel (`None` in the list for a kernel whose features the device lacks).
pub(crate) struct Pipeline {
    /// The pipeline; `None` for a kernel built per specialization of its pipeline-overridable
    /// constants on first use (the matmul variants, `specialized`).
    pub pipeline: Option<wgpu::ComputePipeline>,
    pub layout: wgpu::BindGroupLayout,
    pub pipeline_layout: wgpu::PipelineLayout,
    pub module: wgpu::ShaderModule,
}

/// Builds `kernel`'s pipeline with the pipeline-overridable `constants` (through the cache
/// when there is one).
pub(crate) fn specialized(
    device: &wgpu::Device,
    kernel: Kernel,
    built: &Pipeline,
    constants: &[(&str, f64)],
    cache: Option<&wgpu::PipelineCache>,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(kernel.name()),
        layout: Some(&built.pipeline_layout),
        module: &built.module,
        entry_point: Some(kernel.name()),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            ..Default::default()
        },
        cache,
    })
}

// The pipeline cache's key stays the sources' fingerprint alone: checked and trusted modules
// compile to different SPIR-V, which the driver's cache tells apart, so one file serves both
// (a key per mode would make each mode's run delete the other's file).

/// A fingerprint of every kernel's name and module source (part of the pipeline cache's key).
fn kernels_fingerprint(sources: &[Option<ModuleSource>]) -> u64 {
    sources.iter().flatten().fold(pipeline_cache::FNV_START, |h, s| {
        pipeline_cache::fnv1a(pipeline_cache::fnv1a(h, s.kernel().as_bytes()), s.text().as_bytes())
    })
}

/// Validates every kernel's module, then builds every pipeline (in [`Kernel::ALL`] order),
/// through the on-disk cache when it is enabled and supported. A build that fails with the
/// cache is redone without it, so a cache problem never fails training (a kernel error then
/// shows up as it would have without a cache).
/// The open cache comes back with the pipelines, so generated programs are built (and saved)
/// through it as well.
pub(crate) fn build_pipelines(
    ctx: &GpuContext,
    checks: ShaderChecks,
) -> Result<(Vec<Option<Pipeline>>, Option<pipeline_cache::OpenCache>)> {
    let target = ShaderTarget::of(ctx);
    let features = ctx.device.features();
    let sources = Kernel::ALL
        .iter()
        .map(|k| {
            if !features.contains(k.spec().features) {
                return Ok(None);
            }
            let source = k.spec().module_source();
            validate(&source, &target)?;
            Ok(Some(source))
        })
        .collect::<Result<Vec<_>>>()?;
    let device = &ctx.device;
    if let Some(open) = pipeline_cache::open(device, kernels_fingerprint(&sources)) {
        let (pipelines, error) =
            pipeline_cache::catching(device, || build_with(device, &sources, checks, Some(&open.cache)));
        match error {
            None => {
                open.save();
                return Ok((pipelines, Some(open)));
            }
            Some(e) => pipeline_cache::record_failure(format!("building pipelines with the cache: {e}")),
        }
    }
    Ok((build_with(device, &sources, checks, None), None))
}

/// The bind-group layout entry of a uniform block at `binding` (dynamic offset into the arena).
pub(crate) fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: None,
        },
        count: None,
    }
}

/// The bind-group layout entry of a storage buffer at `binding`.
pub(crate) fn storage_entry(binding: u32, access: Access) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage {
                read_only: access == Access::Read,
            },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn build_with(
    device: &wgpu::Device,
    sources: &[Option<ModuleSource>],
    checks: ShaderChecks,
    cache: Option<&wgpu::PipelineCache>,
) -> Vec<Option<Pipeline>> {
    Kernel::ALL
        .iter()
        .zip(sources)
        .map(|(&kernel, source)| {
            let source = source.as_ref()?;
            let spec = kernel.spec();
            let module = kernel_module(device, spec, source.text(), checks);
            let mut entries = vec![wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: None,
                },
                count: None,
            }];
            for (b, binding) in spec.bindings.iter().enumerate() {
                entries.push(wgpu::BindGroupLayoutEntry {
                    binding: b as u32 + 1,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage {
                            read_only: binding.access == Access::Read,
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                });
            }
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(spec.name),
                entries: &entries,
            });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(spec.name),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = (!spec.specialized()).then(|| {
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(spec.name),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(spec.name),
                    compilation_options: wgpu::PipelineCompilationOptions::default(),
                    cache,
                })
            });
            Some(Pipeline {
                pipeline,
                layout,
                pipeline_layout,
                module,
            })
        })
        .collect()
}
