//! `Backend` for the wgpu backend: each operation checks its operands with the shared checks
//! of `backend::ops`, packs the shader's `Params` and records one dispatch.

use bytemuck::Zeroable;

use super::GpuBackend;
use super::kernels::Kernel;
use super::params::*;
use crate::backend::ops::{check_activation_backward, distinct_storages, expect_shape};
use crate::backend::{
    Backend, BackendKind, Counters, LossOp, MatmulOp, MetricsOp, Tensor, check_gather, check_optimizer_step,
    check_rate, check_same_shape3,
};
use crate::nn::schedule::log2_decay_rate;
use crate::nn::{Activation, LearningRateSchedule, Optimizer};
use crate::{Error, Result};

/// Element offsets and sizes travel as u32 in the uniforms.
fn u32_of(what: &'static str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::LimitExceeded {
        what: what.to_string(),
        limit: "u32 element index",
        max: u32::MAX as u64,
        requested: v as u64,
    })
}

fn off(t: &Tensor) -> Result<u32> {
    u32_of("tensor offset", t.offset + t.len())?;
    Ok(t.offset as u32)
}

impl Backend for GpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Gpu
    }

    fn name(&self) -> String {
        format!("{} ({})", self.ctx.summary.name, self.ctx.summary.backend)
    }

    fn max_tensor_bytes(&self) -> (u64, &'static str) {
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

    fn zeros(&mut self, rows: usize, cols: usize) -> Result<Tensor> {
        let len = rows.checked_mul(cols).ok_or(Error::Shape {
            op: "zeros",
            detail: format!("[{rows}, {cols}] overflows"),
        })?;
        let t = self.alloc(len, &format!("a [{rows}, {cols}] tensor"))?;
        Ok(Tensor { rows, cols, ..t })
    }

    fn write(&mut self, dst: Tensor, data: &[f32]) -> Result<()> {
        self.write_bytes(dst, bytemuck::cast_slice(data), data.len())
    }

    fn write_u32(&mut self, dst: Tensor, data: &[u32]) -> Result<()> {
        self.write_bytes(dst, bytemuck::cast_slice(data), data.len())
    }

    fn read(&mut self, src: Tensor) -> Result<Vec<f32>> {
        let bytes = self.read_bytes(src.storage, src.offset as u64 * 4, src.len() as u64 * 4)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    fn free(&mut self, t: Tensor) {
        if let Some(slot) = self.storages.get_mut(t.storage as usize)
            && let Some(storage) = slot.take()
        {
            // Submit pending work that may use it, then drop its bind groups.
            let _ = self.flush_inner();
            self.bind_groups.retain(|(_, ids), _| !ids.contains(&t.storage));
            storage.buffer.destroy();
        }
    }

    fn fill(&mut self, dst: Tensor, value: f32) -> Result<()> {
        self.buffer(dst.storage)?;
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
            _pad: 0,
        };
        let groups = self.linear_groups(dst.len());
        self.dispatch(Kernel::Fill, &params, &[Some(dst.storage)], groups)
    }

    fn copy(&mut self, src: Tensor, dst: Tensor) -> Result<()> {
        if src.len() != dst.len() {
            return Err(Error::Shape {
                op: "copy",
                detail: format!("{} values into a tensor of {}", src.len(), dst.len()),
            });
        }
        distinct_storages("copy", &[src], &[dst])?;
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

    fn matmul(&mut self, op: &MatmulOp) -> Result<()> {
        let (m, k, n) = op.dims()?;
        let params = MatmulParams {
            m: u32_of("rows", m)?,
            n: u32_of("columns", n)?,
            k: u32_of("inner dimension", k)?,
            trans_a: u32::from(op.trans_a),
            trans_b: u32::from(op.trans_b),
            a_off: off(&op.a)?,
            b_off: off(&op.b)?,
            bias_off: op.bias.as_ref().map_or(Ok(0), off)?,
            out_off: off(&op.out)?,
            z_off: op.z.as_ref().map_or(Ok(0), off)?,
            flags: u32::from(op.bias.is_some()) | (u32::from(op.z.is_some()) << 1),
            act: op.activation.code(),
            alpha: op.activation.alpha(),
            _pad: [0; 3],
        };
        let storages = [
            Some(op.a.storage),
            Some(op.b.storage),
            op.bias.map(|b| b.storage),
            Some(op.out.storage),
            op.z.map(|z| z.storage),
        ];
        let groups = (n.div_ceil(64) as u32, m.div_ceil(64) as u32, 1);
        self.dispatch(Kernel::Matmul, &params, &storages, groups)
    }

    fn activation_backward(
        &mut self,
        dy: Tensor,
        z: Tensor,
        activation: Activation,
        dz: Option<Tensor>,
        db: Option<Tensor>,
    ) -> Result<()> {
        check_activation_backward(&dy, &z, activation, dz.as_ref(), db.as_ref())?;
        if dz.is_none() && db.is_none() {
            return Ok(());
        }
        let params = ActivationBackwardParams {
            rows: u32_of("rows", dy.rows)?,
            cols: u32_of("columns", dy.cols)?,
            dy_off: off(&dy)?,
            z_off: off(&z)?,
            dz_off: dz.as_ref().map_or(Ok(0), off)?,
            db_off: db.as_ref().map_or(Ok(0), off)?,
            act: activation.code(),
            alpha: activation.alpha(),
            flags: u32::from(dz.is_some()) | (u32::from(db.is_some()) << 1),
            _pad: [0; 3],
        };
        // z is only read for a non-linear activation; otherwise a dummy keeps dy and z apart.
        let z_binding = (activation != Activation::Linear).then_some(z.storage);
        let storages = [
            Some(dy.storage),
            z_binding,
            dz.map(|t| t.storage),
            db.map(|t| t.storage),
        ];
        let groups = (dy.cols.div_ceil(16) as u32, 1, 1);
        self.dispatch(Kernel::ActivationBackward, &params, &storages, groups)
    }

    fn softmax(&mut self, z: Tensor, out: Tensor) -> Result<()> {
        expect_shape("softmax", "out", &out, z.rows, z.cols)?;
        distinct_storages("softmax", &[z], &[out])?;
        if z.cols == 0 {
            return Ok(());
        }
        let params = SoftmaxParams {
            rows: u32_of("rows", z.rows)?,
            cols: u32_of("columns", z.cols)?,
            z_off: off(&z)?,
            out_off: off(&out)?,
        };
        let groups = self.linear_groups(z.rows);
        self.dispatch(Kernel::Softmax, &params, &[Some(z.storage), Some(out.storage)], groups)
    }

    fn softmax_backward(&mut self, y: Tensor, dy: Tensor, dz: Tensor) -> Result<()> {
        check_same_shape3("softmax_backward", &y, &dy, &dz, false)?;
        let params = SoftmaxBackwardParams {
            rows: u32_of("rows", y.rows)?,
            cols: u32_of("columns", y.cols)?,
            y_off: off(&y)?,
            dy_off: off(&dy)?,
            dz_off: off(&dz)?,
            _pad: [0; 3],
        };
        let groups = self.linear_groups(y.rows);
        self.dispatch(
            Kernel::SoftmaxBackward,
            &params,
            &[Some(y.storage), Some(dy.storage), Some(dz.storage)],
            groups,
        )
    }

    fn dropout(&mut self, x: Tensor, mask: Tensor, out: Tensor, rate: f32, seed: u32, step: u32) -> Result<()> {
        check_same_shape3("dropout", &x, &mask, &out, true)?;
        check_rate(rate)?;
        self.dropout_dispatch(x, mask, out, rate, 0, seed, step)
    }

    fn dropout_backward(&mut self, dy: Tensor, mask: Tensor, dx: Tensor, rate: f32) -> Result<()> {
        check_same_shape3("dropout_backward", &dy, &mask, &dx, false)?;
        check_rate(rate)?;
        self.dropout_dispatch(dy, mask, dx, rate, 1, 0, 0)
    }

    fn loss(&mut self, op: &LossOp) -> Result<()> {
        op.check()?;
        let params = LossParams {
            rows: u32_of("rows", op.pred.rows)?,
            cols: u32_of("columns", op.pred.cols)?,
            kind: op.loss.code(),
            flags: u32::from(op.weights.is_some()) | (u32::from(op.grad.is_some()) << 1),
            pred_off: off(&op.pred)?,
            target_off: off(&op.target)?,
            weight_off: op.weights.as_ref().map_or(Ok(0), off)?,
            row_loss_off: off(&op.row_loss)?,
            grad_off: op.grad.as_ref().map_or(Ok(0), off)?,
            _pad: [0; 3],
        };
        let storages = [
            Some(op.pred.storage),
            Some(op.target.storage),
            op.weights.map(|w| w.storage),
            Some(op.row_loss.storage),
            op.grad.map(|g| g.storage),
        ];
        let groups = self.linear_groups(op.pred.rows);
        self.dispatch(Kernel::Loss, &params, &storages, groups)
    }

    fn accumulate_metrics(&mut self, op: &MetricsOp) -> Result<()> {
        op.check()?;
        let threshold = match op.accuracy {
            Some(crate::nn::Accuracy::Binary { threshold }) => threshold,
            _ => 0.5,
        };
        let params = MetricsParams {
            rows: u32_of("rows", op.pred.rows)?,
            cols: u32_of("columns", op.pred.cols)?,
            accuracy: op.accuracy.map_or(0, |a| a.code()),
            threshold,
            pred_off: off(&op.pred)?,
            target_off: off(&op.target)?,
            row_loss_off: off(&op.row_loss)?,
            acc_off: off(&op.acc)?,
        };
        let storages = [
            Some(op.pred.storage),
            Some(op.target.storage),
            Some(op.row_loss.storage),
            Some(op.acc.storage),
        ];
        self.dispatch(Kernel::AccumulateMetrics, &params, &storages, (1, 1, 1))
    }

    fn optimizer_step(
        &mut self,
        optimizer: &Optimizer,
        step: u64,
        param: Tensor,
        grad: Tensor,
        slots: &[Tensor],
    ) -> Result<()> {
        check_optimizer_step(optimizer, step, &param, &grad, slots)?;
        let wd = optimizer.weight_decay();
        let (sqrt_bias_2, bias_1) = optimizer.adam_bias_correction(step);
        let mut params = OptimizerParams {
            n: u32_of("parameters", param.len())?,
            kind: 0,
            flags: if wd.is_some() { 8 } else { 0 },
            step: step.min(u64::from(u32::MAX)) as u32,
            param_off: off(&param)?,
            grad_off: off(&grad)?,
            s0_off: 0,
            s1_off: 0,
            s2_off: 0,
            sqrt_bias_2,
            bias_1,
            schedule: schedule_params(&optimizer.learning_rate_schedule()),
            beta_1: 0.0,
            beta_2: 0.0,
            epsilon: 0.0,
            momentum: 0.0,
            weight_decay: wd.unwrap_or(0.0),
        };
        // Map the optimizer's slots onto the shader's s0..s2 roles.
        let mut roles: [Option<Tensor>; 3] = [None; 3];
        match *optimizer {
            Optimizer::Sgd { momentum, nesterov, .. } => {
                params.kind = 0;
                params.momentum = momentum;
                if momentum != 0.0 {
                    params.flags |= 2 | u32::from(nesterov);
                    roles[0] = Some(slots[0]);
                }
            }
            Optimizer::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => {
                params.kind = 1;
                (params.beta_1, params.beta_2, params.epsilon) = (beta_1, beta_2, epsilon);
                roles[0] = Some(slots[0]);
                roles[1] = Some(slots[1]);
            }
            Optimizer::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
                ..
            } => {
                params.kind = 2;
                (params.beta_1, params.momentum, params.epsilon) = (rho, momentum, epsilon);
                roles[0] = Some(slots[0]);
                let mut next = 1;
                if momentum != 0.0 {
                    params.flags |= 2;
                    roles[1] = Some(slots[next]);
                    next += 1;
                }
                if centered {
                    params.flags |= 4;
                    roles[2] = Some(slots[next]);
                }
            }
        }
        params.s0_off = roles[0].as_ref().map_or(Ok(0), off)?;
        params.s1_off = roles[1].as_ref().map_or(Ok(0), off)?;
        params.s2_off = roles[2].as_ref().map_or(Ok(0), off)?;
        let storages = [
            Some(param.storage),
            Some(grad.storage),
            roles[0].map(|t| t.storage),
            roles[1].map(|t| t.storage),
            roles[2].map(|t| t.storage),
        ];
        let groups = self.linear_groups(param.len());
        self.dispatch(Kernel::OptimizerStep, &params, &storages, groups)
    }

    fn gather_rows_chunk(
        &mut self,
        src: Tensor,
        row_base: usize,
        indices: Tensor,
        first: usize,
        out: Tensor,
        zero_outside: bool,
    ) -> Result<()> {
        check_gather(&src, &indices, first, &out)?;
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
            _pad: [0; 3],
        };
        let groups = self.linear_groups(out.len());
        self.dispatch(
            Kernel::GatherRows,
            &params,
            &[Some(src.storage), Some(indices.storage), Some(out.storage)],
            groups,
        )
    }

    fn flush(&mut self) -> Result<()> {
        self.flush_inner()
    }

    fn synchronize(&mut self) -> Result<()> {
        self.flush_inner()?;
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::ReadBack(e.to_string()))?;
        self.check_fault()
    }

    fn counters(&self) -> Counters {
        self.counters_inner()
    }
}

