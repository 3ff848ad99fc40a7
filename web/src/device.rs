//! Opening a backend in a page. WebGPU is requested with `wgpu::Limits::default()`, the limits
//! every WebGPU implementation grants without special requests (16 KiB of workgroup storage,
//! 256 invocations, 8 storage buffers per stage …), so a page runs alike in every browser and
//! the engine's executor choice is made under them. `auto` falls back to the CPU backend with a
//! notice when the browser has no WebGPU (`navigator.gpu` missing) or gives no adapter.

use wasm_bindgen::prelude::*;
use wgtrain::backend::gpu::{AdapterChoice, GpuContext};
use wgtrain::backend::{Backend, CpuBackend, GpuBackend};
use wgtrain::{Error, Result};

/// Where a model runs, for the page to show.
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// `gpu` or `cpu`.
    pub backend: String,
    /// The WebGPU adapter's name (as far as the browser tells), or `CPU backend (ndarray)`.
    pub adapter: String,
    /// Why the model runs on the CPU although WebGPU was asked for (`auto`); `undefined`
    /// when it runs where it was asked to.
    pub notice: Option<String>,
}

/// Whether the page's global object has `navigator.gpu` (WebGPU's entry point).
fn has_navigator_gpu() -> bool {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"navigator".into())
        .ok()
        .filter(|n| n.is_object())
        .and_then(|n| js_sys::Reflect::get(&n, &"gpu".into()).ok())
        .is_some_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

/// What the browser's `GPUAdapterInfo` says (vendor, architecture, device, description),
/// read from a fresh `navigator.gpu.requestAdapter()`: wgpu leaves the name empty on the web.
async fn browser_adapter_words() -> Option<String> {
    use wasm_bindgen::JsCast;
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).ok()?;
    let request: js_sys::Function = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let info = js_sys::Reflect::get(&adapter, &"info".into()).ok()?;
    let words: Vec<String> = ["vendor", "architecture", "device", "description"]
        .into_iter()
        .filter_map(|key| js_sys::Reflect::get(&info, &key.into()).ok()?.as_string())
        .filter(|w| !w.trim().is_empty())
        .collect();
    (!words.is_empty()).then(|| words.join(", "))
}

/// The adapter's name: wgpu's, else the browser's adapter info, else a word that says the
/// browser hides it.
async fn adapter_name(ctx: &GpuContext) -> String {
    let s = &ctx.summary;
    let parts: Vec<&str> = [s.name.as_str(), s.driver.as_str()]
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect();
    if !parts.is_empty() {
        return parts.join(", ");
    }
    browser_adapter_words()
        .await
        .unwrap_or_else(|| "WebGPU adapter (the browser gives no name)".into())
}

/// A device on the browser's adapter with the WebGPU default limits. The engine's hint for a
/// missing adapter speaks of native drivers; in a page the browser decides.
async fn webgpu_context() -> Result<GpuContext> {
    GpuContext::with_limits_async(&AdapterChoice::Auto, Some(wgpu::Limits::default()))
        .await
        .map_err(|e| match e {
            Error::NoAdapter { requested, .. } => Error::NoAdapter {
                requested,
                hint: "the browser's WebGPU gave no adapter (WebGPU may be disabled, or the GPU blocklisted)".into(),
            },
            other => other,
        })
}

/// Opens WebGPU with the default limits.
async fn open_webgpu() -> Result<(Box<dyn Backend>, DeviceInfo)> {
    if !has_navigator_gpu() {
        return Err(Error::NoAdapter {
            requested: String::new(),
            hint: "this browser has no WebGPU (navigator.gpu is missing)".into(),
        });
    }
    let ctx = webgpu_context().await?;
    let adapter = adapter_name(&ctx).await;
    // On a software adapter the engine itself takes the tiled matmul in a page
    // (`matmul_choices.rs`: SwiftShader cannot build the register kernels).
    let backend = GpuBackend::from_context(ctx)?;
    Ok((
        Box::new(backend),
        DeviceInfo {
            backend: "gpu".into(),
            adapter,
            notice: None,
        },
    ))
}

/// The CPU backend, with the notice that says why (if any).
fn cpu(notice: Option<String>) -> (Box<dyn Backend>, DeviceInfo) {
    (
        Box::new(CpuBackend::new()),
        DeviceInfo {
            backend: "cpu".into(),
            adapter: "CPU backend (ndarray)".into(),
            notice,
        },
    )
}

/// Opens the backend a `device` word asks for: `gpu`, `cpu` or `auto`.
pub(crate) async fn open(device: &str) -> Result<(Box<dyn Backend>, DeviceInfo)> {
    match device.trim().to_ascii_lowercase().as_str() {
        "gpu" | "webgpu" => open_webgpu().await,
        "cpu" => Ok(cpu(None)),
        "auto" => match open_webgpu().await {
            Ok(opened) => Ok(opened),
            Err(e) => Ok(cpu(Some(format!("{e}; training on the CPU backend")))),
        },
        _ => Err(Error::InvalidArgument {
            what: "device",
            detail: format!("`{device}` is not a device; use gpu, cpu or auto"),
        }),
    }
}

/// The WebGPU adapter a model created with device `gpu` would get (its name), or an error
/// saying why there is none: a page can tell the visitor before training.
#[wasm_bindgen(js_name = webgpuAdapter)]
pub async fn webgpu_adapter() -> Result<String, JsError> {
    if !has_navigator_gpu() {
        return Err(crate::js_error("this browser has no WebGPU (navigator.gpu is missing)"));
    }
    let ctx = webgpu_context().await.map_err(crate::js_error)?;
    Ok(adapter_name(&ctx).await)
}
