//! Dense: x: [B, in], W: [in, units], b: [units], y = act(x·W + b) (the Keras layout).
//! Forward is one fused matmul + bias + activation dispatch (softmax: a linear product, then
//! the row softmax). Backward: dz = dy ⊙ act′(z) (none for a linear layer), then [dW; db] =
//! [x | 1]ᵀ·dz in one product (the bias gradient as the ones row's column sums, written just
//! after the kernel's gradient where the flat buffer keeps the bias) and dx = dz·Wᵀ, through
//! the matmul's transpose flags.
//!
//! Two folds save dispatches in a training step. A first layer reads the shuffled batch
//! straight from the resident data through the epoch's permutation (`forward_indexed`: x·W
//! and xᵀ·dz read x's rows through the index, so nothing is gathered). And the dx product
//! takes the gradient on through the previous Dense layer's activation
//! (dz_prev = (dz·Wᵀ) ⊙ act′(z_prev), the matmul's derivative epilogue), so that layer runs no
//! activation-backward pass of its own.

use super::{LayerPosition, LayerSpec, LayerStep, StepContext, WeightsLayout, not_ready};
use crate::Result;
use crate::backend::{ActivationBackwardOp, IndexedRows, MatmulOp, SoftmaxBackwardOp, SoftmaxOp, Tensor};
use crate::nn::Activation;
use crate::nn::init::Initializer;
use crate::rng::SeededRng;

/// A fully connected layer.
///
/// ```
/// use wgtrain::model::Dense;
/// use wgtrain::nn::Activation;
/// let layer = Dense::new(10, Activation::Relu).use_bias(false);
/// assert_eq!(layer.units, 10);
/// assert!(!layer.use_bias);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dense {
    /// Output width.
    pub units: usize,
    /// Activation applied to x·W + b.
    pub activation: Activation,
    /// Whether the layer has a bias.
    pub use_bias: bool,
    /// Initializer of W (Keras default: glorot_uniform).
    pub kernel_initializer: Initializer,
    /// Initializer of b (Keras default: zeros).
    pub bias_initializer: Initializer,
}

impl Dense {
    /// A layer with Keras's defaults: bias on, glorot_uniform kernel, zero bias.
    pub fn new(units: usize, activation: Activation) -> Self {
        Dense {
            units,
            activation,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
        }
    }

    /// Turns the bias on or off.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.use_bias = on;
        self
    }

    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }

    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, init: Initializer) -> Self {
        self.bias_initializer = init;
        self
    }
}

impl LayerSpec for Dense {
    fn output_width(&self, _input_width: usize) -> usize {
        self.units
    }

    fn describe(&self) -> String {
        format!("Dense ({})", self.activation.name())
    }

    fn validate(&self, index: usize, last: bool) -> std::result::Result<(), String> {
        if self.units == 0 {
            return Err(format!("layer {index}: a Dense layer needs at least 1 unit"));
        }
        if self.activation == Activation::Softmax && !last {
            return Err(format!("layer {index}: softmax is supported on the output layer only"));
        }
        Ok(())
    }

