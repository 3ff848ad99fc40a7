//! The compiled layers and the loss head of one model, and the walks over them: forward
//! through the layers in order, backward in reverse, each layer recording its own pair. The
//! parameters of all layers live in one flat buffer (so the optimizer updates every one of
//! them in a single dispatch); each layer knows its offset in it. Two folds cross layer
//! boundaries here: the first layer may read the batch through the epoch's permutation
//! ([`Input::Indexed`]), and a layer's dx product may take the gradient on through the
//! previous layer's activation (`takes_input_derivative`), so that layer gets dz directly.

use super::head::{LossHead, Targets};
use super::layer::{LayerPosition, LayerStep, StepContext, WeightsLayout};
use super::sequential::Sequential;
use crate::Result;
use crate::backend::{IndexedRows, Tensor};
use crate::nn::Loss;
use crate::rng::SeededRng;

/// The batch a step reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Input {
    /// The batch's rows, [r, in].
    Rows(Tensor),
    /// The rows of a resident data chunk that an index selects (only where the first layer
    /// `reads_indexed_input`).
    Indexed { data: Tensor, rows: IndexedRows },
}

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

    /// Whether the first layer reads its input through an index ([`Input::Indexed`]).
    pub fn reads_indexed_input(&self) -> bool {
        self.layers.first().is_some_and(|l| l.reads_indexed_input())
    }

    /// Records the forward pass of `x` and returns what the loss reads (logits when the head
    /// applies the softmax).
    pub fn forward(&mut self, ctx: &mut StepContext, x: Input) -> Result<Tensor> {
        let mut layers = self.layers.iter_mut();
        let mut current = match (x, layers.next()) {
            (Input::Rows(x), Some(first)) => first.forward(ctx, x)?,
            (Input::Indexed { data, rows }, Some(first)) => first.forward_indexed(ctx, data, rows)?,
            (Input::Rows(x), None) => x,
            (Input::Indexed { .. }, None) => {
                return Err(super::layer::not_ready("network", "no layer reads the indexed input"));
            }
        };
        for layer in layers {
            current = layer.forward(ctx, current)?;
        }
        Ok(current)
    }

    /// Records the backward pass from d loss / d pred. Where a layer takes the gradient on
    /// through the previous layer's activation, that layer offers it first (and then gets
    /// dz).
    pub fn backward(&mut self, ctx: &mut StepContext, dpred: Tensor) -> Result<()> {
        let mut dy = Some(dpred);
        for i in (0..self.layers.len()).rev() {
            let Some(d) = dy else { break };
            let (before, rest) = self.layers.split_at_mut(i);
            let layer = &mut rest[0];
            if let Some(previous) = before.last_mut()
                && layer.takes_input_derivative()
                && let Some(derivative) = previous.fold_output_derivative(ctx)?
            {
                layer.set_input_derivative(derivative);
            }
            dy = layer.backward(ctx, d)?;
        }
        Ok(())
    }

    /// Records forward, loss, metrics and (in training) backward of one batch.
    pub fn step(&mut self, ctx: &mut StepContext, x: Input, targets: Targets, acc: Tensor) -> Result<()> {
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
        let pred = self.forward(ctx, Input::Rows(x))?;
        self.head.output(ctx, pred)
    }
}
