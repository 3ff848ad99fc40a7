//! The on-disk pipeline cache (issue 6 item 3): on adapters with `Features::PIPELINE_CACHE`
//! (Vulkan), the driver's compiled pipelines are kept in the user's cache directory so a second
//! run starts faster.
//!
//! - Where: `$WGTRAIN_PIPELINE_CACHE` when it names a directory, else `$XDG_CACHE_HOME/wgtrain`,
//!   else `~/.cache/wgtrain`. `WGTRAIN_PIPELINE_CACHE=off` (or `0`, `false`) disables it.
//! - Key: the file is named by `wgpu::util::pipeline_cache_key` (API, vendor, device) and a
//!   fingerprint of the driver, the wgtrain version and every kernel's source, so a driver
//!   update or a changed kernel starts a fresh file (stale files of the adapter are removed).
//! - Format: `WGTRPC01`, an FNV-1a-64 checksum of the payload, then the payload wgpu gave.
//!   A file that fails the checksum is ignored; wgpu checks the payload's own header.
//! - Failure never fails training: every error (unreadable file, a cache wgpu refuses, an
//!   error while building with it, an unwritable directory) falls back to building without
//!   the cache and is only recorded in [`last_status`].
//! - Writes are atomic: a temporary file in the same directory, then a rename.
//! - On the web (wasm32) there is no cache: [`CacheStatus::Unsupported`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Environment variable: `off`, `0` or `false` disables the cache; another non-empty value is
/// the directory to keep it in.
pub const CACHE_ENV: &str = "WGTRAIN_PIPELINE_CACHE";

const MAGIC: &[u8; 8] = b"WGTRPC01";
const HEADER: usize = 16;

static DISABLED: AtomicBool = AtomicBool::new(false);
static LAST: Mutex<Option<CacheStatus>> = Mutex::new(None);
static DIRECTORY: Mutex<Option<PathBuf>> = Mutex::new(None);

/// What the most recent pipeline build did with the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// Turned off by [`set_enabled`] or `WGTRAIN_PIPELINE_CACHE=off`.
    Disabled,
    /// The device lacks `PIPELINE_CACHE`, the API has no cache key, or no cache directory exists.
    Unsupported,
    /// No usable file was found: pipelines were compiled and the cache was written.
    Miss {
        /// The cache file.
        path: PathBuf,
    },
    /// A cache file was loaded and the pipelines were built with it (wgpu itself may still
    /// discard data from an older driver and start empty; the file is then rewritten).
    Hit {
        /// The cache file.
        path: PathBuf,
        /// Its payload size.
        bytes: usize,
    },
    /// Something went wrong; the pipelines were built without (or despite) the cache.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// Turns the cache on or off for pipeline builds in this process (on by default, unless
/// `WGTRAIN_PIPELINE_CACHE=off`). The bench uses it to time a cold start without the cache.
///
/// Returns the previous process setting.
///
/// ```
/// use wgtrain::backend::gpu::pipeline_cache;
/// let before = pipeline_cache::set_enabled(false);
/// assert!(!pipeline_cache::is_enabled());
/// pipeline_cache::set_enabled(before);
/// ```
pub fn set_enabled(on: bool) -> bool {
    !DISABLED.swap(!on, Ordering::SeqCst)
}

/// Whether pipeline builds use the cache (the process setting and the environment).
pub fn is_enabled() -> bool {
    !DISABLED.load(Ordering::SeqCst) && !env_disables(std::env::var(CACHE_ENV).ok().as_deref())
}

fn env_disables(value: Option<&str>) -> bool {
    value.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "off" | "0" | "false" | "no"))
}

