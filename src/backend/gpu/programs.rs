//! Generated programs on the GPU (see [`crate::backend::program`]): each module is validated by
//! naga against this device, then built once with its own bind-group layout (uniform blocks
//! with dynamic offsets into the per-submit uniform arena, then storage buffers with read-only
//! flags) through the on-disk pipeline cache the kernel table was built with, always with
//! runtime checks (`trust.rs`: the backend cannot read a program's offsets to prove them). A source built
//! before returns the same [`ProgramId`]. A run records one dispatch into the open compute
//! pass, its bind group cached per (program, storages) like the kernel table's.

use super::GpuBackend;
use super::pipeline_cache;
use super::pipelines::{storage_entry, uniform_entry};
use super::trust;
use super::validate::validate;
use crate::backend::StorageId;
use crate::backend::program::{MAX_UNIFORM_BYTES, ProgramId, ProgramLimits, ProgramRun, ProgramSpec};
use crate::{Error, Result};

/// A built program.
pub(crate) struct ProgramPipeline {
    fingerprint: u64,
    uniforms: u32,
    storages: usize,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// Identifies a module: its entry point, bindings and text.
fn fingerprint(spec: &ProgramSpec) -> u64 {
    let mut h = pipeline_cache::fnv1a(pipeline_cache::FNV_START, spec.entry_point.as_bytes());
    h = pipeline_cache::fnv1a(h, &spec.uniforms.to_le_bytes());
    for a in &spec.storages {
        h = pipeline_cache::fnv1a(h, &[*a as u8]);
    }
    pipeline_cache::fnv1a(h, spec.source.text().as_bytes())
}

impl GpuBackend {
    pub(crate) fn program_limits_gpu(&self) -> ProgramLimits {
        let l = &self.ctx.limits;
        ProgramLimits {
            invocations_per_workgroup: l
                .max_compute_invocations_per_workgroup
                .min(l.max_compute_workgroup_size_x),
            workgroup_storage_bytes: l.max_compute_workgroup_storage_size,
            storage_buffers: l.max_storage_buffers_per_shader_stage,
            storage_binding_bytes: l.max_storage_buffer_binding_size.min(l.max_buffer_size),
            cpu_device: self.ctx.summary.device_type == format!("{:?}", wgpu::DeviceType::Cpu),
        }
    }

    pub(crate) fn compile_program_gpu(&mut self, spec: &ProgramSpec) -> Result<ProgramId> {
        let fp = fingerprint(spec);
        if let Some(i) = self.programs.iter().position(|p| p.fingerprint == fp) {
            return Ok(ProgramId(i as u32));
        }
        validate(&spec.source, &self.shader_target())?;
        let device = self.ctx.device.clone();
        let build = |cache: Option<&wgpu::PipelineCache>| {
            let module = trust::program_module(&device, spec.source.kernel(), spec.source.text());
            let entries: Vec<_> = (0..spec.uniforms)
                .map(uniform_entry)
                .chain(
                    spec.storages
                        .iter()
                        .enumerate()
                        .map(|(i, &a)| storage_entry(spec.uniforms + i as u32, a)),
                )
                .collect();
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(spec.source.kernel()),
                entries: &entries,
            });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(spec.source.kernel()),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(spec.source.kernel()),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(&spec.entry_point),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache,
            });
            (pipeline, layout)
        };
        let cached = self.pipeline_cache.as_ref().and_then(|open| {
            let (built, error) = pipeline_cache::catching(&device, || build(Some(&open.cache)));
            match error {
                None => {
                    open.save();
                    Some(built)
                }
                Some(e) => {
                    pipeline_cache::record_failure(format!("building a generated program with the cache: {e}"));
                    None
                }
            }
        });
        let (pipeline, layout) = match cached {
            Some(built) => built,
            None => {
                self.ctx.set_current_op("building a generated program");
                let built = build(None);
                self.check_fault()?;
                built
            }
        };
        self.programs.push(ProgramPipeline {
            fingerprint: fp,
            uniforms: spec.uniforms,
            storages: spec.storages.len(),
            pipeline,
            layout,
        });
        Ok(ProgramId(self.programs.len() as u32 - 1))
    }

    pub(crate) fn run_program_gpu(&mut self, run: &ProgramRun) -> Result<()> {
        let program = self
            .programs
            .get(run.program.0 as usize)
            .ok_or_else(|| Error::InvalidArgument {
                what: "program",
                detail: format!("{:?} was not built on this backend", run.program),
            })?;
        if run.uniforms.len() != program.uniforms as usize || run.storages.len() != program.storages {
            return Err(Error::InvalidArgument {
                what: "program run",
                detail: format!(
                    "{} uniforms and {} storages given; the program binds {} and {}",
                    run.uniforms.len(),
                    run.storages.len(),
                    program.uniforms,
                    program.storages
                ),
            });
        }
        let groups = run.groups;
        let max = self.ctx.limits.max_compute_workgroups_per_dimension;
        if groups.0 > max || groups.1 > max || groups.2 > max {
            return Err(Error::LimitExceeded {
                what: format!("a generated program's dispatch of {groups:?} workgroups"),
                limit: "max_compute_workgroups_per_dimension",
                max: u64::from(max),
                requested: u64::from(groups.0.max(groups.1).max(groups.2)),
            });
        }
        self.ctx.set_current_op("a generated program");
        if groups.0 == 0 || groups.1 == 0 || groups.2 == 0 {
            return Ok(());
        }
        let need = run.uniforms.len() * self.uniform_align;
        if self.uniform_bytes.len() + need > super::UNIFORM_ARENA_BYTES as usize {
            self.flush_inner()?;
        }
        let mut offsets = Vec::with_capacity(run.uniforms.len());
        for u in run.uniforms {
            let offset = self.uniform_bytes.len();
            self.uniform_bytes.extend_from_slice(u);
            self.uniform_bytes.resize(offset + self.uniform_align, 0);
            offsets.push(offset as u32);
        }
        let key: (u32, Vec<StorageId>) = (run.program.0, run.storages.iter().map(|t| t.storage).collect());
        if !self.program_bind_groups.contains_key(&key) {
            let program = &self.programs[run.program.0 as usize];
            let mut entries: Vec<wgpu::BindGroupEntry> = (0..program.uniforms)
                .map(|b| wgpu::BindGroupEntry {
                    binding: b,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &self.uniform,
                        offset: 0,
                        size: wgpu::BufferSize::new(MAX_UNIFORM_BYTES as u64),
                    }),
                })
                .collect();
            for (i, &id) in key.1.iter().enumerate() {
                entries.push(wgpu::BindGroupEntry {
                    binding: program.uniforms + i as u32,
                    resource: self.buffer(id)?.as_entire_binding(),
                });
            }
            let bind_group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("generated program"),
                layout: &program.layout,
                entries: &entries,
            });
            self.counters.bind_groups += 1;
            self.program_bind_groups.insert(key.clone(), bind_group);
        }
        self.open_pass();
        let bind_group = &self.program_bind_groups[&key];
        let pipeline = &self.programs[run.program.0 as usize].pipeline;
        let pass = self.pass.as_mut().expect("a pass is open");
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, bind_group, &offsets);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        self.counters.dispatches += 1;
        self.check_fault()
    }
}
