//! Compute pipelines: one per kernel, each with an explicit bind-group layout (binding 0 the
//! `Params` uniform with a dynamic offset into the per-submit uniform arena, then the storage
//! buffers with read-only flags where the kernel only reads), all built once when the backend
//! is created, through the on-disk pipeline cache where the adapter supports one.

use super::pipeline_cache;
use super::shaders::KERNELS;

/// The kernels, in the order of the shader table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    Matmul,
    ActivationBackward,
    Softmax,
    Loss,
    AccumulateMetrics,
    OptimizerStep,
    GatherRows,
    Fill,
    SoftmaxBackward,
    Dropout,
}

/// Storage bindings 1.. of each kernel: true where the kernel writes.
fn storage_bindings(kernel: Kernel) -> &'static [bool] {
    match kernel {
        Kernel::Matmul => &[false, false, false, true, true],
        Kernel::ActivationBackward => &[false, false, true, true],
        Kernel::Softmax => &[false, true],
        Kernel::Loss => &[false, false, false, true, true],
        Kernel::AccumulateMetrics => &[false, false, false, true],
        Kernel::OptimizerStep => &[true, false, true, true, true],
        Kernel::GatherRows => &[false, false, true],
        Kernel::Fill => &[true],
        Kernel::SoftmaxBackward => &[false, false, true],
        Kernel::Dropout => &[false, true, true],
    }
}

impl Kernel {
    /// Every kernel.
    pub(crate) const ALL: [Kernel; 10] = [
        Kernel::Matmul,
        Kernel::ActivationBackward,
        Kernel::Softmax,
        Kernel::Loss,
        Kernel::AccumulateMetrics,
        Kernel::OptimizerStep,
        Kernel::GatherRows,
        Kernel::Fill,
        Kernel::SoftmaxBackward,
        Kernel::Dropout,
    ];

    /// How many storage buffers the kernel binds.
    pub(crate) fn storage_count(self) -> usize {
        storage_bindings(self).len()
    }
}

/// A built kernel.
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// A fingerprint of every kernel's name and source (part of the pipeline cache's key).
fn kernels_fingerprint() -> u64 {
    KERNELS.iter().fold(pipeline_cache::FNV_START, |h, k| {
        pipeline_cache::fnv1a(
            pipeline_cache::fnv1a(h, k.name.as_bytes()),
            k.module_source().as_bytes(),
        )
    })
}

/// Builds every pipeline, through the on-disk cache when it is enabled and supported. A build
/// that fails with the cache is redone without it, so a cache problem never fails training
/// (a kernel error then shows up as it would have without a cache).
pub(crate) fn build_pipelines(device: &wgpu::Device) -> Vec<Pipeline> {
    if let Some(open) = pipeline_cache::open(device, kernels_fingerprint()) {
        let (pipelines, error) = pipeline_cache::catching(device, || build_with(device, Some(&open.cache)));
        match error {
            None => {
                open.save();
                return pipelines;
            }
            Some(e) => pipeline_cache::record_failure(format!("building pipelines with the cache: {e}")),
        }
    }
    build_with(device, None)
}

fn build_with(device: &wgpu::Device, cache: Option<&wgpu::PipelineCache>) -> Vec<Pipeline> {
    Kernel::ALL
        .iter()
        .enumerate()
        .map(|(i, &kernel)| {
            let source = &KERNELS[i];
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(source.name),
                source: wgpu::ShaderSource::Wgsl(source.module_source().into()),
            });
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
            for (b, &writes) in storage_bindings(kernel).iter().enumerate() {
                entries.push(wgpu::BindGroupLayoutEntry {
                    binding: b as u32 + 1,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: !writes },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                });
            }
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(source.name),
                entries: &entries,
            });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(source.name),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(source.name),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(source.name),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache,
            });
            Pipeline { pipeline, layout }
        })
        .collect()
}