/// What the most recent pipeline build in this process did with the cache.
pub fn last_status() -> Option<CacheStatus> {
    LAST.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn record(status: CacheStatus) {
    *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
}

/// Keeps the cache in `dir` for this process instead of the directory the environment names
/// (None goes back to the environment). Tests use it to work on a private directory.
pub fn set_directory(dir: Option<PathBuf>) {
    *DIRECTORY.lock().unwrap_or_else(|p| p.into_inner()) = dir;
}

/// The cache directory ([`set_directory`], else the environment), without creating it.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = DIRECTORY.lock().unwrap_or_else(|p| p.into_inner()).clone() {
        return Some(dir);
    }
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    dir_from(var(CACHE_ENV), var("XDG_CACHE_HOME"), var("HOME"))
}

fn dir_from(explicit: Option<PathBuf>, xdg: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    match explicit {
        Some(p) if !env_disables(p.to_str()) => return Some(p),
        _ => {}
    }
    xdg.map(|x| x.join("wgtrain"))
        .or_else(|| home.map(|h| h.join(".cache").join("wgtrain")))
}

/// FNV-1a, 64 bits: a small, stable checksum and fingerprint.
pub(crate) fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(seed, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The FNV-1a offset basis, to start a fingerprint.
pub(crate) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The cache file for an adapter and a kernel set, or None where the API has no cache key.
pub fn cache_file(info: &wgpu::AdapterInfo, kernels_fingerprint: u64) -> Option<PathBuf> {
    let key = wgpu::util::pipeline_cache_key(info)?;
    let mut h = fnv1a(kernels_fingerprint, info.driver.as_bytes());
    h = fnv1a(h, info.driver_info.as_bytes());
    h = fnv1a(h, env!("CARGO_PKG_VERSION").as_bytes());
    Some(cache_dir()?.join(format!("{key}_{h:016x}.bin")))
}

/// A cache opened for one pipeline build.
pub(crate) struct OpenCache {
    pub cache: wgpu::PipelineCache,
    path: PathBuf,
    loaded: Option<(usize, u64)>,
}

/// Reads our file format: the payload, when the magic and checksum hold.
fn decode(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return None;
    }
    let sum = u64::from_le_bytes(bytes[8..16].try_into().ok()?);
    let payload = &bytes[HEADER..];
    (fnv1a(FNV_START, payload) == sum).then_some(payload)
}

fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&fnv1a(FNV_START, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Runs `f` inside validation, out-of-memory and internal error scopes and returns the first
/// error caught, so a refused cache is reported here instead of poisoning the device.
pub(crate) fn catching<T>(device: &wgpu::Device, f: impl FnOnce() -> T) -> (T, Option<wgpu::Error>) {
    let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
    let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let value = f();
    let errors = [validation.pop(), memory.pop(), internal.pop()];
    let first = errors.into_iter().find_map(pollster::block_on);
    (value, first)
}

/// Opens the cache for `device` when it is enabled and supported, loading the file if a
/// valid one exists. Records the status when it returns None.
pub(crate) fn open(device: &wgpu::Device, kernels_fingerprint: u64) -> Option<OpenCache> {
    // A web page has no cache directory, and WebGPU no pipeline cache (nor could a build wait
    // for the error scopes that check one).
    if cfg!(target_arch = "wasm32") {
        record(CacheStatus::Unsupported);
        return None;
    }
    if !is_enabled() {
        record(CacheStatus::Disabled);
        return None;
    }
    let info = device.adapter_info();
    let path = match cache_file(&info, kernels_fingerprint) {
        Some(p) if device.features().contains(wgpu::Features::PIPELINE_CACHE) => p,
        _ => {
            record(CacheStatus::Unsupported);
            return None;
        }
    };
    let file = std::fs::read(&path).ok();
    let payload = file.as_deref().and_then(decode);
    let descriptor = wgpu::PipelineCacheDescriptor {
        label: Some("wgtrain pipelines"),
        data: payload,
        fallback: true,
    };
    // SAFETY: `data` is either None or a payload that `save` below wrote from
    // `PipelineCache::get_data` (the magic and checksum prove it is that file, unaltered), and
    // the file name carries wgpu's cache key of this adapter; wgpu checks the payload's own
    // header (adapter, driver validation key, length) and falls back on a mismatch.
    let (cache, error) = catching(device, || unsafe { device.create_pipeline_cache(&descriptor) });
    if let Some(e) = error {
        record(CacheStatus::Failed {
            reason: format!("wgpu refused the cache {}: {e}", path.display()),
        });
        return None;
    }
    Some(OpenCache {
        cache,
        loaded: payload.map(|p| (p.len(), fnv1a(FNV_START, p))),
        path,
    })
}

impl OpenCache {
    /// Writes the cache after a successful build (when its contents changed) and records
    /// whether the build was a hit. Called again after a generated program is built with the
    /// same cache, so its pipeline is kept too.
    pub(crate) fn save(&self) {
        let status = match self.loaded {
            Some((bytes, _)) => CacheStatus::Hit {
                path: self.path.clone(),
                bytes,
            },
            None => CacheStatus::Miss {
                path: self.path.clone(),
            },
        };
        let Some(data) = self.cache.get_data() else {
            record(status);
            return;
        };
        let unchanged = self
            .loaded
            .is_some_and(|(len, sum)| len == data.len() && sum == fnv1a(FNV_START, &data));
        if unchanged {
            record(status);
            return;
        }
        match write_atomically(&self.path, &encode(&data)) {
            Ok(()) => {
                remove_stale(&self.path);
                record(status);
            }
            Err(e) => record(CacheStatus::Failed {
                reason: format!("writing {}: {e}", self.path.display()),
            }),
        }
    }
}

/// Writes the cache file through `io::write_atomic_io`, creating its directory first.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache file has no directory"))?;
    std::fs::create_dir_all(dir)?;
    crate::io::write_atomic_io(path, bytes)
}

