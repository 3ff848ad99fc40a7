//! `BackendImpl` for the wgpu backend: each operation (checked by the seam) packs the shader's
//! `Params` and records one dispatch; the only checks here are the device's own limits.

use bytemuck::Zeroable;

use super::params::*;
use super::prelude::*;
use super::product::Product;
use super::{GpuBackend, bounds};
use crate::backend::program::{ProgramId, ProgramLimits, ProgramRun, ProgramSpec};
use crate::backend::{
    ActivationBackwardOp, BackendFuture, BackendId, BackendImpl, Counters, DropoutBackwardOp, DropoutOp, GatherRowsOp,
    LossOp, MatmulDims, MatmulOp, MetricsOp, OptimizerStepOp, ScoreOp, SoftmaxBackwardOp, SoftmaxOp, StorageId, Tensor,
    metric_slot,
};
use crate::nn::schedule::log2_decay_rate;
use crate::nn::{Activation, LearningRateSchedule, Optimizer};
use crate::{Error, Result};

/// Element offsets and sizes travel as u32 in the uniforms.
pub(super) fn u32_of(what: &'static str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::LimitExceeded {
        what: what.to_string(),
        limit: "u32 element index",
        max: u32::MAX as u64,
        requested: v as u64,
    })
}

/// `bit` when `on`.
fn flag(on: bool, bit: u32) -> u32 {
    if on { bit } else { 0 }
}

pub(super) fn off(t: &Tensor) -> Result<u32> {
    u32_of("tensor offset", t.offset + t.len())?;
    Ok(t.offset as u32)
}

impl BackendImpl for GpuBackend {
    fn id_impl(&self) -> BackendId {
        self.id
    }

    fn name_impl(&self) -> String {
        format!("{} ({})", self.ctx.summary.name, self.ctx.summary.backend)
    }

    fn max_tensor_bytes_impl(&self) -> (u64, &'static str) {
        let limits = &self.ctx.limits;
        if limits.max_storage_buffer_binding_size <= limits.max_buffer_size {
            (
                limits.max_storage_buffer_binding_size,
                "max_storage_buffer_binding_size",
            )
        } else {
            (limits.max_buffer_size, "max_buffer_size")
        }
    }

    fn is_live_impl(&self, storage: StorageId) -> bool {
        self.storages.get(storage as usize).is_some_and(Option::is_some)
    }

    fn zeros_impl(&mut self, rows: usize, cols: usize, len: usize) -> Result<Tensor> {
        let t = self.alloc(len, &format!("a [{rows}, {cols}] tensor"))?;
        Ok(Tensor { rows, cols, ..t })
    }

    fn write_impl(&mut self, dst: Tensor, data: &[f32]) -> Result<()> {
        let buffer = self.buffer(dst.storage)?.clone();
        // queue.write_buffer lands before the next submit's commands: submit what was recorded
        // first, so that earlier operations still see the old contents (program order).
        if self.encoder.is_some() {
            self.flush_inner()?;
        }
        if !data.is_empty() {
            self.ctx
                .queue
                .write_buffer(&buffer, dst.offset as u64 * 4, bytemuck::cast_slice(data));
        }
        self.check_fault()
    }

    fn read_impl(&mut self, src: Tensor) -> Result<Vec<f32>> {
        self.read_tensor_blocking(src)
    }

