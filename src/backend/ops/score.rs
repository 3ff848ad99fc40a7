//! The loss head's whole step as one descriptor: the loss and its gradient, the gradient taken
//! on through the output layer's activation (dz rather than dy), and the batch's metric sums.
//! A backend may run it as one kernel (the GPU does, except that metrics of an output other
//! than pred next to a derivative take a second pass); its meaning is [`LossOp`], then
//! dz = grad ⊙ act′(z) in place, then [`MetricsOp`] on `output`.
//!
//! Shape letters: B rows (the batch), C outputs per row.

use super::{LossOp, MetricsOp, distinct_storages, expect_shape};
use crate::backend::tensor::Tensor;
use crate::nn::{Accuracy, Activation};
use crate::{Error, Result};

/// Loss, gradient (optionally through the output activation) and metrics of one batch.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, LossOp, ScoreOp, metric_slot};
/// use wgtrain::nn::{Activation, Loss};
/// let mut cpu = CpuBackend::new();
/// let z = cpu.upload(2, 1, &[0., 0.]).unwrap();
/// let pred = cpu.upload(2, 1, &[0.5, 0.5]).unwrap(); // sigmoid(z)
/// let target = cpu.upload(2, 1, &[0., 1.]).unwrap();
/// let (row_loss, dz) = (cpu.zeros(2, 1).unwrap(), cpu.zeros(2, 1).unwrap());
/// let acc = cpu.zeros(1, metric_slot::COUNT).unwrap();
/// let loss = LossOp::new(Loss::MeanSquaredError, pred, target, row_loss).grad(dz);
/// cpu.score(&ScoreOp::new(loss, pred, acc).derivative(Activation::Sigmoid, z)).unwrap();
/// // d(mean (p − t)²)/dp = (p − t), times σ′(0) = 0.25.
/// assert_eq!(cpu.read(dz).unwrap(), vec![0.125, -0.125]);
/// assert_eq!(cpu.read(acc).unwrap()[metric_slot::SAMPLES], 2.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ScoreOp {
    /// The loss of `pred` against the targets, with its gradient output.
    pub loss: LossOp,
    /// What the metrics see, [B, C] (the probabilities when a softmax is fused into the loss,
    /// else `pred` itself).
    pub output: Tensor,
    /// The accumulator, `metric_slot::COUNT` elements, added to.
    pub acc: Tensor,
    /// Accuracy to count, if the task has one.
    pub accuracy: Option<Accuracy>,
    /// The output layer's activation and its pre-activation z [B, C]: the gradient is taken
    /// on to dz = grad ⊙ act′(z).
    pub derivative: Option<(Activation, Tensor)>,
}

impl ScoreOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "score";

    /// `loss`, then the metrics of `output` added to `acc`, with no accuracy and no
    /// derivative until set.
    pub fn new(loss: LossOp, output: Tensor, acc: Tensor) -> Self {
        ScoreOp {
            loss,
            output,
            acc,
            accuracy: None,
            derivative: None,
        }
    }

    /// Sets (or clears, with None) the accuracy counted.
    pub fn accuracy(mut self, accuracy: impl Into<Option<Accuracy>>) -> Self {
        self.accuracy = accuracy.into();
        self
    }

    /// Takes the gradient on through `activation` at `z`.
    pub fn derivative(mut self, activation: Activation, z: Tensor) -> Self {
        self.derivative = Some((activation, z));
        self
    }

    /// The metrics part, as its own descriptor.
    pub fn metrics(&self) -> MetricsOp {
        MetricsOp::new(self.output, self.loss.target, self.loss.row_loss, self.acc)
            .accuracy(self.accuracy)
            .target_rows(self.loss.target_rows)
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        self.loss
            .tensors()
            .chain([self.output, self.acc])
            .chain(self.derivative.map(|(_, z)| z))
    }

    /// Checks the parts, the derivative and the storages.
    pub fn check(&self) -> Result<()> {
        const OP: &str = ScoreOp::NAME;
        self.loss.check()?;
        expect_shape(OP, "output", &self.output, self.loss.pred.rows, self.loss.pred.cols)?;
        self.metrics().check()?;
        if let Some((activation, z)) = self.derivative {
            if !activation.is_elementwise() {
                return Err(Error::InvalidArgument {
                    what: "score derivative",
                    detail: "softmax is row-wise: its gradient is softmax_backward".into(),
                });
            }
            if self.loss.grad.is_none() {
                return Err(Error::InvalidArgument {
                    what: "score derivative",
                    detail: "a derivative needs the gradient output".into(),
                });
            }
            expect_shape(OP, "z", &z, self.loss.pred.rows, self.loss.pred.cols)?;
        }
        distinct_storages(
            OP,
            &[
                Some(self.loss.pred),
                Some(self.output),
                Some(self.loss.target),
                self.loss.weights,
                self.derivative.map(|(_, z)| z),
                self.loss.target_rows.map(|i| i.indices),
            ],
            &[Some(self.loss.row_loss), self.loss.grad, Some(self.acc)],
        )
    }
}