    fn produces_output(&self) -> bool {
        true
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn compile(&self, position: LayerPosition) -> Box<dyn LayerStep> {
        let computed = if position.softmax_in_head {
            Activation::Linear
        } else {
            self.activation
        };
        Box::new(DenseLayer {
            spec: *self,
            computed,
            layout: WeightsLayout {
                offset: position.parameter_offset,
                inputs: position.input_width,
                units: self.units,
                bias: self.use_bias,
            },
            first: position.first,
            buffers: None,
            input: None,
            dz_given: false,
            input_derivative: None,
        })
    }
}

/// How the layer's activation is computed, with the buffers each way needs.
#[derive(Clone, Copy, Debug)]
enum Buffers {
    /// y = x·W + b; dz is dy.
    Linear { y: Tensor },
    /// y = act(z) elementwise, z kept for the derivative.
    Elementwise { z: Tensor, y: Tensor, dz: Tensor },
    /// y = softmax(z) by rows (softmax not fused with the loss).
    Softmax { z: Tensor, y: Tensor, dz: Tensor },
}

/// A compiled Dense layer.
struct DenseLayer {
    spec: Dense,
    /// The activation this layer computes (linear when the loss head applies the softmax).
    computed: Activation,
    layout: WeightsLayout,
    first: bool,
    /// The plan buffers and dx [B, in] (absent for the first layer).
    buffers: Option<(Buffers, Option<Tensor>)>,
    /// The input of the last forward pass (for dW = xᵀ·dz), and the index its rows were read
    /// through (a first layer reading the resident data).
    input: Option<(Tensor, Option<IndexedRows>)>,
    /// The loss head (or the next layer) folded the activation derivative in: the next
    /// backward gets dz.
    dz_given: bool,
    /// The previous layer's activation and z, for the next backward's dx product.
    input_derivative: Option<(Activation, Tensor)>,
}

impl DenseLayer {
    fn kernel(&self, flat: Tensor) -> Result<Tensor> {
        flat.view(self.layout.offset, self.layout.inputs, self.layout.units)
    }

    fn bias(&self, flat: Tensor) -> Result<Option<Tensor>> {
        self.layout
            .bias
            .then(|| flat.view(self.layout.offset + self.layout.kernel_len(), 1, self.layout.units))
            .transpose()
    }

    fn buffers(&self) -> Result<(Buffers, Option<Tensor>)> {
        self.buffers
            .ok_or_else(|| not_ready("Dense", "used before its plan buffers were bound"))
    }
}

impl LayerStep for DenseLayer {
    fn describe(&self) -> String {
        self.spec.describe()
    }

    fn output_width(&self) -> usize {
        self.spec.units
    }

    fn parameter_count(&self) -> usize {
        self.layout.len()
    }

    fn init_parameters(&self, rng: &mut SeededRng, out: &mut Vec<f32>) {
        let (inputs, units) = (self.layout.inputs, self.layout.units);
        self.spec.kernel_initializer.sample_into(inputs, units, rng, out);
        if self.layout.bias {
            self.spec.bias_initializer.sample_into(1, units, rng, out);
        }
    }

    fn weights_layout(&self) -> Option<WeightsLayout> {
        Some(self.layout)
    }

    fn buffer_shapes(&self, batch: usize) -> Vec<(usize, usize)> {
        let out = (batch, self.spec.units);
        let mut shapes = match self.computed {
            Activation::Linear => vec![out],
            _ => vec![out, out, out],
        };
        if !self.first {
            shapes.push((batch, self.layout.inputs));
        }
        shapes
    }

    fn bind_buffers(&mut self, buffers: &[Tensor]) {
        let (kind, rest) = match (self.computed, buffers) {
            (Activation::Linear, [y, rest @ ..]) => (Buffers::Linear { y: *y }, rest),
            (Activation::Softmax, [y, z, dz, rest @ ..]) => (Buffers::Softmax { z: *z, y: *y, dz: *dz }, rest),
            (_, [y, z, dz, rest @ ..]) => (Buffers::Elementwise { z: *z, y: *y, dz: *dz }, rest),
            _ => return,
        };
        self.buffers = Some((kind, rest.first().copied()));
    }

    fn forward(&mut self, ctx: &mut StepContext, x: Tensor) -> Result<Tensor> {
        self.forward_rows(ctx, x, None)
    }

    fn reads_indexed_input(&self) -> bool {
        self.first
    }

    fn forward_indexed(&mut self, ctx: &mut StepContext, data: Tensor, rows: IndexedRows) -> Result<Tensor> {
        self.forward_rows(ctx, data, Some(rows))
    }

    fn takes_input_derivative(&self) -> bool {
        !self.first
    }

