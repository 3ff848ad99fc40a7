//! The work counters: a steady-state training step allocates nothing, creates no bind group,
//! reads nothing back, and submits once on `flush`.

use wgtrain::backend::{ActivationBackwardOp, Backend, GpuBackend, LossOp, MatmulOp, OptimizerStepOp};
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
