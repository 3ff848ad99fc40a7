//! Executors: how a compiled model runs its training steps, evaluation and prediction on the
//! backend. One is chosen at compile time from an [`Execution`] request; `Model::summary`
//! says which runs and why.
//!
//! - `layered` ([`layered::LayeredExecutor`]): one dispatch per operation, recorded by the
//!   layers' own forward / backward pairs over a static plan of buffers. Runs every model.
//! - `fused` ([`fused::FusedExecutor`]): many training steps of a small MLP in one generated
//!   kernel, on backends that run generated programs (the GPU), for models that fit one
//!   workgroup. `auto` picks it where it fits and says why not otherwise.

pub(crate) mod fused;
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

/// Builds the executor for a request: `layered` when asked; otherwise `fused` where the
/// backend runs generated programs and the model fits one workgroup at some batch size (the
/// batch size decides again at `fit`), else `layered` with the reason (`auto`) or an error
/// that says why (`fused`).
pub(crate) fn build(
    requested: Execution,
    design: impl FnOnce() -> fused::design::Design,
    optimizer: &Optimizer,
    backend: &dyn Backend,
) -> Result<(Box<dyn Executor>, ExecutorChoice)> {
    let layered = |reason: String| -> (Box<dyn Executor>, ExecutorChoice) {
        (
            Box::new(layered::LayeredExecutor::default()),
            ExecutorChoice {
                requested,
                kind: ExecutorKind::Layered,
                reason,
            },
        )
    };
    if requested == Execution::Layered {
        return Ok(layered("requested".into()));
    }
    let refuse = |reason: String| {
        if requested == Execution::Fused {
            Err(crate::Error::ExecutorUnavailable {
                executor: "fused",
                reason,
            })
        } else {
            Ok(layered(format!("auto: {reason}")))
        }
    };
    let Some(limits) = backend.program_limits() else {
        let name = match backend.kind() {
            crate::backend::BackendKind::Cpu => "CPU".to_string(),
            crate::backend::BackendKind::Gpu => backend.name(),
        };
        return refuse(format!(
            "the {name} backend runs layered (only the GPU backend runs generated programs)"
        ));
    };
    let design = design();
    let max_batch = design.max_batch(&limits);
    if max_batch == 0 {
        let why = design.layout(1, &limits).err().unwrap_or_default();
        return refuse(why);
    }
    let choice = ExecutorChoice {
        requested,
        kind: ExecutorKind::Fused,
        reason: format!(
            "{}: the model fits one workgroup for batches up to {max_batch}",
            if requested == Execution::Auto {
                "auto"
            } else {
                "requested"
            }
        ),
    };
    let executor = fused::FusedExecutor::new(design, requested, limits, optimizer);
    Ok((Box::new(executor), choice))
}

/// Which executor would run a model at batch size `batch` on a device granting `limits`
/// (`None`: the CPU backend), from the shapes alone: what `Sequential::summary` shows.
pub(crate) fn choose(
    requested: Execution,
    design: impl FnOnce() -> fused::design::Design,
    limits: Option<crate::backend::ProgramLimits>,
    batch: usize,
) -> ExecutorChoice {
    let layered = |reason: String| ExecutorChoice {
        requested,
        kind: ExecutorKind::Layered,
        reason,
    };
    let refused = |why: String| match requested {
        Execution::Fused => layered(format!("fused was requested, but {why}: compiling it is an error")),
        _ => layered(format!("auto: {why}")),
    };
    match (requested, limits) {
        (Execution::Layered, _) => layered("requested".into()),
        (_, None) => refused("the CPU backend runs layered (only the GPU backend runs generated programs)".into()),
        (_, Some(limits)) => {
            let executor = fused::FusedExecutor::new(design(), requested, limits, &Optimizer::sgd());
            let choice = executor.choice_at(batch);
            match choice.kind {
                ExecutorKind::Fused => choice,
                ExecutorKind::Layered => refused(choice.reason.trim_start_matches("auto: ").to_string()),
            }
        }
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

    /// Makes sure a plan for batches of `batch` rows exists (rebuilt when the size changes),
    /// for evaluation and prediction.
    fn prepare(&mut self, run: &mut RunContext, batch: usize) -> Result<()>;

    /// Makes sure a plan for training at batches of `batch` rows exists (and the evaluation
    /// plan of `prepare`).
    fn prepare_training(&mut self, run: &mut RunContext, batch: usize) -> Result<()> {
        self.prepare(run, batch)
    }

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

    /// Checks an epoch's read-back accumulator (`metric_slot::COUNT` values) against what the
    /// executor recorded (the fused kernel counts the steps it completed).
    fn check_epoch(&self, _acc: &[f32]) -> Result<()> {
        Ok(())
    }

    /// Which executor runs at batch size `batch` and why, where that depends on the batch.
    fn choice_at(&self, _batch: usize) -> Option<ExecutorChoice> {
        None
    }
}
