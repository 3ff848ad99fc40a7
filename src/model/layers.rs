//! Layer specifications for [`super::Sequential`]: `Dense` (x: [batch, in], W: [in, units],
//! y = act(x·W + b), the Keras layout) and `Dropout` (inverted dropout, active only in `fit`).

use crate::nn::Activation;
use crate::nn::init::Initializer;

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

/// One layer of a Sequential model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layer {
    /// A fully connected layer.
    Dense(Dense),
    /// A dropout layer.
    Dropout(Dropout),
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