    fn read_async_impl(&mut self, src: Tensor) -> BackendFuture<'_, Vec<f32>> {
        self.read_tensor_async(src)
    }

    fn free_impl(&mut self, storage: StorageId) {
        if let Some(slot) = self.storages.get_mut(storage as usize)
            && let Some(freed) = slot.take()
        {
            // Submit pending work that may use it, then drop its bind groups.
            let _ = self.flush_inner();
            self.bind_groups.retain(|(_, ids), _| !ids.contains(&storage));
            self.program_bind_groups.retain(|(_, ids), _| !ids.contains(&storage));
            freed.buffer.destroy();
        }
    }

    fn fill_impl(&mut self, dst: Tensor, value: f32) -> Result<()> {
        if value == 0.0 && value.is_sign_positive() {
            let buffer = self.buffer(dst.storage)?.clone();
            self.encoder()
                .clear_buffer(&buffer, dst.offset as u64 * 4, Some(dst.len() as u64 * 4));
            return self.check_fault();
        }
        let params = FillParams {
            n: u32_of("fill length", dst.len())?,
            out_off: off(&dst)?,
            value,
            _pad0: 0,
        };
        let groups = self.linear_groups(dst.len());
        self.dispatch(&params, &[Some(dst.storage)], groups)
    }

    fn copy_impl(&mut self, src: Tensor, dst: Tensor) -> Result<()> {
        let (a, b) = (self.buffer(src.storage)?.clone(), self.buffer(dst.storage)?.clone());
        self.encoder().copy_buffer_to_buffer(
            &a,
            src.offset as u64 * 4,
            &b,
            dst.offset as u64 * 4,
            src.len() as u64 * 4,
        );
        self.check_fault()
    }

    fn matmul_impl(&mut self, op: &MatmulOp, dims: MatmulDims) -> Result<()> {
        self.record_product(&Product {
            rows: dims.m + usize::from(op.ones_row),
            a_rows: dims.m,
            k: dims.k,
            n: dims.n,
            a: Some((op.a, op.trans_a)),
            b: (op.b, op.trans_b),
            bias: op.bias,
            activation: op.derivative.map_or(op.activation, |(a, _)| a),
            out: op.out,
            z: op.z,
            a_index: op.a_index,
            deriv_z: op.derivative.map(|(_, z)| z),
        })
    }

    fn activation_backward_impl(&mut self, op: &ActivationBackwardOp) -> Result<()> {
        let ActivationBackwardOp {
            dy,
            z,
            activation,
            dz,
            db,
        } = *op;
        if let Some(dz) = dz {
            let params = ActivationBackwardParams {
                len: u32_of("elements", dy.len())?,
                dy_off: off(&dy)?,
                z_off: off(&z)?,
                dz_off: off(&dz)?,
                act: activation.code(),
                alpha: activation.alpha(),
                ..Zeroable::zeroed()
            };
            let groups = self.linear_groups(dy.len());
            self.dispatch(&params, &[Some(dy.storage), Some(z.storage), Some(dz.storage)], groups)?;
        }
        // db = Σ_rows dz: a product of a ones row with dz, split over the rows like any other.
        if let Some(db) = db {
            let dz = dz.unwrap_or(dy);
            self.record_product(&Product {
                rows: 1,
                a_rows: 0,
                k: dz.rows,
                n: dz.cols,
                a: None,
                b: (dz, false),
                bias: None,
                activation: Activation::Linear,
                out: db,
                z: None,
                a_index: None,
                deriv_z: None,
            })?;
        }
        Ok(())
    }

    fn softmax_impl(&mut self, op: &SoftmaxOp) -> Result<()> {
        let SoftmaxOp { z, out } = *op;
        if z.cols == 0 {
            return Ok(());
        }
        let params = SoftmaxParams {
            rows: u32_of("rows", z.rows)?,
            cols: bounds::check_row_width("softmax", z.cols)?,
            z_off: off(&z)?,
            out_off: off(&out)?,
        };
        let groups = self.linear_groups(z.rows);
        self.dispatch(&params, &[Some(z.storage), Some(out.storage)], groups)
    }

    fn softmax_backward_impl(&mut self, op: &SoftmaxBackwardOp) -> Result<()> {
        let SoftmaxBackwardOp { y, dy, dz } = *op;
        let params = SoftmaxBackwardParams {
            rows: u32_of("rows", y.rows)?,
            cols: bounds::check_row_width("the softmax gradient", y.cols)?,
            y_off: off(&y)?,
            dy_off: off(&dy)?,
            dz_off: off(&dz)?,
            ..Zeroable::zeroed()
        };
        let groups = self.linear_groups(y.rows);
        self.dispatch(&params, &[Some(y.storage), Some(dy.storage), Some(dz.storage)], groups)
    }

    fn dropout_impl(&mut self, op: &DropoutOp) -> Result<()> {
        self.dropout_dispatch(op.x, op.mask, op.out, op.rate, DROPOUT_FORWARD, op.seed, op.step)
    }

    fn dropout_backward_impl(&mut self, op: &DropoutBackwardOp) -> Result<()> {
        self.dropout_dispatch(op.dy, op.mask, op.dx, op.rate, DROPOUT_BACKWARD, 0, 0)
    }

    fn loss_impl(&mut self, op: &LossOp) -> Result<()> {
        self.record_head(Some(op), None, None)
    }

    fn accumulate_metrics_impl(&mut self, op: &MetricsOp) -> Result<()> {
        self.record_head(None, Some(op), None)
    }

    fn score_impl(&mut self, op: &ScoreOp) -> Result<()> {
        self.record_head(Some(&op.loss), Some(&op.metrics()), op.derivative)
    }

    fn optimizer_step_impl(&mut self, op: &OptimizerStepOp) -> Result<()> {
        let (optimizer, step, param, grad) = (op.optimizer, op.step, op.param, op.grad);
        let mut params = optimizer_params(optimizer, step, param.len())?;
        params.param_off = off(&param)?;
        params.grad_off = off(&grad)?;
        // The slots go to the kernel's state bindings as the slot layout says.
        let [s0, s1, s2] = optimizer.slot_layout().by_binding(op.slots.iter().copied()).0;
        params.s0_off = s0.as_ref().map_or(Ok(0), off)?;
        params.s1_off = s1.as_ref().map_or(Ok(0), off)?;
        params.s2_off = s2.as_ref().map_or(Ok(0), off)?;
        let storages = [
            Some(param.storage),
            Some(grad.storage),
            s0.map(|t| t.storage),
            s1.map(|t| t.storage),
            s2.map(|t| t.storage),
        ];
        let groups = self.linear_groups(param.len());
        self.dispatch(&params, &storages, groups)
    }

    fn gather_rows_impl(&mut self, op: &GatherRowsOp) -> Result<()> {
        let GatherRowsOp {
            src,
            indices,
            first,
            out,
            row_base,
            zero_outside,
        } = *op;
        let params = GatherParams {
            rows: u32_of("rows", out.rows)?,
            cols: u32_of("columns", out.cols)?,
            src_rows: u32_of("source rows", src.rows)?,
            first: u32_of("first index", first)?,
            src_off: off(&src)?,
            idx_off: off(&indices)?,
            out_off: off(&out)?,
            row_base: u32_of("chunk's first row", row_base)?,
            zero_outside: u32::from(zero_outside),
            ..Zeroable::zeroed()
        };
        let groups = self.linear_groups(out.len());
        self.dispatch(
            &params,
            &[Some(src.storage), Some(indices.storage), Some(out.storage)],
            groups,
        )
    }

    fn flush_impl(&mut self) -> Result<()> {
        self.flush_inner()
    }

    fn synchronize_impl(&mut self) -> Result<()> {
        self.flush_inner()?;
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::ReadBack(e.to_string()))?;
        self.check_fault()
    }

    fn counters_impl(&self) -> Counters {
        self.counters
    }

    fn matmul_choices_impl(&self) -> Vec<crate::backend::gpu::matmul_variants::MatmulChoice> {
        self.matmul_choices()
    }

    fn program_limits_impl(&self) -> Option<ProgramLimits> {
        Some(self.program_limits_gpu())
    }

    fn compile_program_impl(&mut self, spec: &ProgramSpec) -> Result<ProgramId> {
        self.compile_program_gpu(spec)
    }

    fn run_program_impl(&mut self, run: &ProgramRun) -> Result<()> {
        self.run_program_gpu(run)
    }
}

