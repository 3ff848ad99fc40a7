//! GPU context: instance, adapter choice and device creation. The device is created with the
//! adapter's own limits (not wgpu's conservative defaults, whose 128 MiB binding limit would
//! refuse real data sets), and every wgpu failure — no adapter, refused device, validation
//! error, out of memory, device lost — becomes a variant of [`crate::Error`].
//!
//! Finding adapters and opening a device are asynchronous in wgpu; the `_async` functions
//! await them (what a browser needs), and the blocking ones drive those futures with
//! `pollster` on native.

use std::sync::{Arc, Mutex};

use crate::{Error, Result};

/// Environment variable that picks an adapter: an index from [`list_adapters`] or a
/// case-insensitive substring of the adapter's name.
pub const ADAPTER_ENV: &str = "WGTRAIN_ADAPTER";

/// Which adapter to use.
///
/// ```
/// use wgtrain::backend::gpu::AdapterChoice;
/// assert_eq!(AdapterChoice::parse("1"), AdapterChoice::Index(1));
/// assert_eq!(AdapterChoice::parse("llvmpipe"), AdapterChoice::Name("llvmpipe".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum AdapterChoice {
    /// The best adapter: discrete over integrated over virtual over CPU (`WGTRAIN_ADAPTER`
    /// overrides this when set).
    #[default]
    Auto,
    /// The adapter at this index of [`list_adapters`].
    Index(usize),
    /// The first adapter whose name contains this text (case-insensitive).
    Name(String),
}

impl AdapterChoice {
    /// Reads a choice as written on a command line or in `WGTRAIN_ADAPTER`.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match text.parse::<usize>() {
            Ok(i) => AdapterChoice::Index(i),
            Err(_) if text.is_empty() || text.eq_ignore_ascii_case("auto") => AdapterChoice::Auto,
            Err(_) => AdapterChoice::Name(text.to_string()),
        }
    }

    /// `Auto` resolved through `WGTRAIN_ADAPTER` when that is set.
    fn resolved(&self) -> AdapterChoice {
        self.resolve_with(std::env::var(ADAPTER_ENV).ok().as_deref())
    }

    /// `Auto` resolved through the given value of `WGTRAIN_ADAPTER` (an explicit choice wins).
    ///
    /// ```
    /// use wgtrain::backend::gpu::AdapterChoice;
    /// assert_eq!(AdapterChoice::Auto.resolve_with(Some("0")), AdapterChoice::Index(0));
    /// assert_eq!(AdapterChoice::Index(1).resolve_with(Some("0")), AdapterChoice::Index(1));
    /// ```
    pub fn resolve_with(&self, env_value: Option<&str>) -> AdapterChoice {
        match (self, env_value) {
            (AdapterChoice::Auto, Some(text)) => AdapterChoice::parse(text),
            _ => self.clone(),
        }
    }
}

/// What a user needs to know about an adapter to choose one.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Index in the list.
    pub index: usize,
    /// The adapter's name.
    pub name: String,
    /// Graphics API (Vulkan, Metal, Dx12 …).
    pub backend: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Largest storage buffer binding, bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer, bytes.
    pub max_buffer_size: u64,
    /// Most workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Most invocations per workgroup.
    pub max_compute_invocations_per_workgroup: u32,
    /// Workgroup shared memory, bytes.
    pub max_compute_workgroup_storage_size: u32,
    /// Storage buffers per shader stage.
    pub max_storage_buffers_per_shader_stage: u32,
    /// Optional features that matter to training kernels and are present.
    pub features: Vec<&'static str>,
    /// Subgroup size range (min, max).
    pub subgroup_sizes: (u32, u32),
    /// A software adapter (`DeviceType::Cpu`: lavapipe's llvmpipe, SwiftShader, WARP), which
    /// runs the shaders on the CPU, slower than the CPU backend.
    pub software: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "[{}] {} ({}, {}; driver {})",
            self.index, self.name, self.backend, self.device_type, self.driver
        )?;
        writeln!(
            f,
            "    limits: storage binding {} MiB, buffer {} MiB, {} workgroups/dim, {} invocations/workgroup, {} KiB shared, {} storage buffers/stage",
            self.max_storage_buffer_binding_size >> 20,
            self.max_buffer_size >> 20,
            self.max_compute_workgroups_per_dimension,
            self.max_compute_invocations_per_workgroup,
            self.max_compute_workgroup_storage_size >> 10,
            self.max_storage_buffers_per_shader_stage
        )?;
        write!(
            f,
            "    features: {}; subgroup size {}..{}",
            if self.features.is_empty() {
                "none of interest".to_string()
            } else {
                self.features.join(", ")
            },
            self.subgroup_sizes.0,
            self.subgroup_sizes.1
        )
    }
}

