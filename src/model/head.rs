//! The loss head: the loss, the accuracy the device counts, and the one decision about an
//! output softmax. When the output layer is softmax and the loss is (sparse) categorical
//! cross-entropy on probabilities, the head takes the softmax over: the last Dense layer
//! produces logits, the loss runs on logits (stable, and its gradient is simply p − t), and
//! the head writes the probabilities that metrics and predictions see.
//!
//! Shapes: pred (what the loss reads) and output (what metrics see) are [B, C]; targets are
//! [B, C], or [B, 1] class indices for sparse cross-entropy; row_loss is [B, 1].

use super::layer::{Layer, StepContext, not_ready};
use crate::Result;
use crate::backend::{IndexedRows, LossOp, ScoreOp, SoftmaxOp, Tensor};
use crate::nn::{Accuracy, Activation, Loss};

/// The loss head of a compiled model.
pub(crate) struct LossHead {
    /// The loss as compiled.
    loss: Loss,
    /// The loss as computed (from logits when the softmax is fused into it).
    computed: Loss,
    softmax_fused: bool,
    accuracy: Accuracy,
    outputs: usize,
    /// row_loss [B, 1], dpred [B, C] and, when the softmax is fused, the probabilities [B, C].
    buffers: Option<(Tensor, Tensor, Option<Tensor>)>,
}

/// The target buffer of one batch: values and optional per-row sample weights, or a resident
/// data chunk's, read through the epoch's permutation (`rows`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Targets {
    pub values: Tensor,
    pub weights: Option<Tensor>,
    pub rows: Option<IndexedRows>,
}

impl LossHead {
    /// The head for `loss` on a model whose layers end with `layers`' last one, `outputs` wide.
    pub fn new(loss: Loss, layers: &[Layer], outputs: usize) -> Self {
        let output_softmax = layers.last().and_then(|l| l.spec().output_activation()) == Some(Activation::Softmax);
        let computed = match loss {
            Loss::CategoricalCrossentropy { from_logits: false } if output_softmax => {
                Loss::CategoricalCrossentropy { from_logits: true }
            }
            Loss::SparseCategoricalCrossentropy { from_logits: false } if output_softmax => {
                Loss::SparseCategoricalCrossentropy { from_logits: true }
            }
            other => other,
        };
        // Keras pairs an accuracy with each classification loss; for a regression loss the
        // device counts binary accuracy on one output and categorical on several.
        let accuracy = loss.accuracy().unwrap_or(if outputs == 1 {
            Accuracy::Binary { threshold: 0.5 }
        } else {
            Accuracy::Categorical
        });
        LossHead {
            loss,
            computed,
            softmax_fused: computed != loss,
            accuracy,
            outputs,
            buffers: None,
        }
    }

    /// The accuracy counted on the device.
    pub fn accuracy(&self) -> Accuracy {
        self.accuracy
    }

    /// The loss as computed (from logits when the softmax is fused into it).
    pub fn computed_loss(&self) -> Loss {
        self.computed
    }

    /// Whether the head applies the output softmax (fused with cross-entropy).
    pub fn softmax_fused(&self) -> bool {
        self.softmax_fused
    }

    /// Width of the targets: 1 for sparse labels, else the output width.
    pub fn target_width(&self) -> usize {
        if self.loss.sparse_targets() { 1 } else { self.outputs }
    }

    /// Shapes of the head's plan buffers at batch size `batch`.
    pub fn buffer_shapes(&self, batch: usize) -> Vec<(usize, usize)> {
        let mut shapes = vec![(batch, 1), (batch, self.outputs)];
        if self.softmax_fused {
            shapes.push((batch, self.outputs));
        }
        shapes
    }

    /// Takes the buffers allocated from `buffer_shapes`.
    pub fn bind_buffers(&mut self, buffers: &[Tensor]) {
        if let [row_loss, dpred, rest @ ..] = buffers {
            self.buffers = Some((*row_loss, *dpred, rest.first().copied()));
        }
    }

    fn buffers(&self) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        self.buffers
            .ok_or_else(|| not_ready("loss head", "used before its plan buffers were bound"))
    }

    /// The model's output for the network's last values `pred`: the probabilities when the
    /// head applies the softmax, else `pred` itself.
    pub fn output(&self, ctx: &mut StepContext, pred: Tensor) -> Result<Tensor> {
        match self.buffers()?.2 {
            Some(probs) => {
                let probs = ctx.batch_rows(probs)?;
                ctx.backend.softmax(&SoftmaxOp::new(pred, probs))?;
                Ok(probs)
            }
            None => Ok(pred),
        }
    }

    /// Records the loss of `pred` against `targets` and adds the batch's loss and metrics to
    /// the accumulator `acc`, in one backend operation. With `gradient`, also writes
    /// d(mean loss)/d pred and returns it; with `derivative` (the output layer's activation
    /// and pre-activation) that gradient is taken on to d(mean loss)/dz.
    pub fn score(
        &self,
        ctx: &mut StepContext,
        pred: Tensor,
        targets: Targets,
        acc: Tensor,
        gradient: bool,
        derivative: Option<(Activation, Tensor)>,
    ) -> Result<Option<Tensor>> {
        let (row_loss, dpred, _) = self.buffers()?;
        let row_loss = ctx.batch_rows(row_loss)?;
        let grad = gradient.then(|| ctx.batch_rows(dpred)).transpose()?;
        let output = self.output(ctx, pred)?;
        let loss = LossOp::new(self.computed, pred, targets.values, row_loss)
            .weights(targets.weights)
            .grad(grad)
            .target_rows(targets.rows);
        let mut op = ScoreOp::new(loss, output, acc).accuracy(self.accuracy);
        if let Some((activation, z)) = derivative.filter(|_| gradient) {
            op = op.derivative(activation, z);
        }
        ctx.backend.score(&op)?;
        Ok(grad)
    }
}
