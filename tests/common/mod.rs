//! Shared test helpers: the one `Tolerance` type, comparisons that report the first bad index,
//! both values and the number of mismatches, a seeded generator, and the per-device runner
//! (`harness`). `gpu()` remains for the command's unit tests, which run under the standard
//! harness (no adapter: `None`, or a failure under `WGTRAIN_REQUIRE_GPU=1`).

#![allow(dead_code)]

pub mod harness;

use wgtrain::backend::GpuBackend;

/// How close two values must be: |a − b| ≤ abs + rel·max(|a|, |b|).
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rel: f32,
    pub abs: f32,
}

impl Tolerance {
    pub const fn new(rel: f32, abs: f32) -> Self {
        Tolerance { rel, abs }
    }

    pub fn accepts(&self, a: f32, b: f32) -> bool {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        if a == b {
            return true;
        }
        (a - b).abs() <= self.abs + self.rel * a.abs().max(b.abs())
    }
}

/// Largest relative error |a − b| / max(|a|, |b|, floor) over the pairs.
pub fn max_rel_error(actual: &[f32], expected: &[f32], floor: f32) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(&a, &b)| (a - b).abs() / a.abs().max(b.abs()).max(floor))
        .fold(0.0, f32::max)
}

/// Asserts `actual` ≈ `expected` elementwise; on failure reports the first bad index, both
/// values and how many elements mismatch.
#[track_caller]
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], tol: Tolerance) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let bad: Vec<usize> = (0..actual.len())
        .filter(|&i| !tol.accepts(actual[i], expected[i]))
        .collect();
    if let Some(&first) = bad.first() {
        panic!(
            "{what}: {} of {} values differ beyond {tol:?}; first at index {first}: got {} expected {}",
            bad.len(),
            actual.len(),
            actual[first],
            expected[first]
        );
    }
}

/// A small seeded generator (xorshift64*), so tests need no randomness crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// Every Dense layer's kernel then bias, one flat vector (the layout of the parameters).
pub fn flatten_weights(weights: Vec<wgtrain::model::LayerWeights>) -> Vec<f32> {
    weights
        .into_iter()
        .flat_map(|(k, b)| k.into_iter().chain(b.into_iter().flatten()))
        .collect()
}

/// Number of fuzz cases: `WGTRAIN_FUZZ_CASES` when set (for long runs), else `default`.
pub fn fuzz_cases(default: u32) -> u32 {
    std::env::var("WGTRAIN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A GPU backend, or `None` with a loud message when no adapter exists. With
/// `WGTRAIN_REQUIRE_GPU=1` a missing adapter fails the test instead.
pub fn gpu() -> Option<GpuBackend> {
    match GpuBackend::new() {
        Ok(gpu) => Some(gpu),
        Err(e) => {
            if std::env::var("WGTRAIN_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("WGTRAIN_REQUIRE_GPU=1 but no GPU backend could be created: {e}");
            }
            // Written to the stderr handle itself, not through eprintln!, so the test harness's
            // output capture cannot hide the skip.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "\n*** SKIPPING GPU TEST: no GPU backend ({e}) ***\n");
            None
        }
    }
}
