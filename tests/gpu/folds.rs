//! The folds that save the layered step its dispatches, GPU against CPU, and on the CPU against
//! the unfolded operations they replace: A's stored rows read through an index (x·W and xᵀ·dz
//! of a first layer reading the shuffled batch from the resident data, with and without the
//! ones row), the derivative epilogue of the dx product (every element-wise activation), and
//! the loss head reading targets and sample weights through the permutation.

use std::cell::RefCell;

use super::parity::*;
use crate::common::harness::gpu_backend;
use crate::common::{Rng, Tolerance, assert_close};
use proptest::prelude::*;
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, GatherRowsOp, IndexedRows, LossOp, MatmulOp, ScoreOp, metric_slot,
};
use wgtrain::nn::{ALL_ACTIVATIONS, Accuracy, Activation, Loss};

fn matmul_tol(k: usize) -> Tolerance {
    Tolerance::new(1e-4, 2e-7 * k as f32 + 1e-6)
}

/// `first + count` indices into a chunk of `src_rows` rows starting at whole-set row
/// `row_base`: mostly rows of the chunk in random order, some outside it on either side
/// (which read as zeros).
fn chunk_indices(rng: &mut Rng, first: usize, count: usize, src_rows: usize, row_base: usize) -> Vec<u32> {
    (0..first + count)
        .map(|_| match rng.below(12) {
            0 => (row_base + src_rows + rng.below(3)) as u32,
            1 if row_base > 0 => (row_base - 1) as u32,
            _ => (row_base + rng.below(src_rows)) as u32,
        })
        .collect()
}

/// The shapes of one indexed product: `count` stored rows read from a source of `src_rows`.
#[derive(Clone, Copy, Debug)]
struct IndexedCase {
    count: usize,
    src_rows: usize,
    other: usize,
    n: usize,
    trans_a: bool,
    ones: bool,
    first: usize,
    row_base: usize,
}

/// The indexed product on `b`, and (when `gather`) the same product of rows gathered first.
fn run_indexed(b: &mut dyn Backend, c: IndexedCase, a: &[f32], bm: &[f32], idx: &[u32], gather: bool) -> Vec<f32> {
    let src = b.upload(c.src_rows, c.other, a).unwrap();
    let indices = b.upload_u32(idx).unwrap();
    // op(A) is [count, other] (x·W) or [other, count] (xᵀ·dz, the stored rows are K).
    let (m, k) = if c.trans_a {
        (c.other, c.count)
    } else {
        (c.count, c.other)
    };
    let bt = b.upload(k, c.n, bm).unwrap();
    let out = b.zeros(m + usize::from(c.ones), c.n).unwrap();
    let op = MatmulOp::new(src, bt, out)
        .transposed(c.trans_a, false)
        .ones_row(c.ones);
    if gather {
        let rows = b.zeros(c.count, c.other).unwrap();
        b.gather_rows(&GatherRowsOp::new(src, indices, c.first, rows).chunk(c.row_base, true))
            .unwrap();
        b.matmul(&MatmulOp { a: rows, ..op }).unwrap();
    } else {
        let through = IndexedRows::new(indices, c.first, c.count).row_base(c.row_base);
        b.matmul(&op.a_rows_through(through)).unwrap();
    }
    b.read(out).unwrap()
}

fn check_indexed(gpu: &mut dyn Backend, c: IndexedCase, seed: u64, worst: &Worst) {
    let mut rng = Rng::new(seed);
    let a = rng.vec(c.src_rows * c.other, -1.0, 1.0);
    let k = if c.trans_a { c.count } else { c.other };
    let bm = rng.vec(k * c.n, -1.0, 1.0);
    let idx = chunk_indices(&mut rng, c.first, c.count, c.src_rows, c.row_base);
    let g = run_indexed(gpu, c, &a, &bm, &idx, false);
    let cpu = run_indexed(&mut CpuBackend::new(), c, &a, &bm, &idx, false);
    let gathered = run_indexed(&mut CpuBackend::new(), c, &a, &bm, &idx, true);
    worst.see(&g, &cpu);
    assert_close(&format!("{c:?}: gpu against cpu"), &g, &cpu, matmul_tol(k));
    assert_close(
        &format!("{c:?}: cpu against gather + matmul"),
        &cpu,
        &gathered,
        matmul_tol(k),
    );
}

