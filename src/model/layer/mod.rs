//! Layers. Each kind is one file holding its specification (what a user adds to a
//! [`super::Sequential`], Keras-style) and its compiled form, a [`LayerStep`] that owns its
//! parameter views and plan buffers and records its `forward` / `backward` pair through the
//! Backend (llm.c's pairs, candle's `Linear`).
//!
//! Adding a layer kind: a new file with the spec (implementing [`LayerSpec`]) and the step,
//! a variant of [`Layer`] and its arm in [`Layer::spec`].
//!
//! Shapes (the Keras layout): x is [B, in], W is [in, units], y = act(x·W + b); a plan holds
//! a full batch B and a short last batch uses the first r rows of every buffer.

mod dense;
mod dropout;

pub use dense::Dense;
pub use dropout::Dropout;

use crate::backend::{Backend, IndexedRows, Tensor};
use crate::nn::Activation;
use crate::rng::SeededRng;
use crate::{Error, Result};

/// One layer of a Sequential model.
///
/// ```
/// use wgtrain::model::{Dense, Dropout, Layer};
/// use wgtrain::nn::Activation;
/// let hidden: Layer = Dense::new(10, Activation::Relu).into();
/// assert_eq!(hidden.spec().output_width(8), 10);
/// assert_eq!(Layer::from(Dropout::new(0.2)).spec().output_width(10), 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layer {
    /// A fully connected layer.
    Dense(Dense),
    /// A dropout layer.
    Dropout(Dropout),
}

impl Layer {
    /// The specification behind the variant (the one match over layer kinds).
    pub fn spec(&self) -> &dyn LayerSpec {
        match self {
            Layer::Dense(d) => d,
            Layer::Dropout(d) => d,
        }
    }
}

impl From<Dense> for Layer {
    fn from(d: Dense) -> Self {
        Layer::Dense(d)
    }
}

impl From<Dropout> for Layer {
    fn from(d: Dropout) -> Self {
        Layer::Dropout(d)
    }
}

/// Where a layer sits in its model, as its compiled form needs to know.
///
/// ```
/// use wgtrain::model::{Dense, LayerPosition, LayerSpec};
/// use wgtrain::nn::Activation;
/// let position = LayerPosition {
///     index: 0,
///     input_width: 3,
///     first: true,
///     parameter_offset: 0,
///     seed: 0,
///     softmax_in_head: false,
/// };
/// let step = Dense::new(4, Activation::Tanh).compile(position);
/// assert_eq!(step.parameter_count(), 3 * 4 + 4);
/// // A first layer needs no dx buffer: y, z and dz at batch size 2.
/// assert_eq!(step.buffer_shapes(2), vec![(2, 4); 3]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LayerPosition {
    /// Index in the model's layer list.
    pub index: usize,
    /// Width of the layer's input.
    pub input_width: usize,
    /// Whether the input is the data (then no gradient flows further back).
    pub first: bool,
    /// Element offset of the layer's parameters in the model's flat parameter buffer.
    pub parameter_offset: usize,
    /// Seed of the model (initial weights, dropout masks).
    pub seed: u64,
    /// The loss head applies this layer's softmax itself (fused with cross-entropy), so the
    /// layer produces logits.
    pub softmax_in_head: bool,
}

/// What every layer specification tells the model, whatever its kind.
pub trait LayerSpec {
    /// Width of the output for an input of `input_width`.
    fn output_width(&self, input_width: usize) -> usize;

    /// Name and detail as `summary()` shows them, e.g. "Dense (relu)".
    fn describe(&self) -> String;

    /// Checks the specification at position `index` (`last`: the model's output layer).
    fn validate(&self, index: usize, last: bool) -> std::result::Result<(), String>;

    /// Whether the layer produces the model's output values (false for pass-through layers
    /// such as dropout, which cannot end a model).
    fn produces_output(&self) -> bool;

    /// The activation applied to the layer's output, if it has one (the loss head fuses an
    /// output softmax with cross-entropy).
    fn output_activation(&self) -> Option<crate::nn::Activation> {
        None
    }

    /// The compiled layer at `position`.
    fn compile(&self, position: LayerPosition) -> Box<dyn LayerStep>;
}

/// Where a layer's kernel and bias live in the flat parameter buffer (Dense-shaped weights:
/// what `Model::weights` and model files exchange).
///
/// ```
/// use wgtrain::model::WeightsLayout;
/// let layout = WeightsLayout { offset: 12, inputs: 3, units: 2, bias: true };
/// assert_eq!((layout.kernel_len(), layout.len()), (6, 8));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightsLayout {
    /// Element offset of the kernel; the bias follows it.
    pub offset: usize,
    /// Kernel rows.
    pub inputs: usize,
    /// Kernel columns (and bias length).
    pub units: usize,
    /// Whether a bias follows the kernel.
    pub bias: bool,
}