/// The graphics APIs searched: Vulkan, Metal, DX12 (WGPU_BACKEND overrides). OpenGL is left
/// out: its compute support is partial and probing it prints noise on headless machines.
fn backends() -> wgpu::Backends {
    wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY)
}

/// The environment variable wgpu reads to choose its graphics APIs.
pub const BACKEND_ENV: &str = "WGPU_BACKEND";

/// What is wrong with `WGPU_BACKEND` when it is set and no adapter was found: names wgpu does
/// not know, or APIs that have no adapter here. `None` when the variable is not set.
pub fn backend_env_problem() -> Option<String> {
    let value = std::env::var(BACKEND_ENV).ok()?;
    const KNOWN: [&str; 11] = [
        "vulkan", "vk", "dx12", "d3d12", "metal", "mtl", "opengl", "gles", "gl", "webgpu", "noop",
    ];
    let unknown: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|b| !KNOWN.contains(&b.to_lowercase().as_str()))
        .collect();
    Some(if unknown.is_empty() {
        format!(
            "{BACKEND_ENV}={value:?} restricts wgpu to APIs that have no adapter on this machine; unset it to search Vulkan, Metal and DX12, or install a driver for one of them (on a machine without a GPU, `apt-get install mesa-vulkan-drivers libvulkan1` gives the lavapipe CPU adapter)"
        )
    } else {
        format!(
            "{BACKEND_ENV}={value:?} names {} that wgpu does not know (it takes vulkan, metal, dx12, gl or webgpu, comma-separated); fix or unset it",
            unknown.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join(", ")
        )
    })
}

fn new_instance() -> wgpu::Instance {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    descriptor.backends = backends();
    wgpu::Instance::new(descriptor)
}

fn summarize(index: usize, adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let limits = adapter.limits();
    let features = adapter.features();
    let named = [
        (wgpu::Features::SHADER_F16, "shader-f16"),
        (wgpu::Features::SUBGROUP, "subgroups"),
        (wgpu::Features::TIMESTAMP_QUERY, "timestamp-query"),
        (wgpu::Features::PIPELINE_CACHE, "pipeline-cache"),
        (wgpu::Features::SHADER_FLOAT32_ATOMIC, "float32-atomics"),
    ];
    AdapterSummary {
        index,
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        max_buffer_size: limits.max_buffer_size,
        max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
        max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
        max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
        features: named
            .iter()
            .filter(|(f, _)| features.contains(*f))
            .map(|(_, n)| *n)
            .collect(),
        subgroup_sizes: (info.subgroup_min_size, info.subgroup_max_size),
        software: info.device_type == wgpu::DeviceType::Cpu,
    }
}

/// The adapter `choice` picks (after `WGTRAIN_ADAPTER`), without opening a device; `None`
/// when none matches. Blocks (native only; in a browser it finds none: await
/// [`chosen_adapter_async`]).
pub fn chosen_adapter(choice: &AdapterChoice) -> Option<AdapterSummary> {
    block_on_native(chosen_adapter_async(choice))?
}

