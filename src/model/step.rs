//! One training step, recorded as a fixed list of backend operations on the plan's buffers:
//! gather the shuffled batch, forward (fused matmul + bias + activation per Dense layer),
//! loss and its gradient, metric accumulation, backward (activation derivative with the bias
//! gradient, dW = xᵀ·dz, dx = dz·Wᵀ, all through transpose flags), one optimizer dispatch.
//! The same list runs on either backend; a short batch uses the first r rows of each buffer.

use super::compiled::Model;
use super::layers::Layer;
use super::plan::{DeviceData, LayerBuffers, Plan, fused_softmax};
use crate::Result;
use crate::backend::{
    ActivationBackwardOp, DropoutBackwardOp, DropoutOp, GatherRowsOp, LossOp, MatmulOp, MetricsOp, OptimizerStepOp,
    SoftmaxBackwardOp, SoftmaxOp, Tensor,
};
use crate::nn::dropout::lowbias32;
use crate::nn::{Activation, Loss};

/// What a forward pass produced: the tensor the loss reads (logits when softmax is fused),
/// the model output, and each layer's input (for the backward pass).
pub(crate) struct Forward {
    pub pred: Tensor,
    pub output: Tensor,
    pub inputs: Vec<Tensor>,
}

fn rows(t: Tensor, r: usize) -> Tensor {
    t.rows_range(0, r).expect("the plan holds a full batch")
}

impl Model {
    /// The loss as computed: cross-entropy on logits when the output softmax is fused into it.
    pub(crate) fn effective_loss(&self) -> Loss {
        if fused_softmax(self) {
            match self.loss {
                Loss::CategoricalCrossentropy { .. } => Loss::CategoricalCrossentropy { from_logits: true },
                Loss::SparseCategoricalCrossentropy { .. } => Loss::SparseCategoricalCrossentropy { from_logits: true },
                other => other,
            }
        } else {
            self.loss
        }
    }

    /// Records the forward pass over `input` ([r, inputs]); `dropout_step` is Some(step) in
    /// training (dropout active, masks drawn for that step) and None otherwise.
    pub(crate) fn forward(&mut self, plan: &Plan, input: Tensor, dropout_step: Option<u32>) -> Result<Forward> {
        let r = input.rows();
        let fused = fused_softmax(self);
        let mut current = input;
        let mut inputs = Vec::with_capacity(plan.layers.len());
        let mut dense = self.dense.iter();
        let mut pred = input;
        for (i, (layer, buffers)) in self.architecture.layers.iter().zip(&plan.layers).enumerate() {
            inputs.push(current);
            match (layer, *buffers) {
                (Layer::Dense(d), LayerBuffers::Dense { z, y, .. }) => {
                    let p = dense.next().expect("one parameter block per Dense layer");
                    let (w, b) = (p.kernel(self.params), p.bias(self.params));
                    let y = rows(y, r);
                    match d.activation {
                        Activation::Softmax => {
                            let z = rows(z.expect("softmax keeps z"), r);
                            self.backend
                                .matmul(&MatmulOp::new(current, w, z).epilogue(b, Activation::Linear, None))?;
                            self.backend.softmax(&SoftmaxOp::new(z, y))?;
                            pred = if fused { z } else { y };
                        }
                        Activation::Linear => {
                            self.backend
                                .matmul(&MatmulOp::new(current, w, y).epilogue(b, Activation::Linear, None))?;
                            pred = y;
                        }
                        act => {
                            let z = rows(z.expect("non-linear layers keep z"), r);
                            self.backend
                                .matmul(&MatmulOp::new(current, w, y).epilogue(b, act, Some(z)))?;
                            pred = y;
                        }
                    }
                    current = y;
                }
                (Layer::Dropout(d), LayerBuffers::Dropout { mask, y, .. }) => {
                    if let Some(step) = dropout_step
                        && d.rate > 0.0
                    {
                        let seed = (self.architecture.seed as u32) ^ lowbias32(i as u32 + 1);
                        let y = rows(y, r);
                        self.backend
                            .dropout(&DropoutOp::new(current, rows(mask, r), y, d.rate).seed(seed, step))?;
                        current = y;
                    }
                }
                _ => unreachable!("plan buffers follow the layers"),
            }
        }
        Ok(Forward {
            pred,
            output: current,
            inputs,
        })
    }

