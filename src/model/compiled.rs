//! A compiled model: its parameters live on the backend in one flat buffer (so the optimizer
//! updates all of them in one dispatch), with a gradient buffer and the optimizer's state of
//! the same layout. Each Dense layer holds views into them.

use super::layers::{Dense, Layer};
use super::metrics::Metric;
use super::plan::Plan;
use super::sequential::Sequential;
use crate::backend::{Backend, Counters, Tensor};
use crate::nn::init::SeededRng;
use crate::nn::{Accuracy, Loss, Optimizer};
use crate::{Error, Result};

/// One Dense layer's weights: the kernel [inputs × units] row-major, and the bias if any.
pub type LayerWeights = (Vec<f32>, Option<Vec<f32>>);

/// Views of one Dense layer's parameters (in the flat buffers) and its shape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DenseParams {
    pub spec: Dense,
    pub inputs: usize,
    /// Offset of W in the flat buffers; b follows W when present.
    pub offset: usize,
}

impl DenseParams {
    pub fn kernel_len(&self) -> usize {
        self.inputs * self.spec.units
    }

    pub fn len(&self) -> usize {
        self.kernel_len() + if self.spec.use_bias { self.spec.units } else { 0 }
    }

    /// W as a [inputs, units] view of `flat`.
    pub fn kernel(&self, flat: Tensor) -> Tensor {
        flat.view(self.offset, self.inputs, self.spec.units)
            .expect("layout fits the flat buffer")
    }

    /// b as a [1, units] view of `flat`.
    pub fn bias(&self, flat: Tensor) -> Option<Tensor> {
        self.spec.use_bias.then(|| {
            flat.view(self.offset + self.kernel_len(), 1, self.spec.units)
                .expect("layout fits")
        })
    }
}

/// A trained or trainable model on one backend.
pub struct Model {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) architecture: Sequential,
    pub(crate) dense: Vec<DenseParams>,
    pub(crate) loss: Loss,
    pub(crate) optimizer: Optimizer,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) params: Tensor,
    pub(crate) grads: Tensor,
    pub(crate) slots: Vec<Tensor>,
    /// The weights at the end of the last good epoch (TerminateOnNaN rolls back to them).
    pub(crate) last_good: Tensor,
    /// The same weights on the host, refreshed by the one read-back of each epoch.
    pub(crate) host_weights: Vec<f32>,
    /// Training metrics, validation metrics and weights, gathered for that one read-back.
    pub(crate) epoch_out: Tensor,
    /// The accuracy counted on the device: the loss's (as Keras pairs them), or for a
    /// regression loss binary accuracy at 0.5 on one output and categorical on several.
    pub(crate) accuracy: Accuracy,
    /// Optimizer steps taken so far.
    pub(crate) step: u64,
    /// Epochs trained so far (each epoch's shuffle is drawn from the seed and this count, so
    /// training 5 + 5 epochs equals training 10).
    pub(crate) epochs_trained: u64,
    pub(crate) plan: Option<Plan>,
}

impl Model {
    pub(crate) fn new(
        architecture: Sequential,
        loss: Loss,
        optimizer: Optimizer,
        metrics: Vec<Metric>,
        mut backend: Box<dyn Backend>,
    ) -> Result<Self> {
        let mut dense = Vec::new();
        let mut offset = 0;
        for (inputs, spec) in architecture.dense_layers() {
            let p = DenseParams { spec, inputs, offset };
            offset += p.len();
            dense.push(p);
        }
        let total = offset;
        let architecture_output = architecture.output_width();
        let mut rng = SeededRng::new(architecture.seed);
        // Checked against the device first, then reserved: a model too large is an error.
        let (max_bytes, limit) = backend.max_tensor_bytes();
        let bytes = (total as u64).saturating_mul(4);
        if bytes > max_bytes {
            return Err(Error::LimitExceeded {
                what: format!("{total} parameters"),
                limit,
                max: max_bytes,
                requested: bytes,
            });
        }
        let mut initial = Vec::new();
        initial.try_reserve_exact(total).map_err(|_| Error::HostOutOfMemory {
            what: format!("{total} parameters"),
            requested: bytes,
        })?;
        for p in &dense {
            p.spec
                .kernel_initializer
                .sample_into(p.inputs, p.spec.units, &mut rng, &mut initial);
            if p.spec.use_bias {
                p.spec
                    .bias_initializer
                    .sample_into(1, p.spec.units, &mut rng, &mut initial);
            }
        }
        let params = backend.upload(1, total, &initial)?;
        let grads = backend.zeros(1, total)?;
        let slots = (0..optimizer.slots())
            .map(|_| backend.zeros(1, total))
            .collect::<Result<Vec<_>>>()?;
        let last_good = backend.upload(1, total, &initial)?;
        let epoch_out = backend.zeros(1, 2 * crate::backend::metric_slot::COUNT + total)?;
        Ok(Model {
            backend,
            architecture,
            dense,
            loss,
            optimizer,
            metrics,
            params,
            grads,
            slots,
            last_good,
            host_weights: initial,
            epoch_out,
            accuracy: loss.accuracy().unwrap_or(if architecture_output == 1 {
                Accuracy::Binary { threshold: 0.5 }
            } else {
                Accuracy::Categorical
            }),
            step: 0,
            epochs_trained: 0,
            plan: None,
        })
    }

