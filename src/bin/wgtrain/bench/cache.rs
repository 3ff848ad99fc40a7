//! Cold start with and without the on-disk pipeline cache: the time to open a GPU backend
//! (device, shader modules, pipelines), median of a few opens each way. Only the pipeline
//! build depends on the cache; plan build and the first epoch are the same either way.

use std::time::Instant;

use super::measure::median;
use wgtrain::Result;
use wgtrain::backend::gpu::pipeline_cache::{self, CacheStatus};
use wgtrain::backend::gpu::{AdapterChoice, GpuBackend};

/// Backend open times with and without the pipeline cache.
#[derive(Clone, Debug)]
pub struct CacheFigures {
    /// Median seconds to open the GPU backend with the cache turned off.
    pub without_s: f64,
    /// Median seconds with the cache on and its file already written.
    pub with_s: f64,
    /// What the last open with the cache did (hit, miss, unsupported …).
    pub status: String,
    /// The cache file, when the adapter supports one.
    pub path: Option<String>,
}

fn describe(status: Option<CacheStatus>) -> (String, Option<String>) {
    match status {
        None => ("unknown".into(), None),
        Some(CacheStatus::Disabled) => ("disabled (WGTRAIN_PIPELINE_CACHE=off)".into(), None),
        Some(CacheStatus::Unsupported) => ("unsupported by this adapter".into(), None),
        Some(CacheStatus::Miss { path }) => ("miss (written)".into(), Some(path.display().to_string())),
        Some(CacheStatus::Hit { path, bytes }) => (format!("hit, {bytes} bytes"), Some(path.display().to_string())),
        Some(CacheStatus::Failed { reason }) => (format!("failed: {reason}"), None),
    }
}

fn time_open(choice: &AdapterChoice) -> Result<f64> {
    let start = Instant::now();
    let backend = GpuBackend::with_adapter(choice)?;
    let seconds = start.elapsed().as_secs_f64();
    drop(backend);
    Ok(seconds)
}

/// Opens the backend `repeats` times with the cache off, once to write the cache, then
/// `repeats` times with it on. Restores the previous setting.
pub(crate) fn measure_cache(choice: &AdapterChoice, repeats: usize) -> Result<CacheFigures> {
    let before = pipeline_cache::set_enabled(true);
    let run = || -> Result<CacheFigures> {
        pipeline_cache::set_enabled(false);
        let without: Vec<f64> = (0..repeats.max(1)).map(|_| time_open(choice)).collect::<Result<_>>()?;
        pipeline_cache::set_enabled(true);
        time_open(choice)?;
        let with: Vec<f64> = (0..repeats.max(1)).map(|_| time_open(choice)).collect::<Result<_>>()?;
        let (status, path) = describe(pipeline_cache::last_status());
        Ok(CacheFigures {
            without_s: median(&without),
            with_s: median(&with),
            status,
            path,
        })
    };
    let result = run();
    pipeline_cache::set_enabled(before);
    result
}