    /// Records the backward pass from `dpred` (d loss / d pred), writing every gradient into
    /// the flat gradient buffer.
    pub(crate) fn backward(&mut self, plan: &Plan, forward: &Forward, dpred: Tensor) -> Result<()> {
        let r = dpred.rows();
        let fused = fused_softmax(self);
        let n = self.architecture.layers.len();
        let mut dy = dpred;
        let mut dense_index = self.dense.len();
        for i in (0..n).rev() {
            let input = forward.inputs[i];
            match (self.architecture.layers[i], plan.layers[i]) {
                (Layer::Dense(d), LayerBuffers::Dense { z, y, dz, dx }) => {
                    dense_index -= 1;
                    let p = self.dense[dense_index];
                    let (w, dw, db) = (p.kernel(self.params), p.kernel(self.grads), p.bias(self.grads));
                    let dz = match d.activation {
                        Activation::Softmax if fused && i + 1 == n => dy,
                        Activation::Softmax => {
                            let dz = rows(dz.expect("softmax keeps dz"), r);
                            self.backend
                                .softmax_backward(&SoftmaxBackwardOp::new(rows(y, r), dy, dz))?;
                            dz
                        }
                        Activation::Linear => dy,
                        act => {
                            let dz = rows(dz.expect("non-linear layers keep dz"), r);
                            let z = rows(z.expect("non-linear layers keep z"), r);
                            self.backend
                                .activation_backward(&ActivationBackwardOp::new(dy, z, act).dz(dz).db(db))?;
                            dz
                        }
                    };
                    let bias_done = !matches!(d.activation, Activation::Softmax | Activation::Linear);
                    if !bias_done && let Some(db) = db {
                        self.backend
                            .activation_backward(&ActivationBackwardOp::bias_grad(dz, db))?;
                    }
                    self.backend
                        .matmul(&MatmulOp::new(input, dz, dw).transposed(true, false))?;
                    if let Some(dx) = dx {
                        let dx = rows(dx, r);
                        self.backend.matmul(&MatmulOp::new(dz, w, dx).transposed(false, true))?;
                        dy = dx;
                    }
                }
                (Layer::Dropout(d), LayerBuffers::Dropout { mask, dx, .. }) => {
                    // Backward runs only after a training forward pass, where dropout was active.
                    if let Some(dx) = dx
                        && d.rate > 0.0
                    {
                        let dx = rows(dx, r);
                        self.backend
                            .dropout_backward(&DropoutBackwardOp::new(dy, rows(mask, r), dx, d.rate))?;
                        dy = dx;
                    }
                }
                _ => unreachable!("plan buffers follow the layers"),
            }
        }
        Ok(())
    }

    /// Records one training step on rows `first .. first + r` of the epoch's order.
    pub(crate) fn train_step(&mut self, plan: &Plan, data: &DeviceData, first: usize, r: usize) -> Result<()> {
        let (x, y) = (rows(plan.x, r), rows(plan.y, r));
        let wb = rows(plan.weights, r);
        let single = data.chunks.len() == 1;
        for c in &data.chunks {
            let gather = |src, out| GatherRowsOp::new(src, data.order, first, out).chunk(c.row_base, single);
            self.backend.gather_rows(&gather(c.x, x))?;
            self.backend.gather_rows(&gather(c.y, y))?;
            if let Some(w) = c.weights {
                self.backend.gather_rows(&gather(w, wb))?;
            }
        }
        let weights = data.chunks[0].weights.map(|_| wb);
        let step = self.step + 1;
        let forward = self.forward(plan, x, Some(step as u32))?;
        let (row_loss, dpred) = (rows(plan.row_loss, r), rows(plan.dpred, r));
        self.score(&forward, y, weights, row_loss, Some(dpred), plan.acc)?;
        self.backward(plan, &forward, dpred)?;
        self.backend
            .optimizer_step(&OptimizerStepOp::new(&self.optimizer, step, self.params, self.grads).slots(&self.slots))?;
        self.step = step;
        Ok(())
    }

    /// Records the loss (with its gradient into `grad` when given) and the metric
    /// accumulation of one batch's forward pass.
    fn score(
        &mut self,
        forward: &Forward,
        target: Tensor,
        weights: Option<Tensor>,
        row_loss: Tensor,
        grad: Option<Tensor>,
        acc: Tensor,
    ) -> Result<()> {
        let loss = self.effective_loss();
        self.backend.loss(
            &LossOp::new(loss, forward.pred, target, row_loss)
                .weights(weights)
                .grad(grad),
        )?;
        self.backend
            .accumulate_metrics(&MetricsOp::new(forward.output, target, row_loss, acc).accuracy(self.accuracy))
    }

    /// Records the forward pass, loss and metrics of rows `first .. first + r` of `data` (in
    /// storage order), accumulating into `acc`.
    pub(crate) fn eval_batch(
        &mut self,
        plan: &Plan,
        data: &DeviceData,
        first: usize,
        r: usize,
        acc: Tensor,
    ) -> Result<()> {
        let chunk = data.chunk_of(first);
        let x = chunk.x.rows_range(first - chunk.row_base, r)?;
        let y = chunk.y.rows_range(first - chunk.row_base, r)?;
        let forward = self.forward(plan, x, None)?;
        self.score(&forward, y, None, rows(plan.row_loss, r), None, acc)
    }
}
