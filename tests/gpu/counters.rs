//! The work counters: a steady-state training step allocates nothing, creates no bind group,
//! reads nothing back, and submits once on `flush`; and a layered step of Dense layers takes
//! 3L + 1 dispatches (issue 12: at most 7 for two layers).

use std::collections::HashMap;

use ndarray::Array2;
use wgtrain::backend::{ActivationBackwardOp, Backend, GpuBackend, LossOp, MatmulOp, OptimizerStepOp};
use wgtrain::model::{Dense, Device, Execution, FitOptions, Metric, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

use crate::common::harness::gpu_backend;

/// The tensors of a one-layer training step, allocated once.
struct Step {
    x: wgtrain::backend::Tensor,
    w: wgtrain::backend::Tensor,
    b: wgtrain::backend::Tensor,
    z: wgtrain::backend::Tensor,
    y: wgtrain::backend::Tensor,
    target: wgtrain::backend::Tensor,
    row_loss: wgtrain::backend::Tensor,
    dy: wgtrain::backend::Tensor,
    dz: wgtrain::backend::Tensor,
    db: wgtrain::backend::Tensor,
    dw: wgtrain::backend::Tensor,
    slots_w: [wgtrain::backend::Tensor; 2],
    slots_b: [wgtrain::backend::Tensor; 2],
}

impl Step {
    fn new(gpu: &mut GpuBackend) -> Step {
        let mut rng = crate::common::Rng::new(11);
        let (batch, inputs, outputs) = (8, 5, 3);
        Step {
            x: gpu.upload(batch, inputs, &rng.vec(batch * inputs, -1.0, 1.0)).unwrap(),
            w: gpu
                .upload(inputs, outputs, &rng.vec(inputs * outputs, -1.0, 1.0))
                .unwrap(),
            b: gpu.zeros(1, outputs).unwrap(),
            z: gpu.zeros(batch, outputs).unwrap(),
            y: gpu.zeros(batch, outputs).unwrap(),
            target: gpu.upload(batch, outputs, &rng.vec(batch * outputs, 0.0, 1.0)).unwrap(),
            row_loss: gpu.zeros(batch, 1).unwrap(),
            dy: gpu.zeros(batch, outputs).unwrap(),
            dz: gpu.zeros(batch, outputs).unwrap(),
            db: gpu.zeros(1, outputs).unwrap(),
            dw: gpu.zeros(inputs, outputs).unwrap(),
            slots_w: [gpu.zeros(inputs, outputs).unwrap(), gpu.zeros(inputs, outputs).unwrap()],
            slots_b: [gpu.zeros(1, outputs).unwrap(), gpu.zeros(1, outputs).unwrap()],
        }
    }

    /// Forward, loss, backward and Adam on both parameters: six dispatches.
    fn record(&self, gpu: &mut GpuBackend, step: u64) {
        let relu = Activation::Relu;
        gpu.matmul(&MatmulOp::new(self.x, self.w, self.y).epilogue(Some(self.b), relu, Some(self.z)))
            .unwrap();
        gpu.loss(&LossOp {
            loss: Loss::MeanSquaredError,
            pred: self.y,
            target: self.target,
            weights: None,
            row_loss: self.row_loss,
            grad: Some(self.dy),
            target_rows: None,
        })
        .unwrap();
        gpu.activation_backward(&ActivationBackwardOp::new(self.dy, self.z, relu).dz(self.dz).db(self.db))
            .unwrap();
        gpu.matmul(&MatmulOp::new(self.x, self.dz, self.dw).transposed(true, false))
            .unwrap();
        let adam = Optimizer::adam();
        gpu.optimizer_step(&OptimizerStepOp::new(&adam, step, self.w, self.dw).slots(&self.slots_w))
            .unwrap();
        gpu.optimizer_step(&OptimizerStepOp::new(&adam, step, self.b, self.db).slots(&self.slots_b))
            .unwrap();
    }
}

/// After one warm-up step, repeating the step creates no buffer and no bind group, reads
/// nothing back and submits nothing until `flush` (exactly one submit) or `read`.
pub fn steady_state_steps_allocate_nothing_and_flush_submits_once() {
    let mut gpu = gpu_backend();
    let step = Step::new(&mut gpu);
    step.record(&mut gpu, 1);
    gpu.flush().unwrap();
    let first_loss = gpu.read(step.row_loss).unwrap();

    let before = gpu.counters();
    for t in 2..=4 {
        step.record(&mut gpu, t);
    }
    let recorded = gpu.counters().since(&before);
    assert_eq!(recorded.buffer_allocations, 0, "{recorded:?}");
    assert_eq!(recorded.bind_groups, 0, "{recorded:?}");
    assert_eq!(recorded.readbacks, 0, "{recorded:?}");
    assert_eq!(recorded.submits, 0, "work was submitted before flush: {recorded:?}");
    // Per step: matmul, loss, dz, db (a ones-row product, split over rows like any
    // reduction), dW and two optimizer steps.
    assert_eq!(recorded.dispatches, 3 * 7, "{recorded:?}");

    let before_flush = gpu.counters();
    gpu.flush().unwrap();
    let flushed = gpu.counters().since(&before_flush);
    assert_eq!(flushed.submits, 1, "a flush is one submit: {flushed:?}");
    assert_eq!(flushed.readbacks, 0, "{flushed:?}");

    let idle = gpu.counters();
    gpu.flush().unwrap();
    assert_eq!(
        gpu.counters().since(&idle).submits,
        0,
        "a flush with nothing recorded submits nothing"
    );

    let before_read = gpu.counters();
    let loss = gpu.read(step.row_loss).unwrap();
    let read = gpu.counters().since(&before_read);
    assert_eq!(read.readbacks, 1, "{read:?}");
    assert_eq!(read.buffer_allocations, 0, "the read-back buffer is reused: {read:?}");
    assert_eq!(read.bind_groups, 0, "{read:?}");

    // The steps did train: Adam moved the weights, so the loss changed.
    assert_ne!(first_loss, loss, "three Adam steps left the loss unchanged");
    println!("counters after the test: {:?}", gpu.counters());
}

/// Dispatches per training step of the layered executor, for a model with `hidden` Dense
/// layers before a one-unit sigmoid output, optionally with sample weights (class weights).
fn layered_step_dispatches(hidden: &[(usize, Activation)], weighted: bool) -> u64 {
    const ROWS: usize = 200;
    const BATCH: usize = 10;
    let mut rng = crate::common::Rng::new(3);
    let x = Array2::from_shape_vec((ROWS, 3), rng.vec(ROWS * 3, -1.0, 1.0)).unwrap();
    let y = x
        .map_axis(ndarray::Axis(1), |r| f32::from(r.sum() > 0.0))
        .insert_axis(ndarray::Axis(1));
    let mut spec = Sequential::new(3);
    for &(units, activation) in hidden {
        spec = spec.add(Dense::new(units, activation));
    }
    let loss = Loss::BinaryCrossentropy { from_logits: false };
    let device = Device::Gpu(Default::default());
    let mut model = spec
        .add(Dense::new(1, Activation::Sigmoid))
        .compile_with(loss, Optimizer::adam(), &[Metric::Accuracy], device, Execution::Layered)
        .unwrap();
    let options = |epochs| {
        let o = FitOptions::new(epochs, BATCH);
        if weighted {
            o.class_weight(HashMap::from([(0, 0.5), (1, 2.0)]))
        } else {
            o
        }
    };
    model.fit(x.view(), y.view(), options(1)).unwrap();
    let mut measure = |epochs| {
        let before = model.counters();
        model.fit(x.view(), y.view(), options(epochs)).unwrap();
        model.counters().since(&before).dispatches
    };
    let (one, three) = (measure(1), measure(3));
    let steps = 2 * (ROWS / BATCH) as u64;
    assert_eq!((three - one) % steps, 0, "{} dispatches in {steps} steps", three - one);
    (three - one) / steps
}

/// A layered step of L Dense layers is 3L + 1 dispatches: L forward products (the first
/// reading the shuffled rows through the permutation, no gather), the head's one kernel
/// (loss, gradient through the output activation, metrics; targets and weights read through
/// the permutation), L weight-gradient products (bias gradient as the ones row), L − 1 dx
/// products (the hidden activation's derivative in their epilogue), one optimizer dispatch.
pub fn layered_steps_of_dense_layers_take_3l_plus_1_dispatches() {
    let relu = (10, Activation::Relu);
    let two = layered_step_dispatches(&[relu], false);
    assert!(
        two <= 7,
        "a two-layer step takes {two} dispatches (issue 12: at most 7)"
    );
    assert_eq!(two, 7, "two layers");
    assert_eq!(layered_step_dispatches(&[relu], true), 7, "two layers, sample weights");
    let three = layered_step_dispatches(&[(16, Activation::Tanh), (8, Activation::Elu { alpha: 1.0 })], false);
    assert_eq!(three, 10, "three layers");
}
