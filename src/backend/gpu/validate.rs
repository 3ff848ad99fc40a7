//! naga validation of every WGSL module the engine builds, before wgpu sees it: the module is
//! parsed and validated with the capabilities the device has (wgpu's own mapping from features
//! to naga capabilities), and its workgroups are checked against the device's limits. A
//! rejected module is [`Error::Shader`] naming the kernel and the file, line and column (in
//! the part of the module the position falls in: the generated prelude, the activation library
//! or the kernel's file), so a bad kernel, hand-written or generated, never reaches the driver.

use naga::valid::{Capabilities, ValidationFlags, Validator};

use super::context::GpuContext;
use super::kernels::ModuleSource;
use crate::{Error, Result};

/// What a module is validated against: naga capabilities and the compute limits that a
/// module's text decides (workgroup size and workgroup memory).
#[derive(Clone, Copy, Debug)]
pub struct ShaderTarget {
    /// The capabilities of the device (from its features and downlevel flags).
    pub capabilities: Capabilities,
    /// Most invocations per workgroup.
    pub max_invocations_per_workgroup: u32,
    /// Most invocations along x, y and z.
    pub max_workgroup_size: [u32; 3],
    /// Workgroup memory, bytes.
    pub max_workgroup_storage: u32,
}

impl ShaderTarget {
    /// The target of an open device.
    pub fn of(ctx: &GpuContext) -> Self {
        let features = ctx.device.features();
        Self::with_limits(
            wgpu_naga_bridge::features_to_naga_capabilities(features, ctx.downlevel),
            &ctx.limits,
        )
    }

    /// A target with these capabilities and limits.
    pub fn with_limits(capabilities: Capabilities, limits: &wgpu::Limits) -> Self {
        ShaderTarget {
            capabilities,
            max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_workgroup_size: [
                limits.max_compute_workgroup_size_x,
                limits.max_compute_workgroup_size_y,
                limits.max_compute_workgroup_size_z,
            ],
            max_workgroup_storage: limits.max_compute_workgroup_storage_size,
        }
    }
}

impl ShaderTarget {
    /// WebGPU's defaults plus the optional `features` (what a kernel needing them is checked
    /// against without a device).
    pub fn with_features(features: wgpu::Features) -> Self {
        Self::with_limits(
            wgpu_naga_bridge::features_to_naga_capabilities(features, wgpu::DownlevelFlags::all()),
            &wgpu::Limits::default(),
        )
    }
}

impl Default for ShaderTarget {
    /// What every WebGPU implementation grants: no optional feature, the default limits.
    fn default() -> Self {
        Self::with_features(wgpu::Features::empty())
    }
}

/// The error for `source` at `location` (None: the whole module).
fn shader_error(source: &ModuleSource, location: Option<naga::SourceLocation>, message: String) -> Error {
    let (part, line, column) = match location {
        Some(loc) => {
            let (part, line) = source.locate(loc.line_number);
            (part.to_string(), line, loc.line_position)
        }
        None => (source.kernel().to_string(), 0, 0),
    };
    Error::Shader {
        kernel: source.kernel().to_string(),
        part,
        line,
        column,
        message,
    }
}

/// An error and its causes, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

/// Parses and validates `source` for `target`; returns the module naga built.
///
/// ```
/// use wgtrain::backend::gpu::kernels::ModuleSource;
/// use wgtrain::backend::gpu::validate::{ShaderTarget, validate};
/// let mut source = ModuleSource::new("broken");
/// source.push("broken.wgsl", "fn f() -> u32 {\n    let x = ;\n}\n");
/// let err = validate(&source, &ShaderTarget::default()).unwrap_err();
/// assert!(matches!(err, wgtrain::Error::Shader { line: 2, .. }), "{err}");
/// ```
pub fn validate(source: &ModuleSource, target: &ShaderTarget) -> Result<naga::Module> {
    let text = source.text();
    let module = naga::front::wgsl::parse_str(text).map_err(|e| {
        // The first label is naga's primary position.
        let message = match e.labels().next() {
            Some((_, label)) if !label.is_empty() => format!("{} ({label})", e.message()),
            _ => e.message().to_string(),
        };
        shader_error(source, e.location(text), message)
    })?;
    Validator::new(ValidationFlags::all(), target.capabilities)
        .validate(&module)
        .map_err(|e| {
            // The narrowest span is the most precise (the outermost is the whole function).
            let narrowest = e
                .spans()
                .filter(|(span, _)| span.is_defined())
                .min_by_key(|(span, _)| span.to_range().map_or(usize::MAX, |r| r.len()));
            let mut message = chain(e.as_inner());
            if let Some((_, label)) = narrowest
                && !label.is_empty()
                && !label.starts_with("naga::")
            {
                message = format!("{message} ({label})");
            }
            shader_error(source, narrowest.map(|(span, _)| span.location(text)), message)
        })?;
    check_limits(source, &module, target)?;
    Ok(module)
}

/// The workgroup size and workgroup memory of every entry point against the limits.
fn check_limits(source: &ModuleSource, module: &naga::Module, target: &ShaderTarget) -> Result<()> {
    let text = source.text();
    for entry in &module.entry_points {
        let size = entry.workgroup_size;
        let invocations = size.iter().map(|&d| u64::from(d)).product::<u64>();
        let too_wide = size.iter().zip(target.max_workgroup_size).any(|(&d, max)| d > max);
        if invocations > u64::from(target.max_invocations_per_workgroup) || too_wide {
            let at = text
                .find(&format!("fn {}(", entry.name))
                .map(|start| naga::Span::new(start as u32, start as u32 + 1).location(text));
            return Err(shader_error(
                source,
                at,
                format!(
                    "entry point `{}` has a workgroup of {size:?} ({invocations} invocations); the device allows \
                     {:?} and {} invocations",
                    entry.name, target.max_workgroup_size, target.max_invocations_per_workgroup
                ),
            ));
        }
    }
    let mut bytes = 0u64;
    for (handle, var) in module.global_variables.iter() {
        if var.space != naga::AddressSpace::WorkGroup {
            continue;
        }
        bytes += u64::from(module.types[var.ty].inner.size(module.to_ctx()));
        if bytes > u64::from(target.max_workgroup_storage) {
            let span = module.global_variables.get_span(handle);
            return Err(shader_error(
                source,
                span.is_defined().then(|| span.location(text)),
                format!(
                    "the workgroup variables need {bytes} bytes (through `{}`); the device allows {}",
                    var.name.as_deref().unwrap_or("?"),
                    target.max_workgroup_storage
                ),
            ));
        }
    }
    Ok(())
}