/// [`chosen_adapter`], awaiting the adapter list instead of blocking.
pub async fn chosen_adapter_async(choice: &AdapterChoice) -> Option<AdapterSummary> {
    let adapters = enumerate(&new_instance()).await;
    pick(&adapters, &choice.resolved()).map(|(i, a)| summarize(i, a))
}

/// Drives `future` to its end on native; `None` in a browser, which cannot block (its answers
/// arrive through the event loop only once the caller returns).
fn block_on_native<F: std::future::Future>(future: F) -> Option<F::Output> {
    if cfg!(target_arch = "wasm32") {
        return None;
    }
    Some(pollster::block_on(future))
}

/// The adapter a resolved choice picks: `Auto` ranks discrete over integrated over virtual
/// over other over CPU, the first listed winning a tie.
fn pick<'a>(adapters: &'a [wgpu::Adapter], choice: &AdapterChoice) -> Option<(usize, &'a wgpu::Adapter)> {
    match choice {
        AdapterChoice::Auto => adapters
            .iter()
            .enumerate()
            .max_by_key(|(i, a)| (rank(a.get_info().device_type), usize::MAX - i)),
        AdapterChoice::Index(i) => adapters.get(*i).map(|a| (*i, a)),
        AdapterChoice::Name(name) => {
            let needle = name.to_lowercase();
            adapters
                .iter()
                .enumerate()
                .find(|(_, a)| a.get_info().name.to_lowercase().contains(&needle))
        }
    }
}

async fn enumerate(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    instance.enumerate_adapters(backends()).await
}

/// Every adapter wgpu can see, with its limits and features. Blocks (native only; in a
/// browser the list is empty: await [`list_adapters_async`]).
pub fn list_adapters() -> Vec<AdapterSummary> {
    block_on_native(list_adapters_async()).unwrap_or_default()
}

/// [`list_adapters`], awaiting the adapters instead of blocking (in a browser: the one adapter
/// the page is granted, if any).
pub async fn list_adapters_async() -> Vec<AdapterSummary> {
    enumerate(&new_instance())
        .await
        .iter()
        .enumerate()
        .map(|(i, a)| summarize(i, a))
        .collect()
}

fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 1,
        wgpu::DeviceType::Cpu => 0,
    }
}

/// The first GPU failure reported by wgpu's callbacks, kept until an operation returns it.
pub(crate) type FaultSlot = Arc<Mutex<Option<Error>>>;

/// An open device on a chosen adapter.
#[derive(Clone)]
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The limits the device was created with (the adapter's own).
    pub limits: wgpu::Limits,
    /// What the adapter is.
    pub summary: AdapterSummary,
    /// The adapter's downlevel flags (with the features, what naga validates shaders for).
    pub downlevel: wgpu::DownlevelFlags,
    pub(crate) fault: FaultSlot,
    /// The operation being recorded, so a validation error reported through the callback can
    /// name it.
    pub(crate) current_op: Arc<Mutex<&'static str>>,
}

impl GpuContext {
    /// Opens a device on the chosen adapter, blocking until it is open (native only: in a
    /// browser this is [`Error::BlockingOnWeb`]; await [`GpuContext::new_async`]).
    pub fn new(choice: &AdapterChoice) -> Result<Self> {
        Self::with_limits(choice, None)
    }

    /// Opens a device on the chosen adapter, awaiting the adapter and the device.
    pub async fn new_async(choice: &AdapterChoice) -> Result<Self> {
        Self::with_limits_async(choice, None).await
    }

    /// Opens a device, optionally with limits lower than the adapter's (for testing how
    /// wgtrain behaves on a small device); blocks as [`GpuContext::new`] does.
    pub fn with_limits(choice: &AdapterChoice, limits: Option<wgpu::Limits>) -> Result<Self> {
        block_on_native(Self::with_limits_async(choice, limits)).unwrap_or(Err(Error::BlockingOnWeb {
            op: "GpuContext::with_limits",
        }))
    }