    /// Number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.params.len()
    }

    /// The backend's name (adapter and API, or the CPU).
    pub fn backend_name(&self) -> String {
        self.backend.name()
    }

    /// The backend's work counters (submits, read-backs, allocations, dispatches).
    pub fn counters(&self) -> Counters {
        self.backend.counters()
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The optimizer, with its current learning rate.
    pub fn optimizer(&self) -> Optimizer {
        self.optimizer
    }

    /// Changes the learning rate from the next step on. Errors when the optimizer's learning
    /// rate follows a schedule (as Keras does).
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        self.optimizer.set_learning_rate(lr)
    }

    /// Epochs trained so far.
    pub fn epochs_trained(&self) -> u64 {
        self.epochs_trained
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The architecture.
    pub fn architecture(&self) -> &Sequential {
        &self.architecture
    }

    /// Each Dense layer's (kernel [inputs × units, row-major], bias) read from the device.
    pub fn weights(&mut self) -> Result<Vec<LayerWeights>> {
        let all = self.backend.read(self.params)?;
        Ok(self.split_layers(&all))
    }

    /// Cuts a flat parameter vector into each Dense layer's (kernel, bias).
    fn split_layers(&self, all: &[f32]) -> Vec<LayerWeights> {
        self.dense
            .iter()
            .map(|p| {
                let k = all[p.offset..p.offset + p.kernel_len()].to_vec();
                let b = p
                    .spec
                    .use_bias
                    .then(|| all[p.offset + p.kernel_len()..p.offset + p.len()].to_vec());
                (k, b)
            })
            .collect()
    }

    /// The weights at the end of the last good epoch, from host memory: available even when
    /// the device was lost, so the model can still be saved.
    pub fn last_good_weights(&self) -> Vec<LayerWeights> {
        self.split_layers(&self.host_weights)
    }

    /// Replaces the weights of every Dense layer (same layout as [`Model::weights`]).
    pub fn set_weights(&mut self, weights: &[LayerWeights]) -> Result<()> {
        if weights.len() != self.dense.len() {
            return Err(Error::Shape {
                op: "set_weights",
                detail: format!(
                    "{} layers given, the model has {} Dense layers",
                    weights.len(),
                    self.dense.len()
                ),
            });
        }
        let mut flat = Vec::with_capacity(self.params.len());
        for (i, (p, (k, b))) in self.dense.iter().zip(weights).enumerate() {
            let bias_len = b.as_ref().map_or(0, Vec::len);
            let want_bias = if p.spec.use_bias { p.spec.units } else { 0 };
            if k.len() != p.kernel_len() || bias_len != want_bias {
                return Err(Error::Shape {
                    op: "set_weights",
                    detail: format!(
                        "layer {i}: kernel of {} and bias of {bias_len} values given, [{}, {}] and {want_bias} needed",
                        k.len(),
                        p.inputs,
                        p.spec.units
                    ),
                });
            }
            flat.extend_from_slice(k);
            flat.extend(b.iter().flatten());
        }
        if let Some(at) = flat.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument {
                what: "weights",
                detail: format!(
                    "value {at} of the flat parameter list is {}; weights must be finite",
                    flat[at]
                ),
            });
        }
        self.backend.write(self.params, &flat)?;
        self.backend.write(self.last_good, &flat)?;
        self.host_weights = flat;
        Ok(())
    }

    /// The optimizer state as flat vectors, one per slot (same layout as the parameters).
    pub fn optimizer_state(&mut self) -> Result<Vec<Vec<f32>>> {
        let slots = self.slots.clone();
        slots.iter().map(|s| self.backend.read(*s)).collect()
    }

    /// Replaces the optimizer state and step count (to continue training from a file).
    pub fn set_optimizer_state(&mut self, step: u64, slots: &[Vec<f32>]) -> Result<()> {
        if slots.len() != self.slots.len() {
            return Err(Error::Shape {
                op: "set_optimizer_state",
                detail: format!("{} slots given, the optimizer keeps {}", slots.len(), self.slots.len()),
            });
        }
        for (t, v) in self.slots.clone().iter().zip(slots) {
            self.backend.write(*t, v)?;
        }
        self.step = step;
        Ok(())
    }

    /// A table of the layers, their output shapes and parameter counts, and the device memory
    /// the training plan allocates at `batch_size`.
    pub fn summary(&self, batch_size: usize) -> String {
        let mut s = String::new();
        s.push_str(&format!("Model on {}\n", self.backend.name()));
        s.push_str(&format!(
            "{:<4} {:<28} {:<16} {:>10}\n",
            "#", "Layer (activation)", "Output shape", "Params"
        ));
        let mut width = self.architecture.input_width;
        let mut dense = self.dense.iter();
        for (i, layer) in self.architecture.layers.iter().enumerate() {
            let (name, params) = match layer {
                Layer::Dense(d) => {
                    width = d.units;
                    (
                        format!("Dense ({})", d.activation.name()),
                        dense.next().map_or(0, DenseParams::len),
                    )
                }
                Layer::Dropout(d) => (format!("Dropout ({})", d.rate), 0),
            };
            s.push_str(&format!(
                "{i:<4} {name:<28} {:<16} {params:>10}\n",
                format!("(None, {width})")
            ));
        }
        s.push_str(&format!("Total params: {}\n", self.parameter_count()));
        let bytes = Plan::estimate_bytes(self, batch_size);
        s.push_str(&format!(
            "Optimizer: {:?}\nDevice memory at batch size {batch_size}: {:.2} MiB (parameters, gradients, optimizer state and activations; data sets come on top)\n",
            self.optimizer,
            bytes as f64 / (1 << 20) as f64
        ));
        s
    }
}
