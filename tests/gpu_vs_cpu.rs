//! Layer 2 of the tests (DESIGN.md §6): every GPU kernel against the CPU reference, forward
//! and backward, as property tests over random shapes that are not multiples of the tile
//! sizes (1 and odd primes included), plus fixed edge shapes. Each test prints the largest
//! relative error it saw (`cargo test --release --test gpu_vs_cpu -- --nocapture`).

mod common;

use std::cell::RefCell;

use common::{Rng, Tolerance, assert_close, max_rel_error};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, DropoutBackwardOp, DropoutOp, GatherRowsOp, GpuBackend, LossOp,
    MatmulOp, MetricsOp, OptimizerStepOp, SoftmaxBackwardOp, SoftmaxOp, Tensor, metric_slot,
};
use wgtrain::nn::{ALL_ACTIVATIONS, Accuracy, Activation, Loss, Optimizer};

/// Dimensions drawn for the property tests: 1, odd primes, tile edges ± 1 and random sizes.
fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(3),
        Just(7),
        Just(13),
        Just(63),
        Just(65),
        Just(67),
        1usize..150
    ]
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs `f` on both backends with the same inputs; returns (gpu, cpu) outputs.
fn both<F>(gpu: &mut GpuBackend, f: F) -> (Vec<Vec<f32>>, Vec<Vec<f32>>)
where
    F: Fn(&mut dyn Backend) -> Vec<Vec<f32>>,
{
    (f(gpu), f(&mut CpuBackend::new()))
}

/// Tracks the largest errors of one kernel and prints them at the end: elementwise relative
/// (with a floor of 1e-3, so values near zero do not dominate) and relative to the largest
/// magnitude of the output (what a matrix product's rounding scales with).
struct Worst(&'static str, RefCell<(f32, f32)>);

impl Worst {
    fn new(name: &'static str) -> Self {
        Worst(name, RefCell::new((0.0, 0.0)))
    }

    fn see(&self, gpu: &[f32], cpu: &[f32]) {
        let elementwise = max_rel_error(gpu, cpu, 1e-3);
        let scale = cpu.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-30);
        let max_abs = gpu.iter().zip(cpu).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        let mut w = self.1.borrow_mut();
        *w = (w.0.max(elementwise), w.1.max(max_abs / scale));
    }
}

impl Drop for Worst {
    fn drop(&mut self) {
        let (elementwise, scaled) = *self.1.borrow();
        println!(
            "largest error of {}: {elementwise:.3e} relative per element (floor 1e-3), {scaled:.3e} relative to the output's largest magnitude",
            self.0
        );
    }
}

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

#[test]
fn matmul_every_transpose_form_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
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

