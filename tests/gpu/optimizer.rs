//! Every optimizer step on the GPU against the CPU, over several steps and over more elements
//! than one dispatch dimension holds.

use std::cell::RefCell;

use super::parity::*;
use crate::common::harness::gpu_backend;
use crate::common::{Rng, Tolerance, assert_close};
use proptest::prelude::*;
use wgtrain::backend::{Backend, OptimizerStepOp, Tensor};
use wgtrain::nn::Optimizer;

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

pub fn every_optimizer_matches_cpu_over_several_steps() {
    let gpu = gpu_backend();
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

pub fn optimizer_over_more_elements_than_one_dispatch_dimension() {
    let mut gpu = gpu_backend();
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