/// x·W and xᵀ·dz with x's rows read through an index, with and without the ones row, over
/// shapes that are not tile multiples, from chunks that start past row 0.
pub fn matmul_with_a_rows_through_an_index_matches_cpu_and_the_gather() {
    let gpu = RefCell::new(gpu_backend());
    let worst = Worst::new("matmul, A rows through an index");
    // The first layer's shapes of the seed and teacher workloads, both forms, in every
    // variant (each resolves the indexed rows its own way).
    let variants = gpu.borrow().matmul_variants();
    for &variant in &variants {
        gpu.borrow_mut().force_matmul_variant(Some(variant)).unwrap();
        for (count, other, n) in [(10, 1, 10), (128, 784, 256), (1, 1, 1), (130, 9, 131)] {
            for (trans_a, ones) in [(false, false), (true, true), (true, false)] {
                let c = IndexedCase {
                    count,
                    src_rows: count * 3 + 1,
                    other,
                    n,
                    trans_a,
                    ones,
                    first: 7,
                    row_base: 0,
                };
                check_indexed(&mut *gpu.borrow_mut(), c, (count * 13 + other) as u64, &worst);
            }
        }
    }
    gpu.borrow_mut().force_matmul_variant(None).unwrap();
    runner(40)
        .run(
            &(
                dim(),
                dim(),
                dim(),
                any::<bool>(),
                any::<bool>(),
                0usize..20,
                0usize..5,
                any::<u64>(),
            ),
            |(count, other, n, trans_a, ones, extra, row_base, seed)| {
                let c = IndexedCase {
                    count,
                    src_rows: count + extra,
                    other,
                    n,
                    trans_a,
                    ones,
                    first: (seed % 17) as usize,
                    row_base,
                };
                check_indexed(&mut *gpu.borrow_mut(), c, seed, &worst);
                Ok(())
            },
        )
        .unwrap();
}

/// dz = (dy·Wᵀ) ⊙ act′(z) in the product's epilogue, for every element-wise activation: GPU
/// against CPU, and the CPU against the product followed by `activation_backward`.
pub fn matmul_derivative_epilogue_every_activation_matches_cpu() {
    let gpu = RefCell::new(gpu_backend());
    let worst = Worst::new("matmul derivative epilogue");
    let elementwise: Vec<Activation> = ALL_ACTIVATIONS.into_iter().filter(|a| a.is_elementwise()).collect();
    let variants = gpu.borrow().matmul_variants();
    runner(40)
        .run(
            &(
                dim(),
                dim(),
                dim(),
                0..elementwise.len(),
                0..variants.len(),
                any::<u64>(),
            ),
            |(m, k, n, ai, vi, seed)| {
                let act = elementwise[ai];
                gpu.borrow_mut().force_matmul_variant(Some(variants[vi])).unwrap();
                let mut rng = Rng::new(seed);
                // dy [m, k], W [n, k] (dx = dy·Wᵀ is [m, n]), z [m, n] around the kinks.
                let (dy, w, z) = (
                    rng.vec(m * k, -1.0, 1.0),
                    rng.vec(n * k, -1.0, 1.0),
                    rng.vec(m * n, -3.0, 3.0),
                );
                let run = |b: &mut dyn Backend, separate: bool| {
                    let (dyt, wt, zt) = (
                        b.upload(m, k, &dy).unwrap(),
                        b.upload(n, k, &w).unwrap(),
                        b.upload(m, n, &z).unwrap(),
                    );
                    let dz = b.zeros(m, n).unwrap();
                    let product = MatmulOp::new(dyt, wt, dz).transposed(false, true);
                    if separate {
                        let dx = b.zeros(m, n).unwrap();
                        b.matmul(&MatmulOp { out: dx, ..product }).unwrap();
                        b.activation_backward(&ActivationBackwardOp::new(dx, zt, act).dz(dz))
                            .unwrap();
                    } else {
                        b.matmul(&product.derivative((act, zt))).unwrap();
                    }
                    b.read(dz).unwrap()
                };
                let g = run(&mut *gpu.borrow_mut(), false);
                let c = run(&mut CpuBackend::new(), false);
                let separate = run(&mut CpuBackend::new(), true);
                worst.see(&g, &c);
                assert_close(
                    &format!("{act:?} {m}x{k}x{n} ({})", variants[vi]),
                    &g,
                    &c,
                    matmul_tol(k),
                );
                assert_close(
                    &format!("{act:?} {m}x{k}x{n}: cpu against matmul + activation_backward"),
                    &c,
                    &separate,
                    matmul_tol(k),
                );
                Ok(())
            },
        )
        .unwrap();
}

