//! How fast one training step's matrix products alone run through ndarray's
//! `general_mat_mul`: the rate the CPU backend's step is measured against (issue 6 item 4).

use std::time::Instant;

use ndarray::Array2;
use ndarray::linalg::general_mat_mul;

use super::Workload;

/// Seconds the matrix products of one training step of `workload` take through ndarray's
/// `general_mat_mul` alone, best of repetitions for about `budget_s`: per Dense layer the
/// forward x·W, the weight gradient xᵀ·dz and, past the first layer, dz·Wᵀ, with the same
/// transposed views the CPU backend uses. `batch` over it is the throughput a step made only
/// of its products would reach: the yardstick of the CPU overhead budget (issue 6 item 4).
///
pub fn step_products_seconds(workload: &Workload, budget_s: f64) -> f64 {
    let b = workload.batch;
    let mut products = Vec::new();
    let mut width = workload.input;
    for &(units, _) in &workload.layers {
        products.push((width, units));
        width = units;
    }
    let fill = |r: usize, c: usize| Array2::from_shape_fn((r, c), |(i, j)| ((i * 3 + j * 7) % 11) as f32 / 11.0);
    // Per layer: x [B, in], W [in, out], dz [B, out] and the outputs y, dW, dx.
    let mut tensors: Vec<[Array2<f32>; 6]> = products
        .iter()
        .map(|&(i, o)| {
            [
                fill(b, i),
                fill(i, o),
                fill(b, o),
                Array2::zeros((b, o)),
                Array2::zeros((i, o)),
                Array2::zeros((b, i)),
            ]
        })
        .collect();
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut runs = 0;
    while runs < 3 || start.elapsed().as_secs_f64() < budget_s {
        let t = Instant::now();
        for (layer, [x, w, dz, y, dw, dx]) in tensors.iter_mut().enumerate() {
            general_mat_mul(1.0, &*x, &*w, 0.0, y);
            general_mat_mul(1.0, &x.t(), &*dz, 0.0, dw);
            if layer > 0 {
                general_mat_mul(1.0, &*dz, &w.t(), 0.0, dx);
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
    }
    std::hint::black_box(&tensors);
    best
}

#[cfg(test)]
mod tests {
    use super::{Workload, step_products_seconds};

    #[test]
    fn the_seed_step_products_take_time() {
        assert!(step_products_seconds(&Workload::seed(), 0.01) > 0.0);
    }
}
