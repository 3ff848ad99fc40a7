//! The fused executor (DESIGN.md §3): for a model that fits one workgroup, one generated kernel
//! ([`wgsl`]) trains many steps per dispatch — gather through the epoch's permutation, forward,
//! loss and its gradient, backward, the optimizer update of every parameter, the epoch's loss
//! and metrics — so an epoch costs a few dispatches instead of about twelve per step. Weights,
//! optimizer state and data stay on the device; the one read-back per epoch is unchanged.
//!
//! Bounded dispatches: the steps of one dispatch are bounded ([`design::ITERATION_BUDGET`],
//! [`design::DISPATCH_FLOPS`]) so that no invocation's loops approach the 65 535 iterations
//! after which lavapipe silently stops a loop, and no dispatch approaches the ~2 s after which
//! Windows resets a GPU. The kernel adds the steps it completed to the accumulator's
//! `metric_slot::USED` slot; [`FusedExecutor::check_epoch`] compares it with the steps recorded,
//! and a shortfall is [`Error::IncompleteDispatch`], never a wrong model.
//!
//! Validation and prediction run through the layered executor (forward-only passes, a few
//! dispatches per batch), which this executor keeps prepared at the same batch size; so does
//! training on a data set split into several storage chunks (one larger than a binding).

pub(crate) mod design;
mod rows;
#[cfg(test)]
mod tests;
pub(crate) mod wgsl;

use design::{Design, Layout};

use super::layered::LayeredExecutor;
use super::{EpochControl, Execution, Executor, ExecutorChoice, ExecutorKind, RunContext};
use crate::backend::gpu::optimizer_uniform;
use crate::backend::program::{ProgramId, ProgramLimits, ProgramRun, ProgramSpec};
use crate::backend::{Tensor, metric_slot};
use crate::model::network::Network;
use crate::model::owned::OwnedTensors;
use crate::model::resident::DeviceData;
use crate::nn::Optimizer;
use crate::{Error, Result};

/// The dispatch's range (the kernel's `Run` uniform).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RunUniform {
    rows: u32,
    first_step: u32,
    steps: u32,
    step_base: u32,
    weighted: u32,
    /// The optimizer step of the bias-correction table's first entry.
    table_first: u32,
    _pad: [u32; 2],
}

/// Epochs of steps Adam's bias-correction table holds, so it is rewritten (a queue write,
/// which costs a submission) only every so many epochs.
const TABLE_EPOCHS: usize = 16;

/// The fused plan at one batch size.
struct FusedPlan {
    layout: Layout,
    program: ProgramId,
    /// A split step's reduce-and-update program and the partial-gradient buffer.
    reduce: Option<(ProgramId, Tensor)>,
    /// The status buffer (accumulator, step count, Adam's table) and the steps its table holds.
    status: Option<(Tensor, usize, OwnedTensors)>,
    /// The optimizer steps the table holds now: first .. first + len (empty until written).
    table: (u64, usize),
    /// Bound as the sample weights when the data has none.
    no_weights: Tensor,
    /// Steps recorded in the current epoch (checked against the kernel's count).
    recorded: u64,
    _owned: OwnedTensors,
}

/// What runs at the current batch size.
enum Current {
    Fused(Box<FusedPlan>),
    /// The model does not fit at this batch size: layered runs (auto), with the reason.
    Layered,
}

/// The fused executor (with the layered one for evaluation, prediction, chunked data and
/// batches that do not fit).
pub(crate) struct FusedExecutor {
    design: Design,
    requested: Execution,
    limits: ProgramLimits,
    adam: bool,
    layered: LayeredExecutor,
    current: Option<(usize, Current)>,
    /// Epochs that ran layered because their data was split into chunks.
    chunked_epochs: u64,
}

impl FusedExecutor {
    pub fn new(design: Design, requested: Execution, limits: ProgramLimits, optimizer: &Optimizer) -> Self {
        FusedExecutor {
            design,
            requested,
            limits,
            adam: matches!(optimizer, Optimizer::Adam { .. }),
            layered: LayeredExecutor::default(),
            current: None,
            chunked_epochs: 0,
        }
    }

    /// Why the model runs fused or not at `batch`.
    pub fn choice_at(&self, batch: usize) -> ExecutorChoice {
        let requested = self.requested;
        match self.layout(batch) {
            Ok(l) if l.slices > 1 => ExecutorChoice {
                requested,
                kind: ExecutorKind::Fused,
                reason: format!(
                    "{}each step split over {} workgroups of {} invocations ({} rows, {:.1} KiB of workgroup memory each) at batch size {batch}, then one reduce-and-update dispatch",
                    if requested == Execution::Auto {
                        "auto: "
                    } else {
                        "requested: "
                    },
                    l.slices,
                    l.workgroup,
                    l.slice_rows,
                    (l.memory_floats * 4) as f64 / 1024.0,
                ),
            },
            Ok(l) => ExecutorChoice {
                requested,
                kind: ExecutorKind::Fused,
                reason: format!(
                    "{}one workgroup of {} invocations, {:.1} KiB of workgroup memory at batch size {batch}, up to {} steps per dispatch ({} loop iterations per step)",
                    if requested == Execution::Auto {
                        "auto: fits "
                    } else {
                        "requested: "
                    },
                    l.workgroup,
                    (l.memory_floats * 4) as f64 / 1024.0,
                    l.steps_per_dispatch,
                    l.iterations_per_step
                ),
            },
            Err(why) => ExecutorChoice {
                requested,
                kind: ExecutorKind::Layered,
                reason: format!("auto: {why}"),
            },
        }
    }

