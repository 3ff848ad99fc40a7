//! A compiled model: the compiled layers and loss head ([`Network`]), their parameters on the
//! backend in one flat buffer (so the optimizer updates all of them in one dispatch) with a
//! gradient buffer and the optimizer's state of the same layout, and the executor that runs
//! its steps.

use super::executor::fused::design::Design;
use super::executor::{self, Execution, Executor, ExecutorChoice, RunContext};
use super::layer::WeightsLayout;
use super::metrics::Metric;
use super::network::Network;
use super::owned::ReleaseQueue;
use super::sequential::Sequential;
use crate::backend::{Backend, BackendKind, Counters, Tensor, metric_slot};
use crate::nn::{Accuracy, Loss, Optimizer};
use crate::{Error, Result};

/// Bytes of a model's tensors that do not depend on the batch size: parameters, gradients,
/// the optimizer's slots, the rollback copy, the epoch's read-back buffer and the metric
/// accumulators (computed from the parameter count; nothing is allocated).
pub(crate) fn fixed_bytes(parameters: u64, optimizer_slots: usize) -> u64 {
    // Parameters, gradients, the last good copy and the epoch's read-back buffer, plus the
    // optimizer state and its last good copy.
    parameters
        .saturating_mul(4 + 2 * optimizer_slots as u64)
        .saturating_add(4 * metric_slot::COUNT as u64)
        .saturating_mul(4)
}

/// One Dense layer's weights: the kernel [inputs × units] row-major, and the bias if any.
pub type LayerWeights = (Vec<f32>, Option<Vec<f32>>);

/// A trained or trainable model on one backend.
pub struct Model {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) architecture: Sequential,
    pub(crate) network: Network,
    pub(crate) optimizer: Optimizer,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) loss: Loss,
    pub(crate) params: Tensor,
    pub(crate) grads: Tensor,
    pub(crate) slots: Vec<Tensor>,
    /// The weights at the end of the last good epoch (TerminateOnNaN rolls back to them).
    pub(crate) last_good: Tensor,
    /// The optimizer state and step count at the end of that epoch (rolled back with them).
    pub(crate) last_good_slots: Vec<Tensor>,
    pub(crate) last_good_step: u64,
    /// The same weights on the host, refreshed by the one read-back of each epoch.
    pub(crate) host_weights: Vec<f32>,
    /// Where a parameter of the last epoch's read-back was NaN or infinite (then not taken
    /// as the last good weights): its index and value.
    pub(crate) bad_parameter: Option<(usize, f32)>,
    /// Training metrics, validation metrics and weights, gathered for that one read-back.
    pub(crate) epoch_out: Tensor,
    /// Metric accumulators of training and validation, `metric_slot::COUNT` values each.
    pub(crate) acc: Tensor,
    pub(crate) val_acc: Tensor,
    /// Optimizer steps taken so far.
    pub(crate) step: u64,
    /// Epochs trained so far (each epoch's shuffle is drawn from the seed and this count, so
    /// training 5 + 5 epochs equals training 10).
    pub(crate) epochs_trained: u64,
    pub(crate) executor: Box<dyn Executor>,
    pub(crate) executor_choice: ExecutorChoice,
    /// Buffers whose guards dropped, freed at the next call.
    pub(crate) release: ReleaseQueue,
    /// Why the model runs on the CPU when a GPU was asked for with `Device::Auto`.
    pub(crate) device_notice: Option<String>,
}

impl Model {
    pub(crate) fn new(
        architecture: Sequential,
        loss: Loss,
        optimizer: Optimizer,
        metrics: Vec<Metric>,
        mut backend: Box<dyn Backend>,
        execution: Execution,
    ) -> Result<Self> {
        let network = Network::build(&architecture, loss);
        let total = network.parameter_count();
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
        // The whole model against the memory the process may use: the host copy of the
        // weights, and on the CPU every tensor of the model.
        let host_bytes = match backend.id().kind() {
            BackendKind::Cpu => bytes.saturating_add(fixed_bytes(total as u64, optimizer.slots())),
            BackendKind::Gpu => bytes,
        };
        crate::memory::check(
            &format!("a model of {total} parameters (weights, gradients, optimizer state)"),
            host_bytes,
        )?;
        let mut initial = Vec::new();
        initial.try_reserve_exact(total).map_err(|_| Error::HostOutOfMemory {
            what: format!("{total} parameters"),
            requested: bytes,
        })?;
        network.initial_parameters(architecture.seed, &mut initial);
        let params = backend.upload(1, total, &initial)?;
        let grads = backend.zeros(1, total)?;
        let slots = (0..optimizer.slots())
            .map(|_| backend.zeros(1, total))
            .collect::<Result<Vec<_>>>()?;
        let last_good = backend.upload(1, total, &initial)?;
        let last_good_slots = (0..optimizer.slots())
            .map(|_| backend.zeros(1, total))
            .collect::<Result<Vec<_>>>()?;
        let epoch_out = backend.zeros(1, 2 * metric_slot::COUNT + total)?;
        let acc = backend.zeros(1, metric_slot::COUNT)?;
        let val_acc = backend.zeros(1, metric_slot::COUNT)?;
        let head = &network.head;
        let (executor, executor_choice) = executor::build(
            execution,
            || {
                Design::new(
                    &architecture,
                    head.computed_loss(),
                    head.softmax_fused(),
                    head.accuracy(),
                    head.target_width(),
                    &optimizer,
                )
            },
            &optimizer,
            backend.as_ref(),
        )?;
        Ok(Model {
            backend,
            architecture,
            network,
            loss,
            optimizer,
            metrics,
            params,
            grads,
            slots,
            last_good,
            last_good_slots,
            last_good_step: 0,
            host_weights: initial,
            bad_parameter: None,
            epoch_out,
            acc,
            val_acc,
            step: 0,
            epochs_trained: 0,
            executor,
            executor_choice,
            release: ReleaseQueue::default(),
            device_notice: None,
        })
    }