    /// [`GpuContext::with_limits`], awaiting the adapter and the device instead of blocking.
    pub async fn with_limits_async(choice: &AdapterChoice, limits: Option<wgpu::Limits>) -> Result<Self> {
        let instance = new_instance();
        let adapters = enumerate(&instance).await;
        let choice = choice.resolved();
        let picked = pick(&adapters, &choice);
        let Some((index, adapter)) = picked else {
            let requested = match &choice {
                AdapterChoice::Auto => String::new(),
                other => {
                    let names: Vec<_> = adapters
                        .iter()
                        .enumerate()
                        .map(|(i, a)| format!("[{i}] {}", a.get_info().name))
                        .collect();
                    format!(
                        " matching {other:?} (adapters present: {})",
                        if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        }
                    )
                }
            };
            let hint = if adapters.is_empty()
                && let Some(problem) = backend_env_problem()
            {
                problem
            } else if adapters.is_empty() {
                "install a Vulkan driver (on a machine without a GPU, `apt-get install mesa-vulkan-drivers \
                 libvulkan1` gives the lavapipe CPU adapter) or use the CPU backend"
                    .to_string()
            } else {
                format!(
                    "choose one of the adapters present by index or name substring (also through {ADAPTER_ENV}), or use auto"
                )
            };
            return Err(Error::NoAdapter { requested, hint });
        };
        let summary = summarize(index, adapter);
        let downlevel = adapter.get_downlevel_capabilities().flags;
        let required_limits = limits.unwrap_or_else(|| adapter.limits());
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("wgtrain"),
            // The on-disk pipeline cache (pipeline_cache.rs) needs PIPELINE_CACHE where it exists;
            // the subgroup matmul variant needs SUBGROUP.
            required_features: adapter.features() & (wgpu::Features::PIPELINE_CACHE | wgpu::Features::SUBGROUP),
            required_limits: required_limits.clone(),
            ..Default::default()
        };
        let (device, queue) = adapter
            .request_device(&descriptor)
            .await
            .map_err(|e| Error::DeviceRequest {
                adapter: summary.name.clone(),
                reason: e.to_string(),
            })?;

        let fault: FaultSlot = Arc::new(Mutex::new(None));
        let current_op = Arc::new(Mutex::new("device creation"));
        let op_name = current_op.clone();
        let on_error = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = on_error.lock().unwrap_or_else(|p| p.into_inner());
            let during = *op_name.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(convert_error(e, during));
        }));
        let on_lost = fault.clone();
        device.set_device_lost_callback(move |reason, message| {
            let mut slot = on_lost.lock().unwrap_or_else(|p| p.into_inner());
            // A loss outranks whatever error it caused.
            *slot = Some(Error::DeviceLost {
                reason: format!("{reason:?}: {message}"),
            });
        });
        Ok(GpuContext {
            device,
            queue,
            limits: required_limits,
            summary,
            downlevel,
            fault,
            current_op,
        })
    }

    /// Records which operation is being recorded (named in errors the callback reports).
    pub(crate) fn set_current_op(&self, name: &'static str) {
        *self.current_op.lock().unwrap_or_else(|p| p.into_inner()) = name;
    }

    /// Takes the pending fault, if a callback reported one.
    pub(crate) fn take_fault(&self) -> Option<Error> {
        let mut slot = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            // Device loss is permanent: keep reporting it.
            Some(Error::DeviceLost { reason }) => Some(Error::DeviceLost { reason: reason.clone() }),
            _ => slot.take(),
        }
    }
}

/// Turns a wgpu error into ours, naming the operation.
pub(crate) fn convert_error(e: wgpu::Error, during: &str) -> Error {
    match e {
        wgpu::Error::OutOfMemory { .. } => Error::GpuOutOfMemory {
            during: during.to_string(),
        },
        wgpu::Error::Validation { description, .. } => Error::GpuValidation {
            during: during.to_string(),
            message: description,
        },
        wgpu::Error::Internal { description, .. } => Error::GpuValidation {
            during: during.to_string(),
            message: format!("internal error: {description}"),
        },
    }
}
