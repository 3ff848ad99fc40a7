//! Executors: how a compiled model runs its training steps, evaluation and prediction on the
//! backend. One is chosen at compile time from an [`Execution`] request; `Model::summary`
//! says which runs and why.
//!
//! - `layered` ([`layered::LayeredExecutor`]): one dispatch per operation, recorded by the
//!   layers' own forward / backward pairs over a static plan of buffers. Runs every model.
//! - `fused`: whole steps (or epochs) of a small MLP in one generated kernel. Not part of this
//!   version yet: requesting it falls back to `layered`, with the reason shown.

pub(crate) mod layered;

use super::network::Network;
use super::resident::DeviceData;
use crate::Result;
use crate::backend::{Backend, Tensor};
use crate::model::StopHandle;
use crate::nn::Optimizer;

/// Which executor a model should run through (`compile`'s choice).
///
/// ```
/// use wgtrain::model::Execution;
/// assert_eq!(Execution::from_name("Fused"), Some(Execution::Fused));
/// assert_eq!(Execution::default(), Execution::Auto);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Execution {
    /// Pick from the model's shapes and the adapter's limits.
    #[default]
    Auto,
    /// One dispatch per operation.
    Layered,
    /// Whole training steps in one kernel, where the model fits one.
    Fused,
}

impl Execution {
    /// Parses `auto`, `layered` or `fused`.
    pub fn from_name(name: &str) -> Option<Execution> {
        match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Execution::Auto),
            "layered" => Some(Execution::Layered),
            "fused" => Some(Execution::Fused),
            _ => None,
        }
    }
}

/// The executor that runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutorKind {
    /// One dispatch per operation.
    Layered,
    /// Whole training steps in one kernel.
    Fused,
}

impl ExecutorKind {
    /// `layered` or `fused`.
    pub fn name(self) -> &'static str {
        match self {
            ExecutorKind::Layered => "layered",
            ExecutorKind::Fused => "fused",
        }
    }
}

/// Which executor runs a model, and why.
///
/// ```
/// use wgtrain::model::{Dense, Device, Execution, ExecutorKind, Sequential};
/// use wgtrain::nn::{Activation, Loss, Optimizer};
/// let model = Sequential::new(2)
///     .add(Dense::new(1, Activation::Sigmoid))
///     .compile_with(Loss::BinaryCrossentropy { from_logits: false }, Optimizer::adam(), &[],
///                   Device::Cpu, Execution::Layered)
///     .unwrap();
/// assert_eq!(model.executor().kind, ExecutorKind::Layered);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorChoice {
    /// What was asked for.
    pub requested: Execution,
    /// What runs.
    pub kind: ExecutorKind,
    /// Why, in a sentence.
    pub reason: String,
}

/// Chooses the executor for a request (the model's shapes and the adapter decide once the
/// fused executor exists).
pub(crate) fn choose(requested: Execution) -> ExecutorChoice {
    let reason = match requested {
        Execution::Layered => "requested".to_string(),
        Execution::Auto => {
            "auto: the layered executor runs every model (no fused executor in this version)".to_string()
        }
        Execution::Fused => {
            "fused was requested, but this version has no fused executor: falling back to layered".to_string()
        }
    };
    ExecutorChoice {
        requested,
        kind: ExecutorKind::Layered,
        reason,
    }
}

/// The parts of a model an executor works on, borrowed for one call.
pub(crate) struct RunContext<'a> {
    pub backend: &'a mut dyn Backend,
    pub network: &'a mut Network,
    pub params: Tensor,
    pub grads: Tensor,
    pub slots: &'a [Tensor],
    pub optimizer: &'a Optimizer,
    /// Optimizer steps taken so far; a training step advances it.
    pub step: &'a mut u64,
    pub release: &'a super::owned::ReleaseQueue,
}

/// How an epoch's steps are recorded.
pub(crate) struct EpochControl<'a> {
    /// Steps recorded per GPU submission.
    pub steps_per_submit: usize,
    /// Checked between steps: another thread may stop training.
    pub stop: Option<&'a StopHandle>,
}

/// How a model's steps run on the backend.
pub(crate) trait Executor: Send {
    /// Device bytes of the plan this executor allocates at batch size `batch` (from shapes,
    /// without allocating).
    fn plan_bytes(&self, network: &Network, batch: usize) -> u64;

    /// Makes sure a plan for batches of `batch` rows exists (rebuilt when the size changes).
    fn prepare(&mut self, run: &mut RunContext, batch: usize) -> Result<()>;

    /// The batch size of the current plan.
    fn batch(&self) -> Option<usize>;

    /// Records one epoch of training over `data` in the order of `data.order`, adding the
    /// loss and metrics to `acc`. Returns false when a stop was requested part way.
    fn train_epoch(
        &mut self,
        run: &mut RunContext,
        data: &DeviceData,
        acc: Tensor,
        control: &EpochControl,
    ) -> Result<bool>;

    /// Records forward, loss and metrics over `data` in storage order into `acc`.
    fn evaluate(&mut self, run: &mut RunContext, data: &DeviceData, acc: Tensor) -> Result<()>;

    /// Records the outputs for the rows of `input` into `output`.
    fn predict(&mut self, run: &mut RunContext, input: Tensor, output: Tensor) -> Result<()>;
}
