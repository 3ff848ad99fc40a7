//! What the fused kernel is generated from: the model reduced to its stages (Dense and dropout
//! layers with their widths, activations, parameter offsets and dropout seeds), the loss head
//! and the optimizer's state bindings; and, at one batch size, the layout of the workgroup
//! memory, the workgroup size and the bound on steps per dispatch, checked against what the
//! device grants ([`ProgramLimits`]). A model that does not fit gets the reason in words.
//!
//! Workgroup memory (f32 slots, rows of the batch): A0 the gathered inputs [B, in]; per Dense
//! layer z [B, units] and y [B, units] (one slot when the computed activation is linear, where
//! z = y). Dropout works in place on the slot it follows. Backward reuses the slots: a layer's
//! output gradient lands in its y slot (its z slot for a softmax output), dz overwrites z, and
//! dx overwrites the input slot once dW has read it. At the end of a dispatch the same memory
//! holds the metric partials (`METRIC_SLOTS_USED` per invocation).

use super::wgsl::ROW_BLOCK;
use crate::backend::ProgramLimits;
use crate::backend::metric_slot;
use crate::model::layer::Layer;
use crate::model::sequential::Sequential;
use crate::nn::dropout::lowbias32;
use crate::nn::{Accuracy, Activation, LearningRateSchedule, Loss, Optimizer};

/// Loop iterations one invocation may run per dispatch: a quarter of lavapipe's 65 535, which
/// it counts over all loops of an invocation and past which it silently stops looping.
pub(crate) const ITERATION_BUDGET: u64 = 16_384;

/// Floating-point work per dispatch, so one dispatch stays far below the ~2 s after which
/// Windows resets a GPU (lavapipe runs a workgroup on one CPU thread at ~1 GFLOP/s).
pub(crate) const DISPATCH_FLOPS: u64 = 200_000_000;

/// Most workgroups one step is split over (each writes a partial gradient of every parameter).
pub(crate) const MAX_SLICES: usize = 64;

/// Most workgroups per step `auto` accepts: beyond it every workgroup's full partial gradient
/// costs more than the layered executor's tiled products save (not measured yet).
pub(crate) const AUTO_SLICES: u32 = 4;

/// Largest batch the fused executor considers (the search bound of `max_batch`).
const BATCH_SEARCH_LIMIT: usize = 1 << 16;

/// A stage of the fused step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Stage {
    /// A Dense layer.
    Dense {
        inputs: usize,
        units: usize,
        /// The activation computed (linear when the head applies the softmax).
        activation: Activation,
        bias: bool,
        /// Element offset of the kernel in the flat parameters (the bias follows it).
        offset: usize,
    },
    /// Inverted dropout over `width` values per row.
    Dropout { width: usize, rate: f32, seed: u32 },
}

/// The model as the generator sees it (independent of the batch size).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Design {
    pub input: usize,
    pub stages: Vec<Stage>,
    /// The loss as computed (from logits when the softmax is fused into it).
    pub loss: Loss,
    pub softmax_fused: bool,
    pub accuracy: Accuracy,
    pub outputs: usize,
    pub target_width: usize,
    pub parameters: usize,
    /// Which optimizer state bindings (s0, s1, s2) hold a slot.
    pub state_bindings: [bool; 3],
    /// Whether the schedule is piecewise constant (its per-step loop counts toward the bound).
    pub piecewise: bool,
}

/// Storage buffers the kernel binds besides the optimizer state: x, y, sample weights, order,
/// parameters, gradients, status (accumulator, step count, Adam's bias-correction table).
const FIXED_STORAGES: u32 = 7;

impl Design {
    /// The design of a compiled model.
    pub fn new(
        architecture: &Sequential,
        computed_loss: Loss,
        softmax_fused: bool,
        accuracy: Accuracy,
        target_width: usize,
        optimizer: &Optimizer,
    ) -> Design {
        let mut stages = Vec::new();
        let (mut width, mut offset) = (architecture.input_width, 0);
        let last = architecture.layers.len().saturating_sub(1);
        for (index, layer) in architecture.layers.iter().enumerate() {
            match layer {
                Layer::Dense(d) => {
                    let activation = if softmax_fused && index == last {
                        Activation::Linear
                    } else {
                        d.activation
                    };
                    stages.push(Stage::Dense {
                        inputs: width,
                        units: d.units,
                        activation,
                        bias: d.use_bias,
                        offset,
                    });
                    offset += width * d.units + if d.use_bias { d.units } else { 0 };
                    width = d.units;
                }
                Layer::Dropout(d) => stages.push(Stage::Dropout {
                    width,
                    rate: d.rate,
                    // As the compiled dropout layer draws it (layer/dropout.rs).
                    seed: (architecture.seed as u32) ^ lowbias32(index as u32 + 1),
                }),
            }
        }
        let layout = optimizer.slot_layout();
        let mut state_bindings = [false; 3];
        for slot in layout.iter() {
            state_bindings[slot.binding()] = true;
        }
        Design {
            input: architecture.input_width,
            stages,
            loss: computed_loss,
            softmax_fused,
            accuracy,
            outputs: width,
            target_width,
            parameters: offset,
            state_bindings,
            piecewise: matches!(
                optimizer.learning_rate_schedule(),
                LearningRateSchedule::PiecewiseConstantDecay(_)
            ),
        }
    }