/// Removes this adapter's cache files of other drivers or kernel sets (`KEY_<hash>.bin`).
fn remove_stale(current: &Path) {
    let (Some(dir), Some(name)) = (current.parent(), current.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let Some(prefix) = name.rfind('_').map(|i| &name[..=i]) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(other) = file.to_str() else { continue };
        if other != name && other.starts_with(prefix) && other.ends_with(".bin") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Records a failure found after the cache was opened (the build with it failed).
pub(crate) fn record_failure(reason: String) {
    record(CacheStatus::Failed { reason });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_format_round_trips_and_rejects_damage() {
        let file = encode(b"pipelines");
        assert_eq!(decode(&file), Some(&b"pipelines"[..]));
        let mut damaged = file.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&damaged), None);
        assert_eq!(decode(&file[..file.len() - 1]), None);
        assert_eq!(decode(b"short"), None);
    }

    #[test]
    fn directory_follows_the_environment_rules() {
        let p = PathBuf::from;
        assert_eq!(dir_from(Some(p("/c")), Some(p("/x")), Some(p("/h"))), Some(p("/c")));
        assert_eq!(dir_from(Some(p("off")), Some(p("/x")), None), Some(p("/x/wgtrain")));
        assert_eq!(dir_from(None, None, Some(p("/h"))), Some(p("/h/.cache/wgtrain")));
        assert_eq!(dir_from(None, None, None), None);
        assert!(env_disables(Some(" OFF ")));
        assert!(!env_disables(Some("/tmp/cache")));
        assert!(!env_disables(None));
    }

    #[test]
    fn stale_files_of_the_same_adapter_are_removed() {
        let dir = std::env::temp_dir().join(format!("wgtrain-cache-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["k_1_aaaa.bin", "k_1_bbbb.bin", "other_cccc.bin"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let current = dir.join("k_1_bbbb.bin");
        write_atomically(&current, b"new").unwrap();
        remove_stale(&current);
        assert!(!dir.join("k_1_aaaa.bin").exists());
        assert_eq!(std::fs::read(&current).unwrap(), b"new");
        assert!(dir.join("other_cccc.bin").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