impl GpuBackend {
    /// Records the loss head's kernel (`shaders/loss.wgsl`): the loss (and its gradient,
    /// through `derivative` when given), the metrics, or both in one pass, split over the rows
    /// as `bounds::metrics_split` says (then `sum_partials` adds the workgroups' sums).
    fn record_head(
        &mut self,
        loss: Option<&LossOp>,
        metrics: Option<&MetricsOp>,
        derivative: Option<(Activation, Tensor)>,
    ) -> Result<()> {
        let (rows, cols) = match (loss, metrics) {
            (Some(l), _) => (l.pred.rows, l.pred.cols),
            (None, Some(m)) => (m.pred.rows, m.pred.cols),
            (None, None) => return Ok(()),
        };
        // The kernel's aux binding holds z for the derivative, or what the metrics see: with
        // a derivative the metrics read pred, so metrics of another tensor go in a pass of
        // their own (the engine's steps never need that: a derivative means output = pred).
        if let (Some(l), Some(m), Some(_)) = (loss, metrics, derivative)
            && m.pred != l.pred
        {
            self.record_head(loss, None, derivative)?;
            return self.record_head(None, metrics, None);
        }
        let split = bounds::metrics_split(rows, cols)?;
        let partial = metrics.is_some() && split.groups > 1;
        let scratch = if partial {
            Some(self.scratch(split.scratch_len())?)
        } else {
            None
        };
        let acc = scratch.or(metrics.map(|m| m.acc));
        let threshold = match metrics.and_then(|m| m.accuracy) {
            Some(crate::nn::Accuracy::Binary { threshold }) => threshold,
            _ => 0.5,
        };
        let row_loss = loss.map_or_else(|| metrics.map(|m| m.row_loss), |l| Some(l.row_loss));
        let target = loss.map_or_else(|| metrics.map(|m| m.target), |l| Some(l.target));
        let target_rows = loss.map_or_else(|| metrics.and_then(|m| m.target_rows), |l| l.target_rows);
        let (activation, z) = match derivative {
            Some((a, z)) => (a, Some(z)),
            None => (Activation::Linear, None),
        };
        let opt_off = |t: Option<Tensor>| t.as_ref().map_or(Ok(0), off);
        let params = LossParams {
            rows: u32_of("rows", rows)?,
            cols: bounds::check_row_width("the loss head", cols)?,
            kind: loss.map_or(0, |l| l.loss.code()),
            flags: flag(loss.is_some(), LOSS_FLAG_LOSS)
                | flag(loss.and_then(|l| l.weights).is_some(), LOSS_FLAG_WEIGHTS)
                | flag(loss.and_then(|l| l.grad).is_some(), LOSS_FLAG_GRAD)
                | flag(z.is_some(), LOSS_FLAG_DERIVATIVE)
                | flag(metrics.is_some(), LOSS_FLAG_METRICS)
                | flag(partial, LOSS_FLAG_PARTIAL)
                | flag(target_rows.is_some(), LOSS_FLAG_INDEXED),
            pred_off: opt_off(loss.map(|l| l.pred))?,
            output_off: opt_off(metrics.map(|m| m.pred))?,
            target_off: opt_off(target)?,
            weight_off: opt_off(loss.and_then(|l| l.weights))?,
            z_off: opt_off(z)?,
            row_loss_off: opt_off(row_loss)?,
            grad_off: opt_off(loss.and_then(|l| l.grad))?,
            acc_off: opt_off(acc)?,
            accuracy: accuracy_code(metrics.and_then(|m| m.accuracy)),
            threshold,
            act: activation.code(),
            alpha: activation.alpha(),
            rows_per_group: split.rows_per_group,
            index_off: match &target_rows {
                Some(i) => u32_of("first index", off(&i.indices)? as usize + i.first)?,
                None => 0,
            },
            row_base: u32_of("chunk's first row", target_rows.map_or(0, |i| i.row_base))?,
            target_rows: u32_of("target rows", target.map_or(0, |t| t.rows))?,
        };
        // aux: z for the derivative (the metrics then read pred), else the metrics' output.
        let aux = z.or(metrics.map(|m| m.pred));
        let storages = [
            loss.map(|l| l.pred.storage),
            aux.map(|t| t.storage),
            target.map(|t| t.storage),
            loss.and_then(|l| l.weights).map(|t| t.storage),
            target_rows.map(|i| i.indices.storage),
            row_loss.map(|t| t.storage),
            loss.and_then(|l| l.grad).map(|t| t.storage),
            acc.map(|t| t.storage),
        ];
        self.dispatch(&params, &storages, (split.groups, 1, 1))?;
        if let (Some(scratch), Some(m)) = (scratch, metrics) {
            let params = SumPartialsParams {
                width: metric_slot::USED as u32,
                count: split.groups,
                stride: metric_slot::COUNT as u32,
                src_off: off(&scratch)?,
                dst_off: off(&m.acc)?,
                ..Zeroable::zeroed()
            };
            self.dispatch(&params, &[Some(scratch.storage), Some(m.acc.storage)], (1, 1, 1))?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn dropout_dispatch(
        &mut self,
        x: Tensor,
        mask: Tensor,
        out: Tensor,
        rate: f32,
        mode: u32,
        seed: u32,
        step: u32,
    ) -> Result<()> {
        let params = DropoutParams {
            n: u32_of("elements", x.len())?,
            mode,
            seed,
            step,
            rate,
            x_off: off(&x)?,
            mask_off: off(&mask)?,
            out_off: off(&out)?,
        };
        let groups = self.linear_groups(x.len());
        self.dispatch(
            &params,
            &[Some(x.storage), Some(mask.storage), Some(out.storage)],
            groups,
        )
    }
}

/// The optimizer kernel's uniform for `optimizer` at step `step` (from 1) over `n` parameters,
/// with zero offsets: the hyper-parameters, flags, Adam's bias corrections of `step` and the
/// learning-rate schedule. The fused executor's kernels read the same block.
pub(crate) fn optimizer_params(optimizer: &Optimizer, step: u64, n: usize) -> Result<OptimizerParams> {
    let wd = optimizer.weight_decay();
    let (sqrt_bias_2, bias_1) = optimizer.adam_bias_correction(step);
    let mut params = OptimizerParams {
        n: u32_of("parameters", n)?,
        kind: optimizer_kind(optimizer),
        flags: flag(wd.is_some(), OPT_FLAG_WEIGHT_DECAY),
        step: step.min(u64::from(u32::MAX)) as u32,
        sqrt_bias_2,
        bias_1,
        weight_decay: wd.unwrap_or(0.0),
        ..Zeroable::zeroed()
    };
    set_schedule(&mut params, &optimizer.learning_rate_schedule());
    match *optimizer {
        Optimizer::Sgd { momentum, nesterov, .. } => {
            params.momentum = momentum;
            params.flags |= flag(momentum != 0.0, OPT_FLAG_MOMENTUM) | flag(nesterov, OPT_FLAG_NESTEROV);
        }
        Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
            ..
        } => {
            (params.beta_1, params.beta_2, params.epsilon) = (beta_1, beta_2, epsilon);
        }
        Optimizer::RmsProp {
            rho,
            momentum,
            epsilon,
            centered,
            ..
        } => {
            // The kernel reads ρ from beta_1.
            (params.beta_1, params.momentum, params.epsilon) = (rho, momentum, epsilon);
            params.flags |= flag(momentum != 0.0, OPT_FLAG_MOMENTUM) | flag(centered, OPT_FLAG_CENTERED);
        }
    }
    Ok(params)
}

/// Writes the learning-rate schedule into the optimizer's uniform (the kernel evaluates it
/// per step; the codes are the prelude's SCHED_* constants).
fn set_schedule(p: &mut OptimizerParams, schedule: &LearningRateSchedule) {
    let staircase = |on: bool| flag(on, SCHED_FLAG_STAIRCASE);
    match *schedule {
        LearningRateSchedule::Constant(lr) => (p.sched_kind, p.sched_initial) = (SCHED_CONSTANT, lr),
        LearningRateSchedule::ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: on,
        } => {
            (p.sched_kind, p.sched_flags, p.sched_initial) = (SCHED_EXPONENTIAL, staircase(on), initial_learning_rate);
            p.sched_decay_steps = decay_steps as f32;
            p.sched_log2_decay_rate = log2_decay_rate(decay_rate);
        }
        LearningRateSchedule::InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: on,
        } => {
            (p.sched_kind, p.sched_flags, p.sched_initial) = (SCHED_INVERSE_TIME, staircase(on), initial_learning_rate);
            (p.sched_decay_steps, p.sched_decay_rate) = (decay_steps as f32, decay_rate);
        }
        LearningRateSchedule::PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate,
            power,
            cycle,
        } => {
            (p.sched_kind, p.sched_flags) = (SCHED_POLYNOMIAL, flag(cycle, SCHED_FLAG_CYCLE));
            p.sched_initial = initial_learning_rate;
            (p.sched_decay_steps, p.sched_end_learning_rate, p.sched_power) =
                (decay_steps as f32, end_learning_rate, power);
        }
        LearningRateSchedule::CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha,
            warmup,
        } => {
            (p.sched_kind, p.sched_initial) = (SCHED_COSINE, initial_learning_rate);
            (p.sched_decay_steps, p.sched_alpha) = (decay_steps as f32, alpha);
            if let Some(w) = warmup {
                p.sched_flags = SCHED_FLAG_WARMUP;
                (p.sched_warmup_target, p.sched_warmup_steps) = (w.target, w.steps as f32);
            }
        }
        LearningRateSchedule::PiecewiseConstantDecay(pc) => {
            p.sched_kind = SCHED_PIECEWISE;
            // At most MAX_BOUNDARIES, as PiecewiseConstant guarantees.
            p.sched_boundary_count = pc.boundaries().len() as u32;
            p.sched_boundaries[..pc.boundaries().len()].copy_from_slice(pc.boundaries());
            p.sched_values[..pc.values().len()].copy_from_slice(pc.values());
        }
    }
}

/// The optimizer kernel's `Params` block as bytes, for a generated program that binds the
/// flat parameters, gradients and state slots (in the optimizer's slot order) as whole
/// storages and reads its hyper-parameters and schedule from the same uniform (the fused
/// executor). Also returns the slots in state-binding order (s0, s1, s2).
pub(crate) fn optimizer_uniform(
    optimizer: &Optimizer,
    step: u64,
    param: Tensor,
    grad: Tensor,
    slots: &[Tensor],
) -> Result<(Vec<u8>, [Option<Tensor>; 3])> {
    let mut params = optimizer_params(optimizer, step, param.len())?;
    params.param_off = off(&param)?;
    params.grad_off = off(&grad)?;
    let bound = optimizer.slot_layout().by_binding(slots.iter().copied()).0;
    params.s0_off = bound[0].as_ref().map_or(Ok(0), off)?;
    params.s1_off = bound[1].as_ref().map_or(Ok(0), off)?;
    params.s2_off = bound[2].as_ref().map_or(Ok(0), off)?;
    Ok((bytemuck::bytes_of(&params).to_vec(), bound))
}