    /// Storage buffers the kernel binds.
    pub fn storage_buffers(&self) -> u32 {
        FIXED_STORAGES + self.state_bindings.iter().filter(|&&b| b).count() as u32
    }

    /// The Dense stages' (inputs, units).
    fn dense_widths(&self) -> impl Iterator<Item = (usize, usize, Activation)> + '_ {
        self.stages.iter().filter_map(|s| match *s {
            Stage::Dense {
                inputs,
                units,
                activation,
                ..
            } => Some((inputs, units, activation)),
            Stage::Dropout { .. } => None,
        })
    }

    /// Workgroup memory floats of the activations at batch `batch`.
    fn activation_floats(&self, batch: usize) -> usize {
        let per_row = self.input
            + self
                .dense_widths()
                .map(|(_, u, a)| if a == Activation::Linear { u } else { 2 * u })
                .sum::<usize>();
        batch.saturating_mul(per_row)
    }

    /// The widest phase (elements one phase spreads over the invocations).
    fn widest_phase(&self, batch: usize) -> usize {
        let dense = self
            .dense_widths()
            .map(|(i, u, _)| (batch * i).max(batch * u).max(i * u + u))
            .max()
            .unwrap_or(1);
        dense.max(self.parameters).max(batch)
    }

    /// The layout at batch `batch` on a device granting `limits`, or why it does not fit: one
    /// workgroup for whole steps where the batch fits one, else the batch split over up to
    /// [`MAX_SLICES`] workgroups (one step per dispatch, then a reduce-and-update dispatch).
    pub fn layout(&self, batch: usize, limits: &ProgramLimits) -> Result<Layout, String> {
        let why = match self.single(batch, limits) {
            Ok(layout) => return Ok(layout),
            Err(why) => why,
        };
        if batch < 2 || self.single(1, limits).is_err() {
            return Err(why);
        }
        self.sliced(batch, limits).map_err(|sliced| format!("{why}; {sliced}"))
    }

    /// The batch split over workgroups of the most rows that fit one.
    fn sliced(&self, batch: usize, limits: &ProgramLimits) -> Result<Layout, String> {
        let (mut lo, mut hi) = (1usize, batch - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.single(mid, limits).is_ok() {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let slices = batch.div_ceil(lo);
        if slices > MAX_SLICES {
            return Err(format!(
                "split over workgroups of {lo} rows it needs {slices}, more than the {MAX_SLICES} the fused executor uses"
            ));
        }
        // Even slices: the fewest rows per workgroup for that many workgroups.
        let rows = batch.div_ceil(slices);
        let buffers = self.storage_buffers() + 1;
        if buffers > limits.storage_buffers {
            return Err(format!(
                "split over workgroups it binds {buffers} storage buffers; the device grants {}",
                limits.storage_buffers
            ));
        }
        let partial_bytes = (slices * (self.parameters + metric_slot::USED)) as u64 * 4;
        if partial_bytes > limits.storage_binding_bytes {
            return Err(format!(
                "the partial gradients of {slices} workgroups need {partial_bytes} bytes, more than one binding"
            ));
        }
        let one = self.single(rows, limits)?;
        Ok(Layout {
            batch,
            slices: slices as u32,
            slice_rows: rows,
            steps_per_dispatch: 1,
            ..one
        })
    }

    /// One workgroup running whole steps at batch `batch`.
    fn single(&self, batch: usize, limits: &ProgramLimits) -> Result<Layout, String> {
        let max_wg = limits.invocations_per_workgroup.clamp(1, 256) as usize;
        // A power of two (the metric reduction halves it), at least 32, at most what is granted:
        // one invocation per element of the widest phase on a GPU; on a CPU device (lavapipe
        // runs a workgroup on one thread, 8 lanes at a time) a quarter of that, since every
        // invocation pays for every loop and barrier (seed: 1.4 ms an epoch at 32 invocations,
        // 2.8 ms at 128).
        let widest = self.widest_phase(batch);
        let per_invocation = if limits.cpu_device { widest.div_ceil(4) } else { widest };
        let mut wg = per_invocation.next_power_of_two().clamp(32, 256);
        while wg > max_wg {
            wg /= 2;
        }
        let buffers = self.storage_buffers();
        if buffers > limits.storage_buffers {
            return Err(format!(
                "the fused step binds {buffers} storage buffers with this optimizer; the device grants {}",
                limits.storage_buffers
            ));
        }
        let floats = self.activation_floats(batch).max(metric_slot::USED * wg);
        let bytes = floats as u64 * 4;
        if bytes > u64::from(limits.workgroup_storage_bytes) {
            return Err(format!(
                "at batch size {batch} the fused step needs {} KiB of workgroup memory; the device grants {} KiB",
                bytes.div_ceil(1024),
                limits.workgroup_storage_bytes / 1024
            ));
        }
        let per_step = self.iterations_per_step(batch, wg);
        let reduce = (wg.trailing_zeros() as u64 + 1) * (metric_slot::USED as u64 + 1) + 2 * metric_slot::USED as u64;
        let by_loops = ITERATION_BUDGET.saturating_sub(reduce) / per_step;
        let by_time = DISPATCH_FLOPS / self.flops_per_step(batch).max(1);
        let steps = by_loops.min(by_time).min(u64::from(u32::MAX));
        if steps == 0 {
            return Err(format!(
                "one fused step at batch size {batch} runs {per_step} loop iterations per invocation, more than \
                 the {ITERATION_BUDGET} a dispatch may run"
            ));
        }
        Ok(Layout {
            batch,
            slices: 1,
            slice_rows: batch,
            workgroup: wg as u32,
            memory_floats: floats,
            steps_per_dispatch: steps as u32,
            iterations_per_step: per_step,
        })
    }

    /// The largest batch that fits (0: none).
    pub fn max_batch(&self, limits: &ProgramLimits) -> usize {
        if self.layout(1, limits).is_err() {
            return 0;
        }
        let (mut lo, mut hi) = (1usize, BATCH_SEARCH_LIMIT);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.layout(mid, limits).is_ok() {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    /// Loop iterations of the busiest invocation in one step (the generated loops, counted as
    /// the generator writes them: each outer iteration, each inner iteration).
    fn iterations_per_step(&self, batch: usize, wg: usize) -> u64 {
        let per = |n: usize| n.div_ceil(wg) as u64;
        let c = self.outputs as u64;
        let mut total = 1 + per(batch * self.input); // the step loop, the gather
        let dense: Vec<_> = self.dense_widths().collect();
        let rows = batch.div_ceil(ROW_BLOCK.min(batch));
        for (k, &(i, u, a)) in dense.iter().enumerate() {
            let (i64_, u64_) = (i as u64, u as u64);
            total += per(rows * u) * (1 + i64_); // forward, ROW_BLOCK rows at a time
            total += per(batch * u); // dz
            total += per(i.div_ceil(ROW_BLOCK.min(i)) * u + u) * (1 + batch as u64); // dW, db
            if k > 0 {
                total += per(rows * i) * (1 + u64_); // dx
            }
            if a == Activation::Softmax {
                total += per(batch) * (1 + 5 * u64_);
            }
        }
        for s in &self.stages {
            if let Stage::Dropout { width, .. } = s {
                total += 2 * per(batch * width);
            }
        }
        total += per(batch) * (1 + 8 * c); // loss and metrics
        total += per(self.parameters) + if self.piecewise { 17 } else { 1 }; // optimizer
        total
    }

    /// Floating-point operations of one step (forward, backward, update).
    fn flops_per_step(&self, batch: usize) -> u64 {
        let matmuls: usize = self.dense_widths().map(|(i, u, _)| 6 * batch * i * u).sum();
        (matmuls + 20 * self.parameters + 40 * batch * self.outputs) as u64
    }
}

/// The kernel's shape at one batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub batch: usize,
    /// Invocations of the one workgroup.
    pub workgroup: u32,
    /// Workgroup memory, f32 values.
    pub memory_floats: usize,
    /// Most steps one dispatch runs.
    pub steps_per_dispatch: u32,
    /// Loop iterations per step of the busiest invocation (the bound's basis).
    pub iterations_per_step: u64,
    /// Workgroups one step is split over (1: whole steps in one workgroup, many per dispatch).
    pub slices: u32,
    /// Rows of the batch each workgroup takes (the whole batch when `slices` is 1).
    pub slice_rows: usize,
}
