//! The Sequential builder: an input width and a stack of layers, then `compile` with a loss,
//! an optimizer, metrics and a device, as in Keras.

use super::executor::fused::design::Design;
use super::executor::layered::LayeredExecutor;
use super::executor::{self, Execution, Executor};
use super::layer::{Dense, Layer};
use super::metrics::Metric;
use super::model::{Model, describe, fixed_bytes};
use super::network::Network;
use crate::backend::gpu::{ADAPTER_ENV, AdapterChoice, AdapterSummary, chosen_adapter, chosen_adapter_async};
use crate::backend::{Backend, CpuBackend, GpuBackend, ProgramLimits};
use crate::nn::{Loss, Optimizer};
use crate::{Error, Result};

/// Where a model runs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Device {
    /// A hardware GPU when there is one, else the CPU backend; the model's `device_notice`
    /// says why it runs on the CPU. A software adapter (`DeviceType::Cpu`, such as lavapipe's
    /// llvmpipe) emulates a GPU on the CPU, far slower than the CPU backend, so `Auto` takes
    /// the CPU backend over it; [`Device::Gpu`] still uses it, and so does `Auto` when
    /// `WGTRAIN_ADAPTER` names an adapter.
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
        Ok(self.open_with_notice()?.0)
    }

    /// Opens the backend, with the reason when `Auto` fell back to the CPU (the library never
    /// prints: the caller decides whether to show it). Blocks until a GPU device is open
    /// (native); in a browser, which cannot block, `Gpu` is [`Error::BlockingOnWeb`] and `Auto`
    /// takes the CPU backend with a notice: await [`Device::open_with_notice_async`] there.
    pub fn open_with_notice(&self) -> Result<(Box<dyn Backend>, Option<String>)> {
        if cfg!(target_arch = "wasm32") {
            return match self {
                Device::Gpu(_) => Err(Error::BlockingOnWeb {
                    op: "Device::open_with_notice",
                }),
                _ => Ok((
                    Box::new(CpuBackend::new()),
                    matches!(self, Device::Auto).then(|| {
                        "a web page cannot open a GPU synchronously (await Device::open_with_notice_async); \
                         training on the CPU backend"
                            .to_string()
                    }),
                )),
            };
        }
        pollster::block_on(self.open_with_notice_async())
    }

    /// [`Device::open`], awaiting the GPU device instead of blocking (the form a browser needs).
    pub async fn open_async(&self) -> Result<Box<dyn Backend>> {
        Ok(self.open_with_notice_async().await?.0)
    }

    /// [`Device::open_with_notice`], awaiting the adapter and the device instead of blocking.
    pub async fn open_with_notice_async(&self) -> Result<(Box<dyn Backend>, Option<String>)> {
        match self {
            Device::Cpu => Ok((Box::new(CpuBackend::new()), None)),
            Device::Gpu(choice) => Ok((Box::new(GpuBackend::with_adapter_async(choice).await?), None)),
            Device::Auto => match Device::resolve_auto_async().await {
                (Device::Cpu, notice) => Ok((Box::new(CpuBackend::new()), notice)),
                _ => match GpuBackend::new_async().await {
                    Ok(gpu) => Ok((Box::new(gpu), None)),
                    Err(e) => Ok((
                        Box::new(CpuBackend::new()),
                        Some(format!("no usable GPU ({e}); training on the CPU backend")),
                    )),
                },
            },
        }
    }

    /// What [`Device::Auto`] runs on, decided without opening a device: `Device::Cpu` with the
    /// reason when the best adapter is a software one (and `WGTRAIN_ADAPTER` is not set),
    /// else `Device::Gpu` (whose opening may still fail: `Auto` then falls back to the CPU).
    pub fn resolve_auto() -> (Device, Option<String>) {
        Device::auto_from(chosen_adapter(&AdapterChoice::Auto))
    }

    /// [`Device::resolve_auto`], awaiting the adapter list instead of blocking.
    pub async fn resolve_auto_async() -> (Device, Option<String>) {
        Device::auto_from(chosen_adapter_async(&AdapterChoice::Auto).await)
    }

    /// `Auto`'s decision given the adapter it would take.
    fn auto_from(adapter: Option<AdapterSummary>) -> (Device, Option<String>) {
        let forced = std::env::var_os(ADAPTER_ENV).is_some_and(|v| !v.is_empty());
        match adapter {
            Some(a) if a.software && !forced => (
                Device::Cpu,
                Some(format!(
                    "the only GPU adapter, {}, is a software one (it runs shaders on the CPU, slower than \
                     the CPU backend): training on the CPU backend; ask for the GPU (Device::Gpu) to use it anyway",
                    a.name
                )),
            ),
            _ => (Device::Gpu(AdapterChoice::Auto), None),
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
            .fold(self.input_width, |width, l| l.spec().output_width(width))
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
        if !self.layers.last().is_some_and(|l| l.spec().produces_output()) {
            return bad("the last layer must be Dense (it gives the output)".into());
        }
        let last = self.layers.len() - 1;
        let mut width = self.input_width;
        let mut parameters: usize = 0;
        for (i, layer) in self.layers.iter().enumerate() {
            layer.spec().validate(i, i == last).or_else(bad)?;
            let out = layer.spec().output_width(width);
            // Sizes are products of user numbers: an overflow is a model too large, not a
            // wrapped count.
            let layer_parameters = width
                .checked_mul(out)
                .and_then(|k| k.checked_add(out))
                .and_then(|p| p.checked_mul(4));
            match layer_parameters.and_then(|p| parameters.checked_add(p)) {
                Some(total) => parameters = total,
                None => {
                    return bad(format!(
                        "layer {i}: {width} inputs × {out} units overflows the number of parameters a model can hold"
                    ));
                }
            }
            width = out;
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
    /// The executor is chosen automatically (see [`Sequential::compile_with`]).
    pub fn compile(self, loss: Loss, optimizer: Optimizer, metrics: &[Metric], device: Device) -> Result<Model> {
        self.compile_with(loss, optimizer, metrics, device, Execution::Auto)
    }

    /// `compile` with an execution choice: which executor runs the steps (`Model::executor`
    /// and `summary()` say which runs and why).
    pub fn compile_with(
        self,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        device: Device,
        execution: Execution,
    ) -> Result<Model> {
        // Checked before the device opens: a bad model is reported without touching a GPU.
        self.validate(loss)?;
        optimizer.validate()?;
        let opened = device.open_with_notice()?;
        self.compile_opened(loss, optimizer, metrics, opened, execution)
    }

    /// [`Sequential::compile`], awaiting the GPU device instead of blocking (the form a
    /// browser needs; the model is the same).
    pub async fn compile_async(
        self,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        device: Device,
    ) -> Result<Model> {
        self.compile_with_async(loss, optimizer, metrics, device, Execution::Auto)
            .await
    }

    /// [`Sequential::compile_with`], awaiting the GPU device instead of blocking.
    pub async fn compile_with_async(
        self,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        device: Device,
        execution: Execution,
    ) -> Result<Model> {
        self.validate(loss)?;
        optimizer.validate()?;
        let opened = device.open_with_notice_async().await?;
        self.compile_opened(loss, optimizer, metrics, opened, execution)
    }

    /// Compiles onto a device just opened, keeping its notice.
    fn compile_opened(
        self,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        (backend, notice): (Box<dyn Backend>, Option<String>),
        execution: Execution,
    ) -> Result<Model> {
        let mut model = self.compile_on_with(loss, optimizer, metrics, backend, execution)?;
        model.device_notice = notice;
        Ok(model)
    }

    /// The table [`Model::summary`] prints, with the memory estimate, computed from the shapes
    /// alone: nothing is allocated and no device is opened, so a model far too large to
    /// build can still be described (`wgtrain info --layers`).
    ///
    /// # Errors
    /// A model that does not validate for `loss`, or an invalid optimizer.
    pub fn summary(&self, loss: Loss, optimizer: Optimizer, execution: Execution, batch_size: usize) -> Result<String> {
        self.summary_on(loss, optimizer, execution, batch_size, None)
    }

    /// [`Sequential::summary`] for a device granting `limits` to generated programs (`None`:
    /// the CPU backend), which decide whether the fused executor would run it; still nothing
    /// is allocated and no device is opened.
    ///
    /// # Errors
    /// A model that does not validate for `loss`, or an invalid optimizer.
    pub fn summary_on(
        &self,
        loss: Loss,
        optimizer: Optimizer,
        execution: Execution,
        batch_size: usize,
        limits: Option<ProgramLimits>,
    ) -> Result<String> {
        self.validate(loss)?;
        optimizer.validate()?;
        let network = Network::build(self, loss);
        let bytes = fixed_bytes(network.parameter_count() as u64, optimizer.slots())
            .saturating_add(LayeredExecutor::default().plan_bytes(&network, batch_size));
        let head = &network.head;
        let design = || {
            Design::new(
                self,
                head.computed_loss(),
                head.softmax_fused(),
                head.accuracy(),
                head.target_width(),
                &optimizer,
            )
        };
        Ok(describe(
            "Model (not allocated: estimated from the shapes)",
            &network,
            &executor::choose(execution, design, limits, batch_size),
            &optimizer,
            bytes,
            batch_size,
        ))
    }

    /// `compile` on a backend the caller opened.
    pub fn compile_on(
        self,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        backend: Box<dyn Backend>,
    ) -> Result<Model> {
        self.compile_on_with(loss, optimizer, metrics, backend, Execution::Auto)
    }

    /// `compile_with` on a backend the caller opened.
    pub fn compile_on_with(
        self,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        backend: Box<dyn Backend>,
        execution: Execution,
    ) -> Result<Model> {
        self.validate(loss)?;
        optimizer.validate()?;
        Model::new(self, loss, optimizer, metrics.to_vec(), backend, execution)
    }
}
