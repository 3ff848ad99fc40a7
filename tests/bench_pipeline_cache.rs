//! The on-disk pipeline cache never fails training: a damaged file, a file wgpu refuses and a
//! disabled cache all leave a working backend. One test (the cache status is process-wide, so
//! nothing else may build pipelines concurrently in this binary), on a private directory (so
//! a concurrent run cannot touch its files, and the user's cache is left alone). It needs a
//! GPU: without one it is reported as ignored (the harness of tests/common/harness.rs).

mod common;

use wgtrain::backend::GpuBackend;
use wgtrain::backend::gpu::pipeline_cache::{self, CacheStatus};
use wgtrain::model::{Dense, FitOptions, Metric, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

/// Trains two epochs of a tiny model on a fresh GPU backend and returns the last loss.
fn train_on_gpu() -> f32 {
    let backend = GpuBackend::new().expect("GPU backend despite the cache");
    let mut model = Sequential::new(2)
        .add(Dense::new(4, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile_on(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[Metric::Accuracy],
            Box::new(backend),
        )
        .expect("compile");
    let x = ndarray::Array2::from_shape_fn((16, 2), |(i, j)| ((i * 3 + j) % 5) as f32 / 5.0);
    let y = ndarray::Array2::from_shape_fn((16, 1), |(i, _)| (i % 2) as f32);
    let history = model.fit(x.view(), y.view(), FitOptions::new(2, 4)).expect("fit");
    history.last("loss").expect("a loss")
}

/// Our file format: magic, FNV-1a-64 of the payload, payload.
fn wrap(payload: &[u8]) -> Vec<u8> {
    let sum = payload.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut out = b"WGTRPC01".to_vec();
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn main() -> std::process::ExitCode {
    let t = common::harness::Tests::new();
    register!(t, gpu: cache_failures_fall_back_to_building_without_it).run()
}

fn cache_failures_fall_back_to_building_without_it() {
    let dir = tempfile::tempdir().unwrap();
    pipeline_cache::set_directory(Some(dir.path().to_path_buf()));
    let before = pipeline_cache::set_enabled(true);
    assert!(train_on_gpu().is_finite());
    let path = match pipeline_cache::last_status() {
        Some(CacheStatus::Hit { path, .. } | CacheStatus::Miss { path }) => path,
        other => {
            // No PIPELINE_CACHE on this adapter, or no cache directory: nothing to damage.
            eprintln!("pipeline cache not in use here ({other:?}); checking the disabled path only");
            pipeline_cache::set_enabled(false);
            assert!(train_on_gpu().is_finite());
            assert_eq!(pipeline_cache::last_status(), Some(CacheStatus::Disabled));
            pipeline_cache::set_enabled(before);
            pipeline_cache::set_directory(None);
            return;
        }
    };
    assert!(
        path.starts_with(dir.path()) && path.exists(),
        "{} written",
        path.display()
    );
    let good = std::fs::read(&path).unwrap();

    // Garbage: fails our checksum, so it is ignored and rewritten.
    std::fs::write(&path, b"not a pipeline cache").unwrap();
    assert!(train_on_gpu().is_finite());
    assert!(
        matches!(pipeline_cache::last_status(), Some(CacheStatus::Miss { .. })),
        "{:?}",
        pipeline_cache::last_status()
    );
    assert_eq!(&std::fs::read(&path).unwrap()[..8], b"WGTRPC01");

    // A well-formed file whose payload claims another adapter: wgpu refuses it, and the
    // pipelines are built without a cache.
    let mut payload = good[16..].to_vec();
    if payload.len() > 20 {
        payload[17] ^= 0xFF;
        std::fs::write(&path, wrap(&payload)).unwrap();
        assert!(train_on_gpu().is_finite());
        let status = pipeline_cache::last_status();
        assert!(matches!(status, Some(CacheStatus::Failed { .. })), "{status:?}");
    }

    // A truncated payload behind a valid checksum.
    std::fs::write(&path, wrap(&good[16..good.len() / 2])).unwrap();
    assert!(train_on_gpu().is_finite());

    // Disabled: not read, not written.
    std::fs::remove_file(&path).ok();
    pipeline_cache::set_enabled(false);
    assert!(train_on_gpu().is_finite());
    assert_eq!(pipeline_cache::last_status(), Some(CacheStatus::Disabled));
    assert!(!path.exists());

    // Back on: written again, then read back.
    pipeline_cache::set_enabled(true);
    assert!(train_on_gpu().is_finite());
    assert!(path.exists());
    assert!(train_on_gpu().is_finite());
    let status = pipeline_cache::last_status();
    assert!(matches!(status, Some(CacheStatus::Hit { .. })), "{status:?}");
    pipeline_cache::set_enabled(before);
    pipeline_cache::set_directory(None);
}
