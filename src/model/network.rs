//! The compiled layers and the loss head of one model, and the walks over them: forward
//! through the layers in order, backward in reverse, each layer recording its own pair. The
//! parameters of all layers live in one flat buffer (so the optimizer updates every one of
//! them in a single dispatch); each layer knows its offset in it.

use super::head::{LossHead, Targets};
use super::layer::{LayerPosition, LayerStep, StepContext, WeightsLayout};
use super::sequential::Sequential;
use crate::Result;
use crate::backend::Tensor;
use crate::nn::Loss;
use crate::rng::SeededRng;

/// Compiled layers and loss head.
pub(crate) struct Network {
    pub layers: Vec<Box<dyn LayerStep>>,
    pub head: LossHead,
    pub input_width: usize,
}

impl Network {
    /// Compiles `architecture`'s layers for `loss` (validated before).
    pub fn build(architecture: &Sequential, loss: Loss) -> Network {
        let head = LossHead::new(loss, &architecture.layers, architecture.output_width());
        let last = architecture.layers.len().saturating_sub(1);
        let mut width = architecture.input_width;
        let mut offset = 0;
        let mut layers = Vec::with_capacity(architecture.layers.len());
        for (index, layer) in architecture.layers.iter().enumerate() {
            let step = layer.spec().compile(LayerPosition {
                index,
                input_width: width,
                first: index == 0,
                parameter_offset: offset,
                seed: architecture.seed,
                softmax_in_head: head.softmax_fused() && index == last,
            });
            width = step.output_width();
            offset += step.parameter_count();
            layers.push(step);
        }
        Network {
            layers,
            head,
            input_width: architecture.input_width,
        }
    }

    /// Parameters of every layer.
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(|l| l.parameter_count()).sum()
    }

    /// Appends the initial parameters drawn from `seed` (identical on every backend).
    pub fn initial_parameters(&self, seed: u64, out: &mut Vec<f32>) {
        let mut rng = SeededRng::new(seed);
        for layer in &self.layers {
            layer.init_parameters(&mut rng, out);
        }
    }

    /// The kernel/bias layout of each layer that has Dense-shaped weights, in order.
    pub fn weights_layouts(&self) -> Vec<WeightsLayout> {
        self.layers.iter().filter_map(|l| l.weights_layout()).collect()
    }

    /// Shapes of every plan buffer of the layers and the head at batch size `batch`.
    pub fn buffer_shapes(&self, batch: usize) -> Vec<(usize, usize)> {
        self.layers
            .iter()
            .flat_map(|l| l.buffer_shapes(batch))
            .chain(self.head.buffer_shapes(batch))
            .collect()
    }

    /// Hands each layer and the head its buffers, allocated in the order of `buffer_shapes`.
    pub fn bind_buffers(&mut self, batch: usize, buffers: &[Tensor]) {
        let mut rest = buffers;
        for layer in &mut self.layers {
            let n = layer.buffer_shapes(batch).len().min(rest.len());
            layer.bind_buffers(&rest[..n]);
            rest = &rest[n..];
        }
        self.head.bind_buffers(rest);
    }

    /// Records the forward pass of `x` and returns what the loss reads (logits when the head
    /// applies the softmax).
    pub fn forward(&mut self, ctx: &mut StepContext, x: Tensor) -> Result<Tensor> {
        let mut current = x;
        for layer in &mut self.layers {
            current = layer.forward(ctx, current)?;
        }
        Ok(current)
    }

    /// Records the backward pass from d loss / d pred.
    pub fn backward(&mut self, ctx: &mut StepContext, dpred: Tensor) -> Result<()> {
        let mut dy = Some(dpred);
        for layer in self.layers.iter_mut().rev() {
            match dy {
                Some(d) => dy = layer.backward(ctx, d)?,
                None => break,
            }
        }
        Ok(())
    }

    /// Records forward, loss, metrics and (in training) backward of one batch.
    pub fn step(&mut self, ctx: &mut StepContext, x: Tensor, targets: Targets, acc: Tensor) -> Result<()> {
        let pred = self.forward(ctx, x)?;
        let training = ctx.training_step.is_some();
        // The head takes the gradient on through the output layer's activation when the
        // layer offers it (one kernel instead of two).
        let derivative = match (training, self.layers.last_mut()) {
            (true, Some(last)) => last.fold_output_derivative(ctx)?,
            _ => None,
        };
        if let Some(dpred) = self.head.score(ctx, pred, targets, acc, training, derivative)? {
            self.backward(ctx, dpred)?;
        }
        Ok(())
    }

    /// Records the forward pass of `x` and returns the model's output (probabilities for a
    /// softmax the head applies).
    pub fn predict(&mut self, ctx: &mut StepContext, x: Tensor) -> Result<Tensor> {
        let pred = self.forward(ctx, x)?;
        self.head.output(ctx, pred)
    }
}