impl GpuBackend {
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
            Kernel::Dropout,
            &params,
            &[Some(x.storage), Some(mask.storage), Some(out.storage)],
            groups,
        )
    }

    fn write_bytes(&mut self, dst: Tensor, bytes: &[u8], len: usize) -> Result<()> {
        if len != dst.len() {
            return Err(Error::Shape {
                op: "write",
                detail: format!("{len} values given for a tensor of {}", dst.len()),
            });
        }
        let buffer = self.buffer(dst.storage)?.clone();
        // queue.write_buffer lands before the next submit's commands: submit what was recorded
        // first, so that earlier operations still see the old contents (program order).
        if self.encoder.is_some() {
            self.flush_inner()?;
        }
        if !bytes.is_empty() {
            self.ctx.queue.write_buffer(&buffer, dst.offset as u64 * 4, bytes);
        }
        self.check_fault()
    }
}

/// The kernel's view of a learning-rate schedule: its switch code and parameters (the shader
/// evaluates it per step; see `ScheduleParams` for the codes).
fn schedule_params(schedule: &LearningRateSchedule) -> ScheduleParams {
    let mut p = ScheduleParams::zeroed();
    match *schedule {
        LearningRateSchedule::Constant(lr) => p.initial = lr,
        LearningRateSchedule::ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            (p.kind, p.flags, p.initial) = (1, u32::from(staircase), initial_learning_rate);
            p.decay_steps = decay_steps as f32;
            p.log2_decay_rate = log2_decay_rate(decay_rate);
        }
        LearningRateSchedule::InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            (p.kind, p.flags, p.initial) = (2, u32::from(staircase), initial_learning_rate);
            (p.decay_steps, p.decay_rate) = (decay_steps as f32, decay_rate);
        }
        LearningRateSchedule::PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate,
            power,
            cycle,
        } => {
            (p.kind, p.flags, p.initial) = (3, u32::from(cycle) << 1, initial_learning_rate);
            (p.decay_steps, p.end_learning_rate, p.power) = (decay_steps as f32, end_learning_rate, power);
        }
        LearningRateSchedule::CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha,
            warmup,
        } => {
            (p.kind, p.initial, p.decay_steps, p.alpha) = (4, initial_learning_rate, decay_steps as f32, alpha);
            if let Some(w) = warmup {
                p.flags = 4;
                (p.warmup_target, p.warmup_steps) = (w.target, w.steps as f32);
            }
        }
        LearningRateSchedule::PiecewiseConstantDecay(pc) => {
            p.kind = 5;
            // At most MAX_BOUNDARIES, as PiecewiseConstant guarantees.
            p.boundary_count = pc.boundaries().len() as u32;
            p.boundaries[..pc.boundaries().len()].copy_from_slice(pc.boundaries());
            p.values[..pc.values().len()].copy_from_slice(pc.values());
        }
    }
    p
}
