//! The machine's CPU matrix-product figure: ndarray's `general_mat_mul` (what the CPU
//! backend calls) on square f32 matrices, best of several repetitions. Issue 6 states the CPU
//! overhead budget against it.
//!
//! This file needs nothing but std and ndarray: `benches/training.rs` compiles it too (by
//! `#[path]`), so the bench and `wgtrain bench` measure the figure one way.

use std::time::Instant;

use ndarray::Array2;
use ndarray::linalg::general_mat_mul;

/// A measured product rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DotFigure {
    /// Side of the square product (n × n times n × n).
    pub n: usize,
    /// Best GFLOP/s (2·n³ per product).
    pub gflops: f64,
    /// Threads matrixmultiply uses (`MATMUL_NUM_THREADS`, else the physical cores, at most 4).
    pub threads: usize,
}

/// Threads ndarray's matrixmultiply will use, by its own rule.
pub fn matmul_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let asked = std::env::var("MATMUL_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok());
    asked.unwrap_or(cores).clamp(1, 4)
}

/// Measures `general_mat_mul` on n × n matrices for about `budget_s` seconds (at least 3
/// products) and returns the best rate.
///
pub fn measure_dot(n: usize, budget_s: f64) -> DotFigure {
    let n = n.max(1);
    let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 13) as f32 / 13.0);
    let b = Array2::from_shape_fn((n, n), |(i, j)| ((i * 5 + j * 11) % 17) as f32 / 17.0);
    let mut c = Array2::<f32>::zeros((n, n));
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut runs = 0;
    while runs < 3 || start.elapsed().as_secs_f64() < budget_s {
        let t = Instant::now();
        general_mat_mul(1.0, &a, &b, 0.0, &mut c);
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
    }
    std::hint::black_box(&c);
    DotFigure {
        n,
        gflops: 2.0 * (n as f64).powi(3) / best.max(1e-12) / 1e9,
        threads: matmul_threads(),
    }
}
