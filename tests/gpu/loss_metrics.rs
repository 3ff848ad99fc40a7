//! Losses, their gradients and the device-side metric accumulators on the GPU against the CPU.

use std::cell::RefCell;

use super::parity::*;
use crate::common::harness::gpu_backend;
use crate::common::{Rng, Tolerance, assert_close};
use proptest::prelude::*;
use wgtrain::backend::{Backend, LossOp, MetricsOp, metric_slot};
use wgtrain::nn::{Accuracy, Loss};

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

pub fn every_loss_and_its_gradient_match_cpu() {
    let gpu = gpu_backend();
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
                        target_rows: None,
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

pub fn metric_accumulators_match_cpu() {
    let gpu = gpu_backend();
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
                        target_rows: None,
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
                            target_rows: None,
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

pub fn non_finite_losses_are_counted_on_the_device() {
    let mut gpu = gpu_backend();
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
            target_rows: None,
        })
        .unwrap();
        let acc = b.zeros(1, metric_slot::COUNT).unwrap();
        b.accumulate_metrics(&MetricsOp {
            accuracy: None,
            pred: p,
            target: t,
            row_loss,
            acc,
            target_rows: None,
        })
        .unwrap();
        vec![b.read(acc).unwrap()]
    };
    let (g, c) = both(&mut gpu, run);
    assert_eq!(g[0][metric_slot::NON_FINITE], 2.0);
    assert_eq!(c[0][metric_slot::NON_FINITE], 2.0);
}
