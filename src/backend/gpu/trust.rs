//! Trusted shader modules (issue 12 item 3): a kernel of the table is built without wgpu's
//! runtime bounds checks and without forced loop bounding when three facts hold, and with
//! both otherwise.
//!
//! 1. **The shader guards every index by its `Params`.** Each kernel's entry in the table
//!    (`kernels.rs`) carries a [`Trust`]: either the audited argument for why every storage,
//!    workgroup, private-array and vector index of its WGSL stays inside the ranges its
//!    `Params` describe, with a hash of the source it was made for, or the reason it stays
//!    checked. A source that changed since its audit no longer matches the hash and is built
//!    checked until someone audits it again (a test then fails and prints the new hash).
//! 2. **The host proves those ranges lie inside the bound buffers**, before every dispatch:
//!    `extents.rs` computes, from the same `Params` and workgroup counts, the end of what the
//!    kernel may touch in each binding, and the dispatch is refused (`Error::KernelRange`)
//!    when one passes its buffer.
//! 3. **Every loop is bounded**: each kernel declares its loop bound (`bounds.rs`), checked
//!    against [`super::bounds::LOOP_BUDGET`] before every dispatch; every other loop has a
//!    constant trip count.
//!
//! Generated programs (the fused executor's kernels) stay checked: their offsets travel in
//! uniform bytes the backend cannot read, so fact 2 has no proof there.
//!
//! [`ShaderChecks::Checked`] builds everything checked, for debugging a kernel and for
//! measuring what the checks cost: pass it to [`super::GpuBackend::from_context_with`], or
//! set `WGTRAIN_CHECKED_SHADERS=1` (read by every other constructor).

use super::kernels::KernelSpec;
use super::pipeline_cache::{FNV_START, fnv1a};
use crate::{Error, Result};

/// Environment variable: `1` (or `true`, `yes`) builds every kernel with runtime checks;
/// unset, empty, `0` (`false`, `no`) builds the proven kernels trusted.
pub const CHECKED_SHADERS_ENV: &str = "WGTRAIN_CHECKED_SHADERS";

/// Whether a kernel may be built without runtime checks, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Every index is in range by the kernel's `Params` (the argument), as audited on the
    /// source whose [`source_hash`] is `audited`.
    Proven {
        /// [`source_hash`] of the kernel's WGSL when it was audited.
        audited: u64,
        /// Why every index is in range, given the host's extents (`extents.rs`).
        argument: &'static str,
    },
    /// Always built with runtime checks.
    Checked {
        /// Why it cannot be proven.
        reason: &'static str,
    },
}

/// How a backend builds its kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShaderChecks {
    /// Kernels whose bounds are proven ([`Trust::Proven`], source unchanged) are built without
    /// runtime bounds checks or loop bounding; the rest with them.
    #[default]
    Trusted,
    /// Every kernel is built with runtime checks.
    Checked,
}

impl ShaderChecks {
    /// The choice `WGTRAIN_CHECKED_SHADERS` makes (trusted when it is unset); a value that is
    /// neither on nor off is an error naming the variable.
    pub fn from_env() -> Result<ShaderChecks> {
        ShaderChecks::parse(std::env::var(CHECKED_SHADERS_ENV).ok().as_deref())
    }

    /// The choice a value of `WGTRAIN_CHECKED_SHADERS` makes.
    ///
    /// ```
    /// use wgtrain::backend::gpu::trust::ShaderChecks;
    /// assert_eq!(ShaderChecks::parse(Some("1")).unwrap(), ShaderChecks::Checked);
    /// assert_eq!(ShaderChecks::parse(None).unwrap(), ShaderChecks::Trusted);
    /// assert!(ShaderChecks::parse(Some("maybe")).is_err());
    /// ```
    pub fn parse(value: Option<&str>) -> Result<ShaderChecks> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "0" | "false" | "no" | "off") => Ok(ShaderChecks::Trusted),
            Some("1" | "true" | "yes" | "on") => Ok(ShaderChecks::Checked),
            Some(_) => Err(Error::InvalidArgument {
                what: "environment variable",
                detail: format!(
                    "{CHECKED_SHADERS_ENV}={:?}: use 1 to build every kernel with runtime checks, 0 (or unset) \
                     to build the proven kernels without",
                    value.unwrap_or_default()
                ),
            }),
        }
    }

    /// `trusted` or `checked`.
    pub fn name(self) -> &'static str {
        match self {
            ShaderChecks::Trusted => "trusted",
            ShaderChecks::Checked => "checked",
        }
    }
}

/// The hash a [`Trust::Proven`] records: FNV-1a over the kernel's own WGSL and then each
/// library prepended to it, in order (the generated prelude holds constants only).
pub fn source_hash(spec: &KernelSpec) -> u64 {
    spec.libraries
        .iter()
        .fold(fnv1a(FNV_START, spec.wgsl.as_bytes()), |h, library| {
            fnv1a(h, library.wgsl.as_bytes())
        })
}

/// Whether the audit of `spec` holds for its present source.
pub fn is_proven(spec: &KernelSpec) -> bool {
    matches!(spec.trust, Trust::Proven { audited, .. } if audited == source_hash(spec))
}