impl WeightsLayout {
    /// Elements of the kernel.
    pub fn kernel_len(&self) -> usize {
        self.inputs * self.units
    }

    /// Elements of kernel and bias.
    pub fn len(&self) -> usize {
        self.kernel_len() + if self.bias { self.units } else { 0 }
    }

    /// True when the layout holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a layer's `forward` / `backward` record onto: the backend, the model's flat
/// parameter and gradient buffers, and the rows of the current batch.
pub struct StepContext<'a> {
    /// The backend the model lives on.
    pub backend: &'a mut dyn Backend,
    /// The flat parameter buffer.
    pub params: Tensor,
    /// The flat gradient buffer (same layout).
    pub grads: Tensor,
    /// Rows of the current batch (at most the plan's batch size).
    pub rows: usize,
    /// `Some(step)` in training (dropout active, masks drawn for that step); `None` in
    /// evaluation and prediction.
    pub training_step: Option<u32>,
}

impl StepContext<'_> {
    /// The first `rows` rows of a plan buffer.
    pub fn batch_rows(&self, t: Tensor) -> Result<Tensor> {
        t.rows_range(0, self.rows)
    }
}

/// A compiled layer: its parameters (views into the flat buffers), its plan buffers and its
/// forward / backward pair.
pub trait LayerStep: Send {
    /// Name and detail as `summary()` shows them, e.g. "Dense (relu)".
    fn describe(&self) -> String;

    /// Width of the output.
    fn output_width(&self) -> usize;

    /// Parameters the layer keeps in the flat buffer.
    fn parameter_count(&self) -> usize {
        0
    }

    /// Appends the initial parameters, drawn from `rng`, in the layer's flat layout.
    fn init_parameters(&self, _rng: &mut SeededRng, _out: &mut Vec<f32>) {}

    /// The layer's kernel and bias layout, if it has Dense-shaped weights.
    fn weights_layout(&self) -> Option<WeightsLayout> {
        None
    }

    /// The [rows, cols] shape of every plan buffer the layer needs at batch size `batch`.
    fn buffer_shapes(&self, batch: usize) -> Vec<(usize, usize)>;

    /// Takes the plan buffers, allocated in the order and shapes of `buffer_shapes`.
    fn bind_buffers(&mut self, buffers: &[Tensor]);

    /// Records the forward pass of `x` ([r, input width]) and returns the output.
    fn forward(&mut self, ctx: &mut StepContext, x: Tensor) -> Result<Tensor>;

    /// Whether [`forward_indexed`](Self::forward_indexed) can read the input's rows through an
    /// index (a first layer reading the shuffled batch straight from the resident data, so
    /// the executor gathers nothing). False by default.
    fn reads_indexed_input(&self) -> bool {
        false
    }

    /// Records the forward pass of the rows of `data` that `rows` selects (`rows.rows` of
    /// them, = the rows of `ctx`); only called where
    /// [`reads_indexed_input`](Self::reads_indexed_input) is true.
    fn forward_indexed(&mut self, _ctx: &mut StepContext, _data: Tensor, _rows: IndexedRows) -> Result<Tensor> {
        Err(not_ready(&self.describe(), "reads no input through an index"))
    }

    /// Whether the layer's dx product can take the gradient on through the previous layer's
    /// activation ([`set_input_derivative`](Self::set_input_derivative)). False by default.
    fn takes_input_derivative(&self) -> bool {
        false
    }

    /// For the next `backward` only: its dx becomes dx ⊙ act′(z) for the previous layer's
    /// activation and pre-activation (what that layer's
    /// [`fold_output_derivative`](Self::fold_output_derivative) offered), so the previous
    /// layer receives its dz directly. Only called where
    /// [`takes_input_derivative`](Self::takes_input_derivative) is true.
    fn set_input_derivative(&mut self, _derivative: (Activation, Tensor)) {}

    /// Offers the loss head (or the next layer's dx product) this layer's output activation
    /// and its pre-activation [r, units] (for the rows of `ctx`), so it can return
    /// dz = dy ⊙ act′(z) directly; when it returns `Some`, the layer's next `backward`
    /// receives dz in place of dy. Layers whose
    /// output is not an element-wise activation of a kept z return `None` (the default).
    fn fold_output_derivative(&mut self, _ctx: &StepContext) -> Result<Option<(Activation, Tensor)>> {
        Ok(None)
    }

    /// Records the backward pass from `dy` (d loss / d output), writing the parameter
    /// gradients into the flat gradient buffer; returns d loss / d input, or `None` when the
    /// input is the data.
    fn backward(&mut self, ctx: &mut StepContext, dy: Tensor) -> Result<Option<Tensor>>;
}

/// The error of a layer used before its plan buffers were bound, or backward before forward
/// (an engine bug, reported rather than panicking mid-training).
pub(crate) fn not_ready(layer: &str, what: &str) -> Error {
    Error::InvalidArgument {
        what: "layer step",
        detail: format!("{layer}: {what}"),
    }
}
