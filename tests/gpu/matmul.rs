//! Matrix products on the GPU against the CPU: every transpose form, views at odd offsets,
//! the fused bias + activation epilogue, over random shapes that are not tile multiples.

use std::cell::RefCell;

use super::parity::*;
use crate::common::harness::gpu_backend;
use crate::common::{Rng, Tolerance, assert_close};
use proptest::prelude::*;
use wgtrain::backend::{Backend, CpuBackend, MatmulOp};
use wgtrain::nn::ALL_ACTIVATIONS;

/// Matmul tolerance: f32 sums of k products in different orders.
fn matmul_tol(k: usize) -> Tolerance {
    Tolerance::new(1e-4, 2e-7 * k as f32 + 1e-6)
}

#[allow(clippy::too_many_arguments)]
fn run_matmul(
    b: &mut dyn Backend,
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    a: &[f32],
    bm: &[f32],
) -> Vec<f32> {
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    let at = b.upload(ar, ac, a).unwrap();
    let bt = b.upload(br, bc, bm).unwrap();
    let out = b.zeros(m, n).unwrap();
    b.matmul(&MatmulOp::new(at, bt, out).transposed(ta, tb)).unwrap();
    b.read(out).unwrap()
}

pub fn matmul_every_transpose_form_matches_cpu() {
    let gpu = gpu_backend();
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("matmul");
    let check = |m: usize, k: usize, n: usize, ta: bool, tb: bool, seed: u64| {
        let mut rng = Rng::new(seed);
        let (a, bm) = (rng.vec(m * k, -1.0, 1.0), rng.vec(k * n, -1.0, 1.0));
        let g = run_matmul(&mut *gpu.borrow_mut(), m, k, n, ta, tb, &a, &bm);
        let c = run_matmul(&mut CpuBackend::new(), m, k, n, ta, tb, &a, &bm);
        worst.see(&g, &c);
        assert_close(&format!("matmul {m}x{k}x{n} ta={ta} tb={tb}"), &g, &c, matmul_tol(k));
    };
    for &(m, k, n) in &[
        (1, 1, 1),
        (7, 65, 3),
        (64, 64, 64),
        (4, 4, 4),
        (1, 257, 1),
        (129, 3, 131),
    ] {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            check(m, k, n, ta, tb, (m * 31 + k * 7 + n) as u64);
        }
    }
    // The large shape, once per transpose form used in training.
    for (ta, tb) in [(false, false), (false, true), (true, false)] {
        check(1000, 784, 256, ta, tb, 99);
    }
    runner(48)
        .run(
            &(dim(), dim(), dim(), any::<bool>(), any::<bool>(), any::<u64>()),
            |(m, k, n, ta, tb, seed)| {
                check(m, k, n, ta, tb, seed);
                Ok(())
            },
        )
        .unwrap();
}

pub fn matmul_on_views_at_odd_offsets_matches_cpu() {
    let mut gpu = gpu_backend();
    // Operands that start at element offsets that are not multiples of 4 take the scalar path.
    let run = |b: &mut dyn Backend| {
        let mut rng = Rng::new(5);
        let (m, k, n) = (9, 12, 8);
        let big_a = b.upload(1, 3 + m * k, &rng.vec(3 + m * k, -1.0, 1.0)).unwrap();
        let big_b = b.upload(1, 5 + k * n, &rng.vec(5 + k * n, -1.0, 1.0)).unwrap();
        let big_out = b.zeros(1, 2 + m * n).unwrap();
        let a = big_a.view(3, m, k).unwrap();
        let bm = big_b.view(5, k, n).unwrap();
        let out = big_out.view(2, m, n).unwrap();
        b.matmul(&MatmulOp::new(a, bm, out)).unwrap();
        vec![b.read(big_out).unwrap()]
    };
    let (g, c) = both(&mut gpu, run);
    assert_close("matmul on views", &g[0], &c[0], matmul_tol(12));
    assert_eq!(g[0][..2], [0.0, 0.0], "elements before the view are untouched");
}

pub fn matmul_epilogue_every_activation_matches_cpu() {
    let gpu = gpu_backend();
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("matmul + bias + activation (y and z)");
    runner(32)
        .run(
            &(
                dim(),
                dim(),
                dim(),
                0..ALL_ACTIVATIONS.len(),
                any::<bool>(),
                any::<u64>(),
            ),
            |(m, k, n, ai, with_bias, seed)| {
                let act = ALL_ACTIVATIONS[ai];
                let mut rng = Rng::new(seed);
                let (a, w, bias) = (
                    rng.vec(m * k, -1.0, 1.0),
                    rng.vec(k * n, -1.0, 1.0),
                    rng.vec(n, -1.0, 1.0),
                );
                let run = |b: &mut dyn Backend| {
                    let (at, wt) = (b.upload(m, k, &a).unwrap(), b.upload(k, n, &w).unwrap());
                    let bt = with_bias.then(|| b.upload(1, n, &bias).unwrap());
                    let (y, z) = (b.zeros(m, n).unwrap(), b.zeros(m, n).unwrap());
                    b.matmul(&MatmulOp::new(at, wt, y).epilogue(bt, act, Some(z))).unwrap();
                    vec![b.read(y).unwrap(), b.read(z).unwrap()]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                for (name, i) in [("y", 0), ("z", 1)] {
                    worst.see(&g[i], &c[i]);
                    assert_close(&format!("{act:?} {name} {m}x{k}x{n}"), &g[i], &c[i], matmul_tol(k));
                }
                Ok(())
            },
        )
        .unwrap();
}