/// Whether `spec` is built trusted under `checks`.
pub fn builds_trusted(spec: &KernelSpec, checks: ShaderChecks) -> bool {
    checks == ShaderChecks::Trusted && is_proven(spec)
}

/// One line saying how `checks` builds the kernels, for `wgtrain info`: how many kernels of
/// the table run trusted, which run checked and why.
///
/// ```
/// use wgtrain::backend::gpu::trust::{ShaderChecks, summary};
/// assert!(summary(ShaderChecks::Checked).starts_with("checked"));
/// ```
pub fn summary(checks: ShaderChecks) -> String {
    use super::kernels::Kernel;
    if checks == ShaderChecks::Checked {
        return format!(
            "checked: every kernel is built with runtime bounds checks ({CHECKED_SHADERS_ENV}=1 or ShaderChecks::Checked)"
        );
    }
    let specs: Vec<&KernelSpec> = Kernel::ALL.iter().map(|k| k.spec()).collect();
    let trusted = specs.iter().filter(|s| is_proven(s)).count();
    let mut text = format!(
        "trusted: {trusted} of {} kernels are built without runtime bounds checks (their ranges are proven before \
         each dispatch; {CHECKED_SHADERS_ENV}=1 builds them checked); generated programs are checked",
        specs.len()
    );
    for spec in specs.iter().filter(|s| !is_proven(s)) {
        let why = match spec.trust {
            Trust::Checked { reason } => reason,
            Trust::Proven { .. } => "its source changed since its bounds were audited",
        };
        text.push_str(&format!("; {} is checked: {why}", spec.name));
    }
    text
}

/// The runtime checks of a trusted module: no bounds checks, no forced loop bounding; the
/// integer-division guards and every other check stay.
const TRUSTED_CHECKS: wgpu::ShaderRuntimeChecks = wgpu::ShaderRuntimeChecks {
    bounds_checks: false,
    force_loop_bounding: false,
    ..wgpu::ShaderRuntimeChecks::checked()
};

/// Builds the module of a kernel of the table, trusted when `builds_trusted(spec, checks)`.
///
/// The caller must record every dispatch of a pipeline built from a trusted module through
/// `GpuBackend::dispatch_kernel`, which checks the extents and the loop bound first.
pub(crate) fn kernel_module(
    device: &wgpu::Device,
    spec: &KernelSpec,
    source: &str,
    checks: ShaderChecks,
) -> wgpu::ShaderModule {
    let desc = wgpu::ShaderModuleDescriptor {
        label: Some(spec.name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    };
    if !builds_trusted(spec, checks) {
        return device.create_shader_module(desc);
    }
    // SAFETY: the module may skip bounds checks and loop bounding because (1) its WGSL guards
    // every index by its Params, as the kernel table's audited argument says, and the audit
    // is of this very source (`is_proven` compared the hash); (2) the only dispatches of its
    // pipelines (specialized or not) are recorded by `GpuBackend::dispatch_kernel`, which
    // first proves with `extents.rs` that every range those Params describe ends inside the
    // buffer bound there, refusing the dispatch otherwise; (3) the same function refuses a loop bound over `LOOP_BUDGET`
    // (`bounds.rs` declares every shape-dependent loop; the others have constant trip counts),
    // so no loop can run unbounded. Integer-division guards stay on.
    unsafe { device.create_shader_module_trusted(desc, TRUSTED_CHECKS) }
}

/// Builds a generated program's module, always with runtime checks (see the module docs).
pub(crate) fn program_module(device: &wgpu::Device, label: &str, source: &str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gpu::kernels::Kernel;

    /// A shader edited since its audit is built checked; this test says so, with the hash to
    /// record once the kernel table's argument has been checked against the new source.
    #[test]
    fn every_proven_kernel_was_audited_on_its_present_source() {
        let stale: Vec<String> = Kernel::ALL
            .iter()
            .map(|k| k.spec())
            .filter(|spec| matches!(spec.trust, Trust::Proven { .. }) && !is_proven(spec))
            .map(|spec| format!("{}: audited: {:#018x}", spec.name, source_hash(spec)))
            .collect();
        assert!(
            stale.is_empty(),
            "these kernels changed since their trust argument was written; audit them again, then \
             record the new hashes in kernels.rs:\n{}",
            stale.join("\n")
        );
    }

    #[test]
    fn checked_builds_nothing_trusted() {
        for k in Kernel::ALL {
            assert!(!builds_trusted(k.spec(), ShaderChecks::Checked));
        }
    }

    #[test]
    fn the_switch_reads_on_and_off_and_refuses_anything_else() {
        for on in ["1", "true", "YES", " on "] {
            assert_eq!(ShaderChecks::parse(Some(on)).unwrap(), ShaderChecks::Checked, "{on}");
        }
        for off in ["", "0", "false", "no", "off"] {
            assert_eq!(ShaderChecks::parse(Some(off)).unwrap(), ShaderChecks::Trusted, "{off}");
        }
        match ShaderChecks::parse(Some("2")) {
            Err(Error::InvalidArgument { detail, .. }) => assert!(detail.contains(CHECKED_SHADERS_ENV)),
            other => panic!("{other:?}"),
        }
    }
}