/// The loss head's kernel reading targets and sample weights through the permutation (rows
/// outside the chunk read as zero targets of weight 0), with the output derivative and the
/// metrics (of pred, or of an output of their own, which the GPU then scores in a second
/// pass): GPU against CPU, and the CPU against gathering the targets and weights first.
pub fn score_with_targets_through_an_index_matches_cpu_and_the_gather() {
    let gpu = RefCell::new(gpu_backend());
    let cases = [
        (
            Loss::BinaryCrossentropy { from_logits: false },
            Accuracy::Binary { threshold: 0.5 },
        ),
        (Loss::MeanSquaredError, Accuracy::Binary { threshold: 0.5 }),
        (
            Loss::SparseCategoricalCrossentropy { from_logits: true },
            Accuracy::SparseCategorical,
        ),
        (
            Loss::CategoricalCrossentropy { from_logits: false },
            Accuracy::Categorical,
        ),
    ];
    runner(32)
        .run(
            &(
                0..cases.len(),
                1usize..300,
                1usize..6,
                0usize..30,
                0usize..4,
                any::<bool>(),
                any::<u64>(),
            ),
            |(ci, rows, cols, extra, row_base, own_output, seed)| {
                let (loss, accuracy) = cases[ci];
                let sparse = loss.sparse_targets();
                let cols = if matches!(loss, Loss::BinaryCrossentropy { .. } | Loss::MeanSquaredError) {
                    cols.min(2)
                } else {
                    cols.max(2)
                };
                let tw = if sparse { 1 } else { cols };
                let mut rng = Rng::new(seed);
                let src_rows = rows + extra;
                let first = (seed % 11) as usize;
                let idx = chunk_indices(&mut rng, first, rows, src_rows, row_base);
                let z = rng.vec(rows * cols, -3.0, 3.0);
                let pred: Vec<f32> = match loss {
                    Loss::SparseCategoricalCrossentropy { .. } => z.clone(),
                    Loss::CategoricalCrossentropy { .. } => z.iter().map(|v| v.abs() + 0.01).collect(),
                    _ => z.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
                };
                let targets: Vec<f32> = (0..src_rows * tw)
                    .map(|_| {
                        if sparse {
                            rng.below(cols) as f32
                        } else {
                            rng.below(2) as f32
                        }
                    })
                    .collect();
                let weights = rng.vec(src_rows, 0.0, 2.0);
                // An output other than pred: pred moved, so metrics of the wrong one differ.
                let output: Vec<f32> = pred.iter().map(|v| v * 0.5 + 0.2).collect();
                // The output derivative where the loss reads probabilities (sigmoid outputs).
                let derivative = matches!(loss, Loss::BinaryCrossentropy { .. } | Loss::MeanSquaredError);
                let run = |b: &mut dyn Backend, gather: bool| {
                    let predt = b.upload(rows, cols, &pred).unwrap();
                    let outt = if own_output {
                        b.upload(rows, cols, &output).unwrap()
                    } else {
                        predt
                    };
                    let zt = b.upload(rows, cols, &z).unwrap();
                    let tt = b.upload(src_rows, tw, &targets).unwrap();
                    let wt = b.upload(src_rows, 1, &weights).unwrap();
                    let it = b.upload_u32(&idx).unwrap();
                    let (row_loss, grad) = (b.zeros(rows, 1).unwrap(), b.zeros(rows, cols).unwrap());
                    let acc = b.zeros(1, metric_slot::COUNT).unwrap();
                    let op = if gather {
                        let (tg, wg) = (b.zeros(rows, tw).unwrap(), b.zeros(rows, 1).unwrap());
                        let g = |src, out| GatherRowsOp::new(src, it, first, out).chunk(row_base, true);
                        b.gather_rows(&g(tt, tg)).unwrap();
                        b.gather_rows(&g(wt, wg)).unwrap();
                        LossOp::new(loss, predt, tg, row_loss).weights(wg)
                    } else {
                        let through = IndexedRows::new(it, first, rows).row_base(row_base);
                        LossOp::new(loss, predt, tt, row_loss).weights(wt).target_rows(through)
                    };
                    let mut score = ScoreOp::new(op.grad(grad), outt, acc).accuracy(accuracy);
                    if derivative {
                        score = score.derivative(Activation::Sigmoid, zt);
                    }
                    b.score(&score).unwrap();
                    vec![b.read(row_loss).unwrap(), b.read(grad).unwrap(), b.read(acc).unwrap()]
                };
                let g = run(&mut *gpu.borrow_mut(), false);
                let c = run(&mut CpuBackend::new(), false);
                let gathered = run(&mut CpuBackend::new(), true);
                let tol = Tolerance::new(1e-4, 1e-5);
                let what = format!("{loss:?} {rows}x{cols} from {src_rows} rows");
                for (i, name) in ["row losses", "gradient", "metric sums"].into_iter().enumerate() {
                    // The metric sums add `rows` terms in different orders.
                    let tol = if i == 2 { Tolerance::new(1e-4, 1e-3) } else { tol };
                    assert_close(&format!("{what}: {name}"), &g[i], &c[i], tol);
                    assert_close(&format!("{what}: {name}, cpu against gather"), &c[i], &gathered[i], tol);
                }
                Ok(())
            },
        )
        .unwrap();
}