#[test]
fn matmul_on_views_at_odd_offsets_matches_cpu() {
    let Some(mut gpu) = common::gpu() else { return };
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

#[test]
fn matmul_epilogue_every_activation_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
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

#[test]
fn activation_backward_and_bias_grad_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("activation_backward (dz, db)");
    let shapes = prop_oneof![dim(), Just(300usize), Just(1000)];
    runner(48)
        .run(
            &(shapes, dim(), 0..ALL_ACTIVATIONS.len(), any::<u64>()),
            |(rows, cols, ai, seed)| {
                let act = ALL_ACTIVATIONS[ai];
                let mut rng = Rng::new(seed);
                let (dy, z) = (rng.vec(rows * cols, -1.0, 1.0), rng.vec(rows * cols, -4.0, 4.0));
                let run = |b: &mut dyn Backend| {
                    let (dyt, zt) = (b.upload(rows, cols, &dy).unwrap(), b.upload(rows, cols, &z).unwrap());
                    let (dz, db) = (b.zeros(rows, cols).unwrap(), b.zeros(1, cols).unwrap());
                    b.activation_backward(&ActivationBackwardOp::new(dyt, zt, act).dz(dz).db(db))
                        .unwrap();
                    // The linear form: no dz written, db straight from dy.
                    let db_linear = b.zeros(1, cols).unwrap();
                    b.activation_backward(&ActivationBackwardOp::new(dyt, zt, Activation::Linear).db(db_linear))
                        .unwrap();
                    vec![b.read(dz).unwrap(), b.read(db).unwrap(), b.read(db_linear).unwrap()]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                worst.see(&g[0], &c[0]);
                assert_close(
                    &format!("{act:?} dz {rows}x{cols}"),
                    &g[0],
                    &c[0],
                    Tolerance::new(1e-5, 1e-6),
                );
                let sum_tol = Tolerance::new(1e-4, 1e-6 * rows as f32);
                assert_close(&format!("{act:?} db {rows}x{cols}"), &g[1], &c[1], sum_tol);
                assert_close(&format!("linear db {rows}x{cols}"), &g[2], &c[2], sum_tol);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn softmax_matches_cpu_and_is_stable() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("softmax");
    runner(32)
        .run(
            &(
                dim(),
                dim(),
                prop_oneof![Just(1.0f32), Just(30.0), Just(1000.0)],
                any::<u64>(),
            ),
            |(rows, cols, scale, seed)| {
                let z = Rng::new(seed).vec(rows * cols, -scale, scale);
                let run = |b: &mut dyn Backend| {
                    let (zt, out) = (b.upload(rows, cols, &z).unwrap(), b.zeros(rows, cols).unwrap());
                    b.softmax(&SoftmaxOp::new(zt, out)).unwrap();
                    vec![b.read(out).unwrap()]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                assert!(
                    g[0].iter().all(|v| v.is_finite()),
                    "softmax of ±{scale} gave a non-finite value"
                );
                worst.see(&g[0], &c[0]);
                assert_close(
                    &format!("softmax {rows}x{cols} ±{scale}"),
                    &g[0],
                    &c[0],
                    Tolerance::new(1e-5, 1e-7),
                );
                Ok(())
            },
        )
        .unwrap();
}

const ALL_LOSSES: [Loss; 8] = [
    Loss::MeanSquaredError,
    Loss::MeanAbsoluteError,
    Loss::BinaryCrossentropy { from_logits: false },
    Loss::BinaryCrossentropy { from_logits: true },
    Loss::CategoricalCrossentropy { from_logits: false },
    Loss::CategoricalCrossentropy { from_logits: true },
    Loss::SparseCategoricalCrossentropy { from_logits: false },
    Loss::SparseCategoricalCrossentropy { from_logits: true },
];

/// Predictions and targets a loss accepts: probabilities (some exactly 0 or 1 to hit the clip)
/// or logits, and 0/1, one-hot or class-index targets.
fn loss_inputs(loss: Loss, rows: usize, cols: usize, rng: &mut Rng) -> (Vec<f32>, Vec<f32>, usize) {
    let mut pred = match loss {
        Loss::BinaryCrossentropy { from_logits: false } => (0..rows * cols)
            .map(|_| match rng.below(10) {
                0 => 0.0,
                1 => 1.0,
                _ => rng.uniform(0.0, 1.0),
            })
            .collect(),
        Loss::CategoricalCrossentropy { from_logits: false }
        | Loss::SparseCategoricalCrossentropy { from_logits: false } => rng.vec(rows * cols, 0.01, 1.0),
        _ => rng.vec(rows * cols, -5.0, 5.0),
    };
    if rows > 2 && !matches!(loss, Loss::MeanSquaredError | Loss::MeanAbsoluteError) {
        pred[0] = pred[0].max(1e-9); // keep probability rows positive
    }
    let class = |rng: &mut Rng| rng.below(cols) as f32;
    match loss {
        Loss::SparseCategoricalCrossentropy { .. } => ((pred), (0..rows).map(|_| class(rng)).collect(), 1),
        Loss::CategoricalCrossentropy { .. } => {
            let mut t = vec![0.0; rows * cols];
            for i in 0..rows {
                t[i * cols + rng.below(cols)] = 1.0;
            }
            (pred, t, cols)
        }
        Loss::BinaryCrossentropy { .. } => (pred, (0..rows * cols).map(|_| rng.below(2) as f32).collect(), cols),
        _ => (pred, rng.vec(rows * cols, -2.0, 2.0), cols),
    }
}

#[test]
fn every_loss_and_its_gradient_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("loss (row losses and gradient)");
    runner(64)
        .run(
            &(dim(), 1usize..20, 0..ALL_LOSSES.len(), any::<bool>(), any::<u64>()),
            |(rows, cols, li, weighted, seed)| {
                let loss = ALL_LOSSES[li];
                let mut rng = Rng::new(seed);
                let (pred, target, tcols) = loss_inputs(loss, rows, cols, &mut rng);
                let weights = rng.vec(rows, 0.0, 2.0);
                let run = |b: &mut dyn Backend| {
                    let p = b.upload(rows, cols, &pred).unwrap();
                    let t = b.upload(rows, tcols, &target).unwrap();
                    let w = weighted.then(|| b.upload(rows, 1, &weights).unwrap());
                    let (row_loss, grad) = (b.zeros(rows, 1).unwrap(), b.zeros(rows, cols).unwrap());
                    b.loss(&LossOp {
                        loss,
                        pred: p,
                        target: t,
                        weights: w,
                        row_loss,
                        grad: Some(grad),
                    })
                    .unwrap();
                    vec![b.read(row_loss).unwrap(), b.read(grad).unwrap()]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                for (name, i) in [("row loss", 0), ("grad", 1)] {
                    worst.see(&g[i], &c[i]);
                    assert_close(
                        &format!("{loss:?} {name} {rows}x{cols}"),
                        &g[i],
                        &c[i],
                        Tolerance::new(2e-5, 1e-6),
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn metric_accumulators_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("accumulate_metrics");
    let kinds = [
        (Loss::MeanSquaredError, None),
        (
            Loss::BinaryCrossentropy { from_logits: false },
            Some(Accuracy::Binary { threshold: 0.5 }),
        ),
        (
            Loss::BinaryCrossentropy { from_logits: true },
            Some(Accuracy::Binary { threshold: 0.0 }),
        ),
        (
            Loss::CategoricalCrossentropy { from_logits: true },
            Some(Accuracy::Categorical),
        ),
        (
            Loss::SparseCategoricalCrossentropy { from_logits: true },
            Some(Accuracy::SparseCategorical),
        ),
    ];
    let rows_strategy = prop_oneof![dim(), Just(1000usize)];
    runner(40)
        .run(
            &(rows_strategy, 1usize..12, 0..kinds.len(), any::<u64>()),
            |(rows, cols, ki, seed)| {
                let (loss, accuracy) = kinds[ki];
                let mut rng = Rng::new(seed);
                let (pred, target, tcols) = loss_inputs(loss, rows, cols, &mut rng);
                let run = |b: &mut dyn Backend| {
                    let p = b.upload(rows, cols, &pred).unwrap();
                    let t = b.upload(rows, tcols, &target).unwrap();
                    let row_loss = b.zeros(rows, 1).unwrap();
                    b.loss(&LossOp {
                        loss,
                        pred: p,
                        target: t,
                        weights: None,
                        row_loss,
                        grad: None,
                    })
                    .unwrap();
                    let acc = b.zeros(1, metric_slot::COUNT).unwrap();
                    // Twice: the accumulator adds, it does not overwrite.
                    for _ in 0..2 {
                        b.accumulate_metrics(&MetricsOp {
                            accuracy,
                            pred: p,
                            target: t,
                            row_loss,
                            acc,
                        })
                        .unwrap();
                    }
                    vec![b.read(acc).unwrap()]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                worst.see(&g[0], &c[0]);
                assert_close(
                    &format!("{loss:?} metrics {rows}x{cols}"),
                    &g[0],
                    &c[0],
                    Tolerance::new(1e-4, 1e-4),
                );
                prop_assert_eq!(g[0][metric_slot::SAMPLES], 2.0 * rows as f32);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn non_finite_losses_are_counted_on_the_device() {
    let Some(mut gpu) = common::gpu() else { return };
    let run = |b: &mut dyn Backend| {
        let p = b.upload(3, 1, &[0.5, f32::NAN, f32::INFINITY]).unwrap();
        let t = b.upload(3, 1, &[1.0, 0.0, 0.0]).unwrap();
        let row_loss = b.zeros(3, 1).unwrap();
        b.loss(&LossOp {
            loss: Loss::MeanSquaredError,
            pred: p,
            target: t,
            weights: None,
            row_loss,
            grad: None,
        })
        .unwrap();
        let acc = b.zeros(1, metric_slot::COUNT).unwrap();
        b.accumulate_metrics(&MetricsOp {
            accuracy: None,
            pred: p,
            target: t,
            row_loss,
            acc,
        })
        .unwrap();
        vec![b.read(acc).unwrap()]
    };
    let (g, c) = both(&mut gpu, run);
    assert_eq!(g[0][metric_slot::NON_FINITE], 2.0);
    assert_eq!(c[0][metric_slot::NON_FINITE], 2.0);
}

fn all_optimizers() -> Vec<Optimizer> {
    vec![
        Optimizer::sgd(),
        Optimizer::Sgd {
            learning_rate: 0.05.into(),
            momentum: 0.9,
            nesterov: false,
            weight_decay: None,
        },
        Optimizer::Sgd {
            learning_rate: 0.05.into(),
            momentum: 0.9,
            nesterov: true,
            weight_decay: Some(0.01),
        },
        Optimizer::adam(),
        Optimizer::adamw(),
        Optimizer::rmsprop(),
        Optimizer::RmsProp {
            learning_rate: 0.01.into(),
            rho: 0.8,
            momentum: 0.5,
            epsilon: 1e-7,
            centered: true,
            weight_decay: Some(0.004),
        },
        Optimizer::RmsProp {
            learning_rate: 0.01.into(),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-6,
            centered: true,
            weight_decay: None,
        },
    ]
}

#[test]
fn every_optimizer_matches_cpu_over_several_steps() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("optimizer_step (params and state after 5 steps)");
    let opts = all_optimizers();
    let lens = prop_oneof![Just(1usize), Just(7), Just(63), Just(65), 1usize..5000];
    runner(40)
        .run(&(lens, 0..opts.len(), any::<u64>()), |(n, oi, seed)| {
            let opt = opts[oi];
            let mut rng = Rng::new(seed);
            let p0 = rng.vec(n, -1.0, 1.0);
            let grads: Vec<Vec<f32>> = (0..5).map(|_| rng.vec(n, -1.0, 1.0)).collect();
            let run = |b: &mut dyn Backend| {
                let p = b.upload(1, n, &p0).unwrap();
                let g = b.zeros(1, n).unwrap();
                let slots: Vec<Tensor> = (0..opt.slots()).map(|_| b.zeros(1, n).unwrap()).collect();
                for (step, grad) in grads.iter().enumerate() {
                    b.write(g, grad).unwrap();
                    b.optimizer_step(&OptimizerStepOp::new(&opt, step as u64 + 1, p, g).slots(&slots))
                        .unwrap();
                }
                let mut out = vec![b.read(p).unwrap()];
                out.extend(slots.iter().map(|s| b.read(*s).unwrap()));
                out
            };
            let (g, c) = both(&mut gpu.borrow_mut(), run);
            for i in 0..g.len() {
                worst.see(&g[i], &c[i]);
                assert_close(
                    &format!("{opt:?} tensor {i} n={n}"),
                    &g[i],
                    &c[i],
                    Tolerance::new(1e-5, 1e-6),
                );
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn optimizer_over_more_elements_than_one_dispatch_dimension() {
    let Some(mut gpu) = common::gpu() else { return };
    // 65 535 workgroups × 64 invocations is the one-dimensional limit; go past it so the
    // 2-D dispatch fold is exercised.
    let n = 65_535 * 64 + 1000;
    let mut rng = Rng::new(11);
    let (p0, g0) = (rng.vec(n, -1.0, 1.0), rng.vec(n, -1.0, 1.0));
    let opt = Optimizer::adam();
    let run = |b: &mut dyn Backend| {
        let (p, g) = (b.upload(1, n, &p0).unwrap(), b.upload(1, n, &g0).unwrap());
        let slots = [b.zeros(1, n).unwrap(), b.zeros(1, n).unwrap()];
        b.optimizer_step(&OptimizerStepOp::new(&opt, 1, p, g).slots(&slots))
            .unwrap();
        vec![b.read(p).unwrap()]
    };
    let (g, c) = both(&mut gpu, run);
    assert_close("adam over 4.2M parameters", &g[0], &c[0], Tolerance::new(1e-5, 1e-6));
    assert_ne!(g[0][n - 1], p0[n - 1], "the last element was updated");
}

#[test]
fn gather_rows_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = RefCell::new(gpu);
    runner(32)
        .run(
            &(dim(), dim(), 1usize..40, any::<u64>()),
            |(src_rows, cols, out_rows, seed)| {
                let mut rng = Rng::new(seed);
                let src = rng.vec(src_rows * cols, -1.0, 1.0);
                let first = rng.below(5);
                // Mostly valid indices, some past the end (they must give zero rows).
                let idx: Vec<u32> = (0..first + out_rows).map(|_| rng.below(src_rows + 2) as u32).collect();
                let run = |b: &mut dyn Backend| {
                    let (s, i) = (b.upload(src_rows, cols, &src).unwrap(), b.upload_u32(&idx).unwrap());
                    let out = b.zeros(out_rows, cols).unwrap();
                    b.gather_rows(&GatherRowsOp::new(s, i, first, out)).unwrap();
                    // As one chunk of a split set whose rows start at 1: rows outside are kept.
                    let kept = b.upload(out_rows, cols, &vec![7.0; out_rows * cols]).unwrap();
                    b.gather_rows(&GatherRowsOp::new(s, i, first, kept).chunk(1, false))
                        .unwrap();
                    vec![b.read(out).unwrap(), b.read(kept).unwrap()]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                prop_assert_eq!(&g[0], &c[0]);
                prop_assert_eq!(&g[1], &c[1]);
                for (r, &ix) in idx[first..].iter().enumerate() {
                    let row = &g[1][r * cols..(r + 1) * cols];
                    match (ix as usize).checked_sub(1) {
                        Some(local) if local < src_rows => {
                            prop_assert_eq!(row, &src[local * cols..(local + 1) * cols]);
                        }
                        _ => prop_assert!(row.iter().all(|&v| v == 7.0)),
                    }
                }
                for (r, &ix) in idx[first..].iter().enumerate() {
                    let row = &g[0][r * cols..(r + 1) * cols];
                    if (ix as usize) < src_rows {
                        prop_assert_eq!(row, &src[ix as usize * cols..(ix as usize + 1) * cols]);
                    } else {
                        prop_assert!(row.iter().all(|&v| v == 0.0));
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn fill_copy_and_write_keep_program_order() {
    let Some(mut gpu) = common::gpu() else { return };
    let run = |b: &mut dyn Backend| {
        let a = b.upload(1, 10, &[1.0; 10]).unwrap();
        let c = b.zeros(1, 10).unwrap();
        b.copy(a, c).unwrap();
        // A write after a recorded copy must not reach back in time.
        b.write(a, &[2.0; 10]).unwrap();
        let f = b.zeros(1, 7).unwrap();
        b.fill(f.view(2, 1, 4).unwrap(), 3.5).unwrap();
        let z = b.upload(1, 5, &[9.0; 5]).unwrap();
        b.fill(z, 0.0).unwrap();
        vec![
            b.read(c).unwrap(),
            b.read(a).unwrap(),
            b.read(f).unwrap(),
            b.read(z).unwrap(),
        ]
    };
    let (g, c) = both(&mut gpu, run);
    assert_eq!(g, c);
    assert_eq!(g[0], vec![1.0; 10]);
    assert_eq!(g[2], vec![0.0, 0.0, 3.5, 3.5, 3.5, 3.5, 0.0]);
}

#[test]
fn softmax_backward_and_dropout_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = RefCell::new(gpu);
    let worst = Worst::new("softmax_backward and dropout");
    runner(32)
        .run(
            &(dim(), dim(), 0.0f32..0.9, any::<u32>(), any::<u64>()),
            |(rows, cols, rate, step, seed)| {
                let mut rng = Rng::new(seed);
                let (z, dy) = (rng.vec(rows * cols, -3.0, 3.0), rng.vec(rows * cols, -1.0, 1.0));
                let run = |b: &mut dyn Backend| {
                    let (zt, dyt) = (b.upload(rows, cols, &z).unwrap(), b.upload(rows, cols, &dy).unwrap());
                    let (y, dz) = (b.zeros(rows, cols).unwrap(), b.zeros(rows, cols).unwrap());
                    b.softmax(&SoftmaxOp::new(zt, y)).unwrap();
                    b.softmax_backward(&SoftmaxBackwardOp::new(y, dyt, dz)).unwrap();
                    let (mask, out, dx) = (
                        b.zeros(rows, cols).unwrap(),
                        b.zeros(rows, cols).unwrap(),
                        b.zeros(rows, cols).unwrap(),
                    );
                    b.dropout(&DropoutOp::new(zt, mask, out, rate).seed(seed as u32, step))
                        .unwrap();
                    b.dropout_backward(&DropoutBackwardOp::new(dyt, mask, dx, rate))
                        .unwrap();
                    vec![
                        b.read(dz).unwrap(),
                        b.read(mask).unwrap(),
                        b.read(out).unwrap(),
                        b.read(dx).unwrap(),
                    ]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                worst.see(&g[0], &c[0]);
                assert_close(
                    &format!("softmax_backward {rows}x{cols}"),
                    &g[0],
                    &c[0],
                    Tolerance::new(1e-5, 1e-7),
                );
                prop_assert_eq!(&g[1], &c[1], "identical dropout masks");
                assert_close("dropout forward", &g[2], &c[2], Tolerance::new(1e-6, 0.0));
                assert_close("dropout backward", &g[3], &c[3], Tolerance::new(1e-6, 0.0));
                let kept = g[1].iter().filter(|&&m| m == 1.0).count() as f32 / g[1].len() as f32;
                if g[1].len() > 2000 {
                    prop_assert!((kept - (1.0 - rate)).abs() < 0.05, "kept {kept} at rate {rate}");
                }
                Ok(())
            },
        )
        .unwrap();
}
