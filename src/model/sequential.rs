//! The Sequential builder: an input width and a stack of layers, then `compile` with a loss,
//! an optimizer, metrics and a device, as in Keras.

use super::compiled::Model;
use super::layers::{Dense, Layer};
use super::metrics::Metric;
use crate::backend::gpu::AdapterChoice;
use crate::backend::{Backend, CpuBackend, GpuBackend};
use crate::nn::{Activation, Loss, Optimizer};
use crate::{Error, Result};

/// Where a model runs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Device {
    /// The GPU when an adapter exists, else the CPU with a one-line notice on stderr.
    #[default]
    Auto,
    /// The ndarray CPU backend.
    Cpu,
    /// A GPU adapter (an error when none matches).
    Gpu(AdapterChoice),
}

impl Device {
    /// Opens the backend.
    pub fn open(&self) -> Result<Box<dyn Backend>> {
        match self {
            Device::Cpu => Ok(Box::new(CpuBackend::new())),
            Device::Gpu(choice) => Ok(Box::new(GpuBackend::with_adapter(choice)?)),
            Device::Auto => match GpuBackend::new() {
                Ok(gpu) => Ok(Box::new(gpu)),
                Err(e) => {
                    eprintln!("wgtrain: no usable GPU ({e}); training on the CPU backend");
                    Ok(Box::new(CpuBackend::new()))
                }
            },
        }
    }
}

/// A stack of layers, built like Keras's `Sequential`.
///
/// ```
/// use wgtrain::model::{Dense, Device, Metric, Sequential};
/// use wgtrain::nn::{Activation, Loss, Optimizer};
/// let model = Sequential::new(8)
///     .add(Dense::new(10, Activation::Relu))
///     .add(Dense::new(1, Activation::Sigmoid))
///     .compile(Loss::BinaryCrossentropy { from_logits: false }, Optimizer::adam(), &[Metric::Accuracy], Device::Cpu)
///     .unwrap();
/// assert_eq!(model.parameter_count(), 8 * 10 + 10 + 10 + 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential {
    /// Width of each input row.
    pub input_width: usize,
    /// The layers in order.
    pub layers: Vec<Layer>,
    /// Seed of the initial weights and of dropout masks.
    pub seed: u64,
}

impl Sequential {
    /// An empty model taking rows of `input_width` features (seed 0).
    pub fn new(input_width: usize) -> Self {
        Sequential {
            input_width,
            layers: Vec::new(),
            seed: 0,
        }
    }

    /// Appends a layer (Keras's name for it).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Into<Layer>) -> Self {
        self.layers.push(layer.into());
        self
    }

    /// Sets the seed of the initial weights and dropout masks.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Width of the model's output.
    pub fn output_width(&self) -> usize {
        self.layers
            .iter()
            .rev()
            .find_map(|l| match l {
                Layer::Dense(d) => Some(d.units),
                Layer::Dropout(_) => None,
            })
            .unwrap_or(self.input_width)
    }

    /// The Dense layers with their input widths.
    pub(crate) fn dense_layers(&self) -> Vec<(usize, Dense)> {
        let mut width = self.input_width;
        let mut out = Vec::new();
        for layer in &self.layers {
            if let Layer::Dense(d) = layer {
                out.push((width, *d));
                width = d.units;
            }
        }
        out
    }

    /// Checks the architecture and that the loss fits the output.
    pub fn validate(&self, loss: Loss) -> Result<()> {
        let bad = |detail: String| Err(Error::InvalidArgument { what: "model", detail });
        if self.input_width == 0 {
            return bad("the input width must be at least 1".into());
        }
        let dense = self.dense_layers();
        if dense.is_empty() {
            return bad("a model needs at least one Dense layer".into());
        }
        if !matches!(self.layers.last(), Some(Layer::Dense(_))) {
            return bad("the last layer must be Dense (it gives the output)".into());
        }
        for (i, layer) in self.layers.iter().enumerate() {
            match layer {
                Layer::Dense(d) if d.units == 0 => {
                    return bad(format!("layer {i}: a Dense layer needs at least 1 unit"));
                }
                Layer::Dense(d) if d.activation == Activation::Softmax && i + 1 != self.layers.len() => {
                    return bad(format!("layer {i}: softmax is supported on the output layer only"));
                }
                Layer::Dropout(d) if !(0.0..1.0).contains(&d.rate) => {
                    return bad(format!("layer {i}: dropout rate must be in [0, 1), got {}", d.rate));
                }
                _ => {}
            }
        }
        let out = self.output_width();
        match loss {
            Loss::BinaryCrossentropy { .. } if out < 1 => bad("binary cross-entropy needs an output".into()),
            Loss::CategoricalCrossentropy { .. } | Loss::SparseCategoricalCrossentropy { .. } if out < 2 => {
                bad(format!(
                    "{} needs one output per class (at least 2), the model has {out}; use binary cross-entropy with 1 sigmoid output for two classes",
                    loss.name()
                ))
            }
            _ => Ok(()),
        }
    }

    /// Fixes the loss, optimizer and metrics, allocates the parameters on the device and draws
    /// the initial weights from the seed (identical on every backend).
    pub fn compile(self, loss: Loss, optimizer: Optimizer, metrics: &[Metric], device: Device) -> Result<Model> {
        let backend = device.open()?;
        self.compile_on(loss, optimizer, metrics, backend)
    }

    /// `compile` on a backend the caller opened.
    pub fn compile_on(
        self,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        backend: Box<dyn Backend>,
    ) -> Result<Model> {
        self.validate(loss)?;
        optimizer.validate()?;
        Model::new(self, loss, optimizer, metrics.to_vec(), backend)
    }
}
