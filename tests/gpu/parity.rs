//! What the GPU-against-CPU parity tests share: the shapes drawn, the property-test runner,
//! running one closure on both backends and tracking the largest error.

use std::cell::RefCell;

use crate::common::max_rel_error;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use wgtrain::backend::{Backend, CpuBackend, GpuBackend};

/// Dimensions drawn for the property tests: 1, odd primes, tile edges ± 1 and random sizes.
pub fn dim() -> impl Strategy<Value = usize> {
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

pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs `f` on both backends with the same inputs; returns (gpu, cpu) outputs.
pub fn both<F>(gpu: &mut GpuBackend, f: F) -> (Vec<Vec<f32>>, Vec<Vec<f32>>)
where
    F: Fn(&mut dyn Backend) -> Vec<Vec<f32>>,
{
    (f(gpu), f(&mut CpuBackend::new()))
}

/// Tracks the largest errors of one kernel and prints them at the end: elementwise relative
/// (with a floor of 1e-3, so values near zero do not dominate) and relative to the largest
/// magnitude of the output (what a matrix product's rounding scales with).
pub struct Worst(&'static str, RefCell<(f32, f32)>);

impl Worst {
    pub fn new(name: &'static str) -> Self {
        Worst(name, RefCell::new((0.0, 0.0)))
    }

    pub fn see(&self, gpu: &[f32], cpu: &[f32]) {
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