    /// The layout at `batch`; `auto` splits a step over at most [`design::AUTO_SLICES`]
    /// workgroups.
    fn layout(&self, batch: usize) -> std::result::Result<Layout, String> {
        let layout = self.design.layout(batch, &self.limits)?;
        if self.requested == Execution::Auto && layout.slices > design::AUTO_SLICES {
            return Err(format!(
                "at batch size {batch} a fused step would be split over {} workgroups (auto splits over at most {})",
                layout.slices,
                design::AUTO_SLICES
            ));
        }
        Ok(layout)
    }

    fn build_plan(&self, run: &mut RunContext, layout: Layout) -> Result<FusedPlan> {
        let storages = wgsl::storages(&self.design, &layout)
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let mut spec = ProgramSpec {
            source: wgsl::module(&self.design, &layout, self.adam),
            entry_point: wgsl::ENTRY_POINT.to_string(),
            uniforms: 2,
            storages,
        };
        let program = run.backend.compile_program(&spec)?;
        let mut owned = OwnedTensors::new(run.release);
        let no_weights = owned.zeros(run.backend, 1, 1)?;
        let reduce = if layout.slices > 1 {
            spec.entry_point = wgsl::REDUCE_ENTRY_POINT.to_string();
            let reduce = run.backend.compile_program(&spec)?;
            let slices = layout.slices as usize;
            let partial = owned.zeros(run.backend, 1, slices * (self.design.parameters + metric_slot::USED))?;
            Some((reduce, partial))
        } else {
            None
        };
        Ok(FusedPlan {
            layout,
            program,
            reduce,
            status: None,
            table: (0, 0),
            no_weights,
            recorded: 0,
            _owned: owned,
        })
    }
}

/// The steps the kernels reported (the accumulator's `metric_slot::USED` slot) against the
/// steps recorded: a shortfall means a driver cut a loop short, and the epoch is an error.
fn check_steps(recorded: u64, acc: &[f32]) -> Result<()> {
    if recorded == 0 {
        return Ok(());
    }
    let done = acc.get(metric_slot::USED).copied().unwrap_or(0.0);
    if done != recorded as f32 {
        return Err(Error::IncompleteDispatch {
            executor: "fused",
            expected: recorded,
            completed: done.max(0.0) as u64,
        });
    }
    Ok(())
}

impl Executor for FusedExecutor {
    fn plan_bytes(&self, network: &Network, batch: usize) -> u64 {
        // The layered plan (kept for evaluation) plus the status buffer of a typical epoch.
        self.layered.plan_bytes(network, batch) + 4 * metric_slot::COUNT as u64
    }

    fn batch(&self) -> Option<usize> {
        self.layered.batch()
    }

    fn prepare(&mut self, run: &mut RunContext, batch: usize) -> Result<()> {
        self.layered.prepare(run, batch)
    }

    /// Builds (or keeps) the fused kernel for training at `batch`: only `fit` asks for it, so
    /// evaluating or predicting at another batch size neither builds a kernel nor is refused.
    fn prepare_training(&mut self, run: &mut RunContext, batch: usize) -> Result<()> {
        self.layered.prepare(run, batch)?;
        if self.current.as_ref().is_some_and(|(b, _)| *b == batch) {
            return Ok(());
        }
        self.current = None;
        let current = match self.layout(batch) {
            Ok(layout) => Current::Fused(Box::new(self.build_plan(run, layout)?)),
            Err(why) if self.requested == Execution::Fused => {
                return Err(Error::ExecutorUnavailable {
                    executor: "fused",
                    reason: why,
                });
            }
            Err(_) => Current::Layered,
        };
        self.current = Some((batch, current));
        Ok(())
    }

