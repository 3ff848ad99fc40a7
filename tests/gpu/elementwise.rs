//! Row-wise and elementwise kernels on the GPU against the CPU: activation derivatives with
//! the bias gradient, softmax (and its stability), softmax backward and dropout.

use std::cell::RefCell;

use super::parity::*;
use crate::common::harness::gpu_backend;
use crate::common::{Rng, Tolerance, assert_close};
use proptest::prelude::*;
use wgtrain::backend::{ActivationBackwardOp, Backend, DropoutBackwardOp, DropoutOp, SoftmaxBackwardOp, SoftmaxOp};
use wgtrain::nn::{ALL_ACTIVATIONS, Activation};

pub fn activation_backward_and_bias_grad_match_cpu() {
    let gpu = gpu_backend();
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

pub fn softmax_matches_cpu_and_is_stable() {
    let gpu = gpu_backend();
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

pub fn softmax_backward_and_dropout_match_cpu() {
    let gpu = gpu_backend();
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