    fn set_input_derivative(&mut self, derivative: (Activation, Tensor)) {
        self.input_derivative = Some(derivative);
    }

    fn fold_output_derivative(&mut self, ctx: &StepContext) -> Result<Option<(Activation, Tensor)>> {
        match self.buffers()?.0 {
            Buffers::Elementwise { z, .. } => {
                self.dz_given = true;
                Ok(Some((self.computed, ctx.batch_rows(z)?)))
            }
            _ => Ok(None),
        }
    }

    fn backward(&mut self, ctx: &mut StepContext, dy: Tensor) -> Result<Option<Tensor>> {
        let dz_given = std::mem::take(&mut self.dz_given);
        let input_derivative = self.input_derivative.take();
        let (buffers, dx) = self.buffers()?;
        let (x, x_rows) = self
            .input
            .ok_or_else(|| not_ready("Dense", "backward ran before a forward pass"))?;
        let w = self.kernel(ctx.params)?;
        let dz = match buffers {
            Buffers::Linear { .. } => dy,
            Buffers::Elementwise { .. } if dz_given => dy,
            Buffers::Elementwise { z, dz, .. } => {
                let (z, dz) = (ctx.batch_rows(z)?, ctx.batch_rows(dz)?);
                ctx.backend
                    .activation_backward(&ActivationBackwardOp::new(dy, z, self.computed).dz(dz))?;
                dz
            }
            Buffers::Softmax { y, dz, .. } => {
                let (y, dz) = (ctx.batch_rows(y)?, ctx.batch_rows(dz)?);
                ctx.backend.softmax_backward(&SoftmaxBackwardOp::new(y, dy, dz))?;
                dz
            }
        };
        // [dW; db] = [x | 1]ᵀ·dz: the bias follows the kernel in the flat buffer, so one
        // product with a ones row writes both.
        let dwb = ctx.grads.view(
            self.layout.offset,
            self.layout.inputs + usize::from(self.layout.bias),
            self.layout.units,
        )?;
        ctx.backend.matmul(
            &MatmulOp::new(x, dz, dwb)
                .transposed(true, false)
                .ones_row(self.layout.bias)
                .a_rows_through(x_rows),
        )?;
        match dx {
            Some(dx) => {
                let dx = ctx.batch_rows(dx)?;
                ctx.backend.matmul(
                    &MatmulOp::new(dz, w, dx)
                        .transposed(false, true)
                        .derivative(input_derivative),
                )?;
                Ok(Some(dx))
            }
            None => Ok(None),
        }
    }
}

impl DenseLayer {
    /// The forward pass of `x`, or of the rows of `x` that `rows` selects.
    fn forward_rows(&mut self, ctx: &mut StepContext, x: Tensor, rows: Option<IndexedRows>) -> Result<Tensor> {
        let (buffers, _) = self.buffers()?;
        let (w, b) = (self.kernel(ctx.params)?, self.bias(ctx.params)?);
        self.input = Some((x, rows));
        let product = |out| MatmulOp::new(x, w, out).a_rows_through(rows);
        match buffers {
            Buffers::Linear { y } => {
                let y = ctx.batch_rows(y)?;
                ctx.backend.matmul(&product(y).epilogue(b, Activation::Linear, None))?;
                Ok(y)
            }
            Buffers::Elementwise { z, y, .. } => {
                let (z, y) = (ctx.batch_rows(z)?, ctx.batch_rows(y)?);
                ctx.backend.matmul(&product(y).epilogue(b, self.computed, Some(z)))?;
                Ok(y)
            }
            Buffers::Softmax { z, y, .. } => {
                let (z, y) = (ctx.batch_rows(z)?, ctx.batch_rows(y)?);
                ctx.backend.matmul(&product(z).epilogue(b, Activation::Linear, None))?;
                ctx.backend.softmax(&SoftmaxOp::new(z, y))?;
                Ok(y)
            }
        }
    }
}