    fn train_epoch(
        &mut self,
        run: &mut RunContext,
        data: &DeviceData,
        acc: Tensor,
        control: &EpochControl,
    ) -> Result<bool> {
        let plan = match &mut self.current {
            Some((_, Current::Fused(plan))) if data.chunks.len() == 1 => plan,
            Some((_, Current::Fused(plan))) => {
                plan.recorded = 0;
                self.chunked_epochs += 1;
                return self.layered.train_epoch(run, data, acc, control);
            }
            _ => return self.layered.train_epoch(run, data, acc, control),
        };
        let layout = plan.layout;
        let steps = data.rows.div_ceil(layout.batch);
        let step_base = *run.step;
        let to_u32 = |what: &'static str, v: u64| {
            u32::try_from(v).map_err(|_| Error::LimitExceeded {
                what: what.to_string(),
                limit: "u32 step counter of the fused kernel",
                max: u64::from(u32::MAX),
                requested: v,
            })
        };
        // The status buffer: the accumulator's slots, then Adam's (√(1 − β₂ᵗ), 1 − β₁ᵗ) per
        // step for the steps the table covers, computed as the CPU computes them.
        let need = if self.adam { steps } else { 0 };
        if plan.status.as_ref().is_none_or(|(_, cap, _)| *cap < need) {
            plan.status = None;
            let cap = if self.adam {
                steps.saturating_mul(TABLE_EPOCHS)
            } else {
                0
            };
            let max_cap = (self.limits.storage_binding_bytes / 8) as usize - metric_slot::COUNT;
            let cap = cap.min(max_cap).max(need);
            let mut owned = OwnedTensors::new(run.release);
            let t = owned.zeros(run.backend, 1, metric_slot::COUNT + 2 * cap)?;
            plan.status = Some((t, cap, owned));
            plan.table = (0, 0);
        }
        let (status, cap) = plan
            .status
            .as_ref()
            .map(|(t, cap, _)| (*t, *cap))
            .expect("allocated above");
        let (first_t, len) = plan.table;
        let covered = step_base + 1 >= first_t && (step_base + steps as u64) < first_t + len as u64;
        if self.adam && !covered {
            let mut table = vec![0.0f32; 2 * cap];
            for (k, pair) in table.chunks_exact_mut(2).enumerate() {
                let (sqrt_bias_2, bias_1) = run.optimizer.adam_bias_correction(step_base + 1 + k as u64);
                (pair[0], pair[1]) = (sqrt_bias_2, bias_1);
            }
            run.backend
                .write(status.view(metric_slot::COUNT, 1, table.len())?, &table)?;
            plan.table = (step_base + 1, cap);
        }
        run.backend.fill(status.view(0, 1, metric_slot::COUNT)?, 0.0)?;
        let table_first = to_u32("optimizer steps", plan.table.0)?;

        let (opt_bytes, bound) = optimizer_uniform(run.optimizer, step_base + 1, run.params, run.grads, run.slots)?;
        let chunk = &data.chunks[0];
        let weights = chunk.weights;
        let mut storages = vec![
            chunk.x,
            chunk.y,
            weights.unwrap_or(plan.no_weights),
            data.order,
            run.params,
            run.grads,
        ];
        storages.extend(bound.iter().flatten().copied());
        if let Some((_, partial)) = plan.reduce {
            storages.push(partial);
        }
        storages.push(status);
        let per = layout.steps_per_dispatch as usize;
        let mut first = 0usize;
        let mut completed = true;
        while first < steps {
            let n = per.min(steps - first);
            let uniform = RunUniform {
                rows: to_u32("rows", data.rows as u64)?,
                first_step: to_u32("steps", first as u64)?,
                steps: n as u32,
                step_base: to_u32("optimizer steps", step_base)?,
                weighted: u32::from(weights.is_some()),
                table_first,
                _pad: [0; 2],
            };
            let uniforms: [&[u8]; 2] = [bytemuck::bytes_of(&uniform), &opt_bytes];
            run.backend.run_program(&ProgramRun {
                program: plan.program,
                uniforms: &uniforms,
                storages: &storages,
                groups: (layout.slices, 1, 1),
            })?;
            if let Some((reduce, _)) = plan.reduce {
                let groups = self.design.parameters.div_ceil(wgsl::REDUCE_WORKGROUP as usize) as u32;
                run.backend.run_program(&ProgramRun {
                    program: reduce,
                    uniforms: &uniforms,
                    storages: &storages,
                    groups: (groups, 1, 1),
                })?;
            }
            first += n;
            if control.stop.is_some_and(|s| s.is_stopped()) {
                completed = first >= steps;
                break;
            }
        }
        // The step counter advances by what was recorded; check_epoch compares the kernel's count.
        *run.step = step_base + first as u64;
        plan.recorded = first as u64;
        run.backend.copy(status.view(0, 1, metric_slot::COUNT)?, acc)?;
        Ok(completed)
    }

    fn check_epoch(&self, acc: &[f32]) -> Result<()> {
        let Some((_, Current::Fused(plan))) = &self.current else {
            return Ok(());
        };
        check_steps(plan.recorded, acc)
    }

    fn choice_at(&self, batch: usize) -> Option<ExecutorChoice> {
        Some(FusedExecutor::choice_at(self, batch))
    }

    fn evaluate(&mut self, run: &mut RunContext, data: &DeviceData, acc: Tensor) -> Result<()> {
        self.layered.evaluate(run, data, acc)
    }

    fn predict(&mut self, run: &mut RunContext, input: Tensor, output: Tensor) -> Result<()> {
        self.layered.predict(run, input, output)
    }
}
