//! Dropout (inverted): during `fit`, each value of x: [B, width] is zeroed with probability
//! `rate` and the rest are scaled by 1 / (1 − rate); the keep-mask is drawn on the device from
//! (seed, step, element) (see [`crate::nn::dropout`]) and kept for the backward pass,
//! dx = dy ⊙ mask / (1 − rate). At evaluation and prediction values pass through.

use super::{LayerPosition, LayerSpec, LayerStep, StepContext, not_ready};
use crate::Result;
use crate::backend::{DropoutBackwardOp, DropoutOp, Tensor};
use crate::nn::dropout::lowbias32;

/// Inverted dropout: during `fit`, each value is zeroed with probability `rate` and the rest
/// are scaled by 1 / (1 − rate); at evaluation and prediction it passes values through.
///
/// ```
/// use wgtrain::model::Dropout;
/// assert_eq!(Dropout::new(0.5).rate, 0.5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// Probability of dropping a value, in [0, 1).
    pub rate: f32,
}

impl Dropout {
    /// A dropout layer.
    pub fn new(rate: f32) -> Self {
        Dropout { rate }
    }
}

impl LayerSpec for Dropout {
    fn output_width(&self, input_width: usize) -> usize {
        input_width
    }

    fn describe(&self) -> String {
        format!("Dropout ({})", self.rate)
    }

    fn validate(&self, index: usize, _last: bool) -> std::result::Result<(), String> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(format!(
                "layer {index}: dropout rate must be in [0, 1), got {}",
                self.rate
            ));
        }
        Ok(())
    }

    fn produces_output(&self) -> bool {
        false
    }

    fn compile(&self, position: LayerPosition) -> Box<dyn LayerStep> {
        Box::new(DropoutLayer {
            rate: self.rate,
            width: position.input_width,
            // Each dropout layer draws its own masks: the model seed mixed with its index.
            // Both halves of the 64-bit seed count.
            seed: ((position.seed ^ (position.seed >> 32)) as u32) ^ lowbias32(position.index as u32 + 1),
            first: position.first,
            buffers: None,
            active: false,
        })
    }
}

/// A compiled dropout layer.
struct DropoutLayer {
    rate: f32,
    width: usize,
    seed: u32,
    first: bool,
    /// mask, y [B, width] and dx [B, width] (absent for a first layer).
    buffers: Option<(Tensor, Tensor, Option<Tensor>)>,
    /// Whether the last forward pass dropped values (training with a rate above zero).
    active: bool,
}

impl LayerStep for DropoutLayer {
    fn describe(&self) -> String {
        format!("Dropout ({})", self.rate)
    }

    fn output_width(&self) -> usize {
        self.width
    }

    fn buffer_shapes(&self, batch: usize) -> Vec<(usize, usize)> {
        let shape = (batch, self.width);
        if self.first { vec![shape; 2] } else { vec![shape; 3] }
    }

    fn bind_buffers(&mut self, buffers: &[Tensor]) {
        if let [mask, y, rest @ ..] = buffers {
            self.buffers = Some((*mask, *y, rest.first().copied()));
        }
    }

    fn forward(&mut self, ctx: &mut StepContext, x: Tensor) -> Result<Tensor> {
        let (mask, y, _) = self
            .buffers
            .ok_or_else(|| not_ready("Dropout", "used before its plan buffers were bound"))?;
        self.active = false;
        match ctx.training_step {
            Some(step) if self.rate > 0.0 => {
                let (mask, y) = (ctx.batch_rows(mask)?, ctx.batch_rows(y)?);
                ctx.backend
                    .dropout(&DropoutOp::new(x, mask, y, self.rate).seed(self.seed, step))?;
                self.active = true;
                Ok(y)
            }
            _ => Ok(x),
        }
    }

    fn backward(&mut self, ctx: &mut StepContext, dy: Tensor) -> Result<Option<Tensor>> {
        let (mask, _, dx) = self
            .buffers
            .ok_or_else(|| not_ready("Dropout", "used before its plan buffers were bound"))?;
        match dx {
            None => Ok(None),
            Some(dx) if self.active => {
                let (mask, dx) = (ctx.batch_rows(mask)?, ctx.batch_rows(dx)?);
                ctx.backend
                    .dropout_backward(&DropoutBackwardOp::new(dy, mask, dx, self.rate))?;
                Ok(Some(dx))
            }
            Some(_) => Ok(Some(dy)),
        }
    }
}