    /// The executor and the parts of the model it works on, borrowed together.
    pub(crate) fn run_parts(&mut self) -> (&mut dyn Executor, RunContext<'_>) {
        self.release.drain(self.backend.as_mut());
        (
            self.executor.as_mut(),
            RunContext {
                backend: self.backend.as_mut(),
                network: &mut self.network,
                params: self.params,
                grads: self.grads,
                slots: &self.slots,
                optimizer: &self.optimizer,
                step: &mut self.step,
                release: &self.release,
            },
        )
    }

    /// Makes sure the executor has a plan for batches of `batch` rows.
    pub(crate) fn prepare(&mut self, batch: usize) -> Result<()> {
        let (executor, mut run) = self.run_parts();
        executor.prepare(&mut run, batch)
    }

    /// Makes sure the executor can train at batches of `batch` rows; the executor choice then
    /// says what runs at that batch size.
    pub(crate) fn prepare_training(&mut self, batch: usize) -> Result<()> {
        let (executor, mut run) = self.run_parts();
        executor.prepare_training(&mut run, batch)?;
        if let Some(choice) = self.executor.choice_at(batch) {
            self.executor_choice = choice;
        }
        Ok(())
    }

    /// Which executor runs this model, and why.
    pub fn executor(&self) -> &ExecutorChoice {
        &self.executor_choice
    }

    /// Why the model runs on the CPU although a GPU was asked for with `Device::Auto` (for the
    /// caller to show); `None` when it runs where it was asked to.
    pub fn device_notice(&self) -> Option<&str> {
        self.device_notice.as_deref()
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

    /// The matmul variant the backend ran per shape class, and how each was chosen (empty on
    /// the CPU backend).
    pub fn matmul_choices(&self) -> Vec<crate::backend::gpu::matmul_variants::MatmulChoice> {
        self.backend.matmul_choices()
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The accuracy counted on the device: the loss's (as Keras pairs them), or for a
    /// regression loss binary accuracy at 0.5 on one output and categorical on several.
    pub fn accuracy(&self) -> Accuracy {
        self.network.head.accuracy()
    }

    /// The optimizer as it stands (its learning rate as set, or its schedule).
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

    /// Where each Dense layer's kernel and bias live in the flat parameter vector.
    pub fn weights_layouts(&self) -> Vec<WeightsLayout> {
        self.network.weights_layouts()
    }

    /// Each Dense layer's (kernel [inputs × units, row-major], bias) read from the device
    /// (blocking; in a browser a GPU model refuses: await [`Model::weights_async`]).
    pub fn weights(&mut self) -> Result<Vec<LayerWeights>> {
        let all = self.backend.read(self.params)?;
        Ok(self.split_layers(&all))
    }

    /// [`Model::weights`], awaiting the read-back instead of blocking.
    pub async fn weights_async(&mut self) -> Result<Vec<LayerWeights>> {
        let all = self.backend.read_async(self.params).await?;
        Ok(self.split_layers(&all))
    }

    /// The gradients of the last training step, per Dense layer in the layout of
    /// [`Model::weights`] (d mean loss / d kernel, d mean loss / d bias), read from the device.
    pub fn gradients(&mut self) -> Result<Vec<LayerWeights>> {
        let all = self.backend.read(self.grads)?;
        Ok(self.split_layers(&all))
    }

    /// Cuts a flat parameter vector into each Dense layer's (kernel, bias).
    fn split_layers(&self, all: &[f32]) -> Vec<LayerWeights> {
        self.weights_layouts()
            .iter()
            .map(|p| {
                let k = all[p.offset..p.offset + p.kernel_len()].to_vec();
                let b = p
                    .bias
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

    /// The first parameter of the last epoch's read-back that was NaN or infinite (its index
    /// in the flat parameter vector and its value); such an epoch's weights are not kept as
    /// the last good ones.
    pub fn non_finite_parameter(&self) -> Option<(usize, f32)> {
        self.bad_parameter
    }

    /// Undoes a diverged epoch from a callback's `on_epoch_end`: the last good epoch's weights,
    /// optimizer state and step count come back (on the device, without a read-back), and the
    /// epoch no longer counts as trained.
    pub fn roll_back_epoch(&mut self) -> Result<()> {
        self.backend.copy(self.last_good, self.params)?;
        for (good, slot) in self.last_good_slots.iter().zip(&self.slots) {
            self.backend.copy(*good, *slot)?;
        }
        self.step = self.last_good_step;
        self.epochs_trained = self.epochs_trained.saturating_sub(1);
        Ok(())
    }

    /// Replaces the weights of every Dense layer (same layout as [`Model::weights`]).
    pub fn set_weights(&mut self, weights: &[LayerWeights]) -> Result<()> {
        let layouts = self.weights_layouts();
        if weights.len() != layouts.len() {
            return Err(Error::Shape {
                op: "set_weights",
                detail: format!(
                    "{} layers given, the model has {} Dense layers",
                    weights.len(),
                    layouts.len()
                ),
            });
        }
        let mut flat = Vec::with_capacity(self.params.len());
        for (i, (p, (k, b))) in layouts.iter().zip(weights).enumerate() {
            let bias_len = b.as_ref().map_or(0, Vec::len);
            let want_bias = if p.bias { p.units } else { 0 };
            if k.len() != p.kernel_len() || bias_len != want_bias {
                return Err(Error::Shape {
                    op: "set_weights",
                    detail: format!(
                        "layer {i}: kernel of {} and bias of {bias_len} values given, [{}, {}] and {want_bias} needed",
                        k.len(),
                        p.inputs,
                        p.units
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
        self.bad_parameter = None;
        Ok(())
    }

    /// The optimizer state as flat vectors, one per slot (same layout as the parameters).
    pub fn optimizer_state(&mut self) -> Result<Vec<Vec<f32>>> {
        let slots = self.slots.clone();
        slots.iter().map(|s| self.backend.read(*s)).collect()
    }

    /// [`Model::optimizer_state`], awaiting the read-backs instead of blocking.
    pub async fn optimizer_state_async(&mut self) -> Result<Vec<Vec<f32>>> {
        let mut state = Vec::with_capacity(self.slots.len());
        for slot in self.slots.clone() {
            state.push(self.backend.read_async(slot).await?);
        }
        Ok(state)
    }

    /// Replaces the optimizer state and step count (to continue training from a file).
    pub fn set_optimizer_state(&mut self, step: u64, slots: &[Vec<f32>]) -> Result<()> {
        if slots.len() != self.slots.len() {
            return Err(Error::Shape {
                op: "set_optimizer_state",
                detail: format!("{} slots given, the optimizer keeps {}", slots.len(), self.slots.len()),
            });
        }
        for ((t, good), v) in self.slots.clone().iter().zip(self.last_good_slots.clone()).zip(slots) {
            self.backend.write(*t, v)?;
            self.backend.write(good, v)?;
        }
        self.step = step;
        self.last_good_step = step;
        Ok(())
    }

    /// Device bytes of the parameters, gradients, optimizer state, rollback copy, the
    /// accumulators and the executor's plan at `batch_size` (computed from shapes).
    pub fn estimate_bytes(&self, batch_size: usize) -> u64 {
        fixed_bytes(self.parameter_count() as u64, self.optimizer.slots())
            .saturating_add(self.executor.plan_bytes(&self.network, batch_size))
    }

    /// A table of the layers, their output shapes and parameter counts, the executor, and the
    /// device memory the training plan allocates at `batch_size`.
    pub fn summary(&self, batch_size: usize) -> String {
        let at_batch = self.executor.choice_at(batch_size);
        describe(
            &format!("Model on {}", self.backend.name()),
            &self.network,
            at_batch.as_ref().unwrap_or(&self.executor_choice),
            &self.optimizer,
            self.estimate_bytes(batch_size),
            batch_size,
        )
    }
}

/// The summary table of a model, compiled or not (see [`Model::summary`]): it walks the
/// compiled layers.
pub(crate) fn describe(
    title: &str,
    network: &Network,
    choice: &ExecutorChoice,
    optimizer: &Optimizer,
    bytes: u64,
    batch_size: usize,
) -> String {
    let mut s = String::new();
    s.push_str(&format!("{title}\n"));
    s.push_str(&format!(
        "{:<4} {:<28} {:<16} {:>10}\n",
        "#", "Layer (activation)", "Output shape", "Params"
    ));
    for (i, step) in network.layers.iter().enumerate() {
        s.push_str(&format!(
            "{i:<4} {:<28} {:<16} {:>10}\n",
            step.describe(),
            format!("(None, {})", step.output_width()),
            step.parameter_count()
        ));
    }
    s.push_str(&format!("Total params: {}\n", network.parameter_count()));
    s.push_str(&format!("Executor: {} ({})\n", choice.kind.name(), choice.reason));
    s.push_str(&format!(
        "Optimizer: {optimizer:?}\nDevice memory at batch size {batch_size}: {:.2} MiB (parameters, gradients, optimizer state and activations; data sets come on top)\n",
        bytes as f64 / (1 << 20) as f64
    ));
    s
}
