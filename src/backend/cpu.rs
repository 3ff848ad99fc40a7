//! The CPU backend on ndarray: the readable reference every GPU kernel is checked against,
//! and an honest baseline. Matrix products go through ndarray's `general_mat_mul` (the
//! matrixmultiply crate, threaded); everything else is plain loops over the scalar formulas
//! of `crate::nn`. It implements `BackendImpl`: the seam has checked every operand before
//! a method here runs.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};

use super::cpu_loops::{apply_activation, metric_sums, multiply_derivative, scale_by_derivative, small_product};
use super::{
    ActivationBackwardOp, BackendId, BackendImpl, BackendKind, Counters, DropoutBackwardOp, DropoutOp, GatherRowsOp,
    IndexedRows, LossOp, MatmulDims, MatmulOp, MetricsOp, OptimizerStepOp, ScoreOp, SoftmaxBackwardOp, SoftmaxOp,
    StorageId, Tensor,
};
use crate::nn::dropout::dropout_keep;
use crate::{Error, Result};

/// The ndarray CPU backend.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend};
/// let mut cpu = CpuBackend::new();
/// let t = cpu.upload(1, 3, &[1.0, 2.0, 3.0]).unwrap();
/// assert_eq!(cpu.read(t).unwrap(), vec![1.0, 2.0, 3.0]);
/// ```
pub struct CpuBackend {
    id: BackendId,
    storages: Vec<Option<Vec<f32>>>,
    counters: Counters,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

/// The error of a storage lookup that the seam's checks make unreachable (kept so that a bug
/// in this file is an error, not a panic).
fn lost(storage: StorageId) -> Error {
    Error::UnknownTensor {
        op: "cpu storage lookup",
        storage,
    }
}

impl CpuBackend {
    /// A new CPU backend, with an identity of its own.
    pub fn new() -> Self {
        CpuBackend {
            id: BackendId::fresh(BackendKind::Cpu),
            storages: Vec::new(),
            counters: Counters::default(),
        }
    }

    fn storage(&self, t: &Tensor) -> Result<&Vec<f32>> {
        self.storages
            .get(t.storage as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| lost(t.storage))
    }

    fn slice(&self, t: &Tensor) -> Result<&[f32]> {
        Ok(&self.storage(t)?[t.offset..t.offset + t.len()])
    }

    /// Takes an output storage out of the table so inputs can be borrowed while it is written.
    fn take(&mut self, t: &Tensor) -> Result<Vec<f32>> {
        self.storages
            .get_mut(t.storage as usize)
            .and_then(Option::take)
            .ok_or_else(|| lost(t.storage))
    }

    fn put(&mut self, t: &Tensor, v: Vec<f32>) {
        self.storages[t.storage as usize] = Some(v);
    }

    /// Runs `f` with the outputs (distinct storages) taken out, then puts them back. Taking
    /// a storage out moves its `Vec` header only: no allocation, no copy.
    fn with_outputs<const N: usize>(
        &mut self,
        outs: [Tensor; N],
        f: impl FnOnce(&Self, [&mut [f32]; N]) -> Result<()>,
    ) -> Result<()> {
        let mut taken: [Vec<f32>; N] = std::array::from_fn(|_| Vec::new());
        for i in 0..N {
            match self.take(&outs[i]) {
                Ok(v) => taken[i] = v,
                Err(e) => {
                    for (t, v) in outs.iter().zip(taken).take(i) {
                        self.put(t, v);
                    }
                    return Err(e);
                }
            }
        }
        let mut iter = taken.iter_mut().zip(&outs);
        let slices: [&mut [f32]; N] = std::array::from_fn(|_| {
            let (v, t) = iter.next().expect("one storage per output");
            &mut v[t.offset..t.offset + t.len()]
        });
        let result = f(self, slices);
        for (t, v) in outs.iter().zip(taken) {
            self.put(t, v);
        }
        self.counters.dispatches += 1;
        result
    }

    fn view<'a>(&'a self, t: &Tensor, trans: bool) -> Result<ArrayView2<'a, f32>> {
        let v = ArrayView2::from_shape((t.rows, t.cols), self.slice(t)?).expect("tensor views are in bounds");
        Ok(if trans { v.reversed_axes() } else { v })
    }

    /// The rows of `src` that `rows` selects, gathered row-major (zeros for an index outside
    /// src): the reference meaning of an operand read through an index.
    fn gather_host(&self, src: &Tensor, rows: &IndexedRows) -> Result<Vec<f32>> {
        let (s, idx) = (self.slice(src)?, self.slice(&rows.indices)?);
        let cols = src.cols;
        let mut out = vec![0.0; rows.rows * cols];
        for (r, row) in out.chunks_exact_mut(cols.max(1)).enumerate() {
            if let Some(from) = rows.source_row(idx, r, src.rows) {
                row.copy_from_slice(&s[from * cols..(from + 1) * cols]);
            }
        }
        Ok(out)
    }

    /// The target values (and weights) a loss or metrics pass reads: the tensors themselves,
    /// or their rows through `rows`.
    fn targets(&self, target: &Tensor, weights: Option<&Tensor>, rows: Option<&IndexedRows>) -> Result<Targets<'_>> {
        Ok(match rows {
            None => Targets {
                values: std::borrow::Cow::Borrowed(self.slice(target)?),
                weights: weights
                    .map(|w| self.slice(w))
                    .transpose()?
                    .map(std::borrow::Cow::Borrowed),
            },
            Some(rows) => Targets {
                values: std::borrow::Cow::Owned(self.gather_host(target, rows)?),
                weights: weights
                    .map(|w| {
                        self.gather_host(
                            &Tensor {
                                rows: w.len(),
                                cols: 1,
                                ..*w
                            },
                            rows,
                        )
                    })
                    .transpose()?
                    .map(std::borrow::Cow::Owned),
            },
        })
    }
}

/// The targets of one batch as a loss reads them.
struct Targets<'a> {
    values: std::borrow::Cow<'a, [f32]>,
    weights: Option<std::borrow::Cow<'a, [f32]>>,
}

impl BackendImpl for CpuBackend {
    fn id_impl(&self) -> BackendId {
        self.id
    }

    fn name_impl(&self) -> String {
        "cpu (ndarray)".to_string()
    }

    fn is_live_impl(&self, storage: StorageId) -> bool {
        self.storages.get(storage as usize).is_some_and(Option::is_some)
    }

    fn zeros_impl(&mut self, rows: usize, cols: usize, len: usize) -> Result<Tensor> {
        let storage = u32::try_from(self.storages.len()).expect("fewer than 2^32 tensors");
        // A request the host cannot satisfy is an error, not an abort.
        let mut values = Vec::new();
        values.try_reserve_exact(len).map_err(|_| Error::HostOutOfMemory {
            what: format!("a [{rows}, {cols}] tensor"),
            requested: (len as u64).saturating_mul(4),
        })?;
        values.resize(len, 0.0);
        self.storages.push(Some(values));
        self.counters.buffer_allocations += 1;
        Ok(Tensor::whole(self.id, storage, rows, cols))
    }

    fn write_impl(&mut self, dst: Tensor, data: &[f32]) -> Result<()> {
        self.with_outputs([dst], |_, [out]| {
            out.copy_from_slice(data);
            Ok(())
        })
    }

    fn read_impl(&mut self, src: Tensor) -> Result<Vec<f32>> {
        self.counters.readbacks += 1;
        Ok(self.slice(&src)?.to_vec())
    }

    fn free_impl(&mut self, storage: StorageId) {
        if let Some(slot) = self.storages.get_mut(storage as usize) {
            *slot = None;
        }
    }

    fn fill_impl(&mut self, dst: Tensor, value: f32) -> Result<()> {
        self.with_outputs([dst], |_, [out]| {
            out.fill(value);
            Ok(())
        })
    }

    fn copy_impl(&mut self, src: Tensor, dst: Tensor) -> Result<()> {
        self.with_outputs([dst], |me, [out]| {
            out.copy_from_slice(me.slice(&src)?);
            Ok(())
        })
    }

    fn matmul_impl(&mut self, op: &MatmulOp, dims: MatmulDims) -> Result<()> {
        let MatmulDims { m, k, n } = dims;
        let run = |me: &Self, out: &mut [f32], mut z_out: Option<&mut [f32]>| -> Result<()> {
            // A read through an index: its selected rows, gathered (the reference meaning).
            let gathered = op.a_index.map(|rows| me.gather_host(&op.a, &rows)).transpose()?;
            let a = match &gathered {
                Some(g) => {
                    let v = ArrayView2::from_shape(op.a_stored(), g).expect("gathered rows fit");
                    if op.trans_a { v.reversed_axes() } else { v }
                }
                None => me.view(&op.a, op.trans_a)?,
            };
            let b = me.view(&op.b, op.trans_b)?;
            let (product, ones) = out.split_at_mut(m * n);
            if m * k * n <= SMALL_PRODUCT {
                small_product(&a, &b, product);
            } else {
                let mut c = ArrayViewMut2::from_shape((m, n).strides((n, 1)), product).expect("out fits");
                general_mat_mul(1.0, &a, &b, 0.0, &mut c);
            }
            // The ones row of op(A): the column sums of op(B).
            if op.ones_row {
                for (j, o) in ones.iter_mut().enumerate() {
                    *o = b.column(j).sum();
                }
            }
            // The epilogue, one pass per stage: most products (every backward one) have none.
            if let Some(bias) = op.bias.map(|b| me.slice(&b)).transpose()? {
                for row in out.chunks_exact_mut(n) {
                    for (v, &b) in row.iter_mut().zip(bias) {
                        *v += b;
                    }
                }
            }
            if let Some(z) = z_out.as_deref_mut() {
                z.copy_from_slice(out);
            }
            apply_activation(op.activation, out);
            if let Some((activation, z)) = op.derivative {
                scale_by_derivative(activation, out, me.slice(&z)?);
            }
            Ok(())
        };
        match op.z {
            Some(z) => self.with_outputs([op.out, z], |me, [out, z]| run(me, out, Some(z))),
            None => self.with_outputs([op.out], |me, [out]| run(me, out, None)),
        }
    }

    fn activation_backward_impl(&mut self, op: &ActivationBackwardOp) -> Result<()> {
        let (dy, z, activation) = (op.dy, op.z, op.activation);
        let cols = dy.cols;
        let delta = |me: &Self, dz_out: Option<&mut [f32]>, db_out: Option<&mut [f32]>| -> Result<()> {
            let dy = me.slice(&dy)?;
            let dz_vals: &[f32] = match dz_out {
                Some(out) => {
                    multiply_derivative(activation, dy, me.slice(&z)?, out);
                    out
                }
                None => dy,
            };
            if let Some(db) = db_out {
                db.fill(0.0);
                for row in dz_vals.chunks(cols.max(1)) {
                    for (d, &v) in db.iter_mut().zip(row) {
                        *d += v;
                    }
                }
            }
            Ok(())
        };
        match (op.dz, op.db) {
            (Some(dz), Some(db)) => self.with_outputs([dz, db], |me, [a, b]| delta(me, Some(a), Some(b))),
            (Some(dz), None) => self.with_outputs([dz], |me, [a]| delta(me, Some(a), None)),
            (None, Some(db)) => self.with_outputs([db], |me, [b]| delta(me, None, Some(b))),
            (None, None) => Ok(()),
        }
    }

    fn softmax_impl(&mut self, op: &SoftmaxOp) -> Result<()> {
        let z = op.z;
        self.with_outputs([op.out], |me, [out]| {
            let zs = me.slice(&z)?;
            for (zr, or) in zs.chunks(z.cols.max(1)).zip(out.chunks_mut(z.cols.max(1))) {
                let max = zr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for (o, &v) in or.iter_mut().zip(zr) {
                    *o = (v - max).exp();
                    sum += *o;
                }
                for o in or.iter_mut() {
                    *o /= sum;
                }
            }
            Ok(())
        })
    }

    fn softmax_backward_impl(&mut self, op: &SoftmaxBackwardOp) -> Result<()> {
        let (y, dy) = (op.y, op.dy);
        let cols = y.cols.max(1);
        self.with_outputs([op.dz], |me, [dz]| {
            let (ys, dys) = (me.slice(&y)?, me.slice(&dy)?);
            for ((yr, gr), out) in ys.chunks(cols).zip(dys.chunks(cols)).zip(dz.chunks_mut(cols)) {
                let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
                for ((o, &yv), &g) in out.iter_mut().zip(yr).zip(gr) {
                    *o = yv * (g - dot);
                }
            }
            Ok(())
        })
    }

    fn dropout_impl(&mut self, op: &DropoutOp) -> Result<()> {
        let DropoutOp {
            x, rate, seed, step, ..
        } = *op;
        let scale = 1.0 / (1.0 - rate);
        self.with_outputs([op.mask, op.out], |me, [mask, out]| {
            let xs = me.slice(&x)?;
            for (i, ((m, o), &v)) in mask.iter_mut().zip(out.iter_mut()).zip(xs).enumerate() {
                *m = if dropout_keep(seed, step, i as u32, rate) {
                    1.0
                } else {
                    0.0
                };
                *o = v * *m * scale;
            }
            Ok(())
        })
    }

    fn dropout_backward_impl(&mut self, op: &DropoutBackwardOp) -> Result<()> {
        let (dy, mask) = (op.dy, op.mask);
        let scale = 1.0 / (1.0 - op.rate);
        self.with_outputs([op.dx], |me, [dx]| {
            for ((o, &g), &m) in dx.iter_mut().zip(me.slice(&dy)?).zip(me.slice(&mask)?) {
                *o = g * m * scale;
            }
            Ok(())
        })
    }

    fn loss_impl(&mut self, op: &LossOp) -> Result<()> {
        let (b, c) = (op.pred.rows, op.pred.cols);
        let tc = op.target.cols;
        let scale = 1.0 / b as f32;
        let run = |me: &Self, row_loss: &mut [f32], mut grad: Option<&mut [f32]>| -> Result<()> {
            let pred = me.slice(&op.pred)?;
            let targets = me.targets(&op.target, op.weights.as_ref(), op.target_rows.as_ref())?;
            let (target, weights) = (&targets.values[..], targets.weights.as_deref());
            // Without a gradient output the row gradients go to a scratch row.
            let training = grad.is_some();
            let mut scratch = if training { Vec::new() } else { vec![0.0; c] };
            for i in 0..b {
                let w = weights.map_or(1.0, |w| w[i]);
                let g = match grad.as_deref_mut() {
                    Some(grad) => &mut grad[i * c..(i + 1) * c],
                    None => &mut scratch[..],
                };
                let l = op.loss.row(&pred[i * c..(i + 1) * c], &target[i * tc..(i + 1) * tc], g);
                row_loss[i] = w * l;
                if training {
                    for v in g.iter_mut() {
                        *v = *v * w * scale;
                    }
                }
            }
            Ok(())
        };
        match op.grad {
            Some(grad) => self.with_outputs([op.row_loss, grad], |me, [rl, g]| run(me, rl, Some(g))),
            None => self.with_outputs([op.row_loss], |me, [rl]| run(me, rl, None)),
        }
    }

    fn score_impl(&mut self, op: &ScoreOp) -> Result<()> {
        self.loss_impl(&op.loss)?;
        if let (Some((activation, z)), Some(grad)) = (op.derivative, op.loss.grad) {
            self.with_outputs([grad], |me, [g]| {
                scale_by_derivative(activation, g, me.slice(&z)?);
                Ok(())
            })?;
        }
        self.accumulate_metrics_impl(&op.metrics())
    }

    fn accumulate_metrics_impl(&mut self, op: &MetricsOp) -> Result<()> {
        let (b, c) = (op.pred.rows, op.pred.cols);
        self.with_outputs([op.acc], |me, [acc]| {
            let pred = me.slice(&op.pred)?;
            let targets = me.targets(&op.target, None, op.target_rows.as_ref())?;
            let row_loss = me.slice(&op.row_loss)?;
            let sums = metric_sums(op.accuracy, pred, &targets.values, row_loss, b, c);
            for (a, s) in acc.iter_mut().zip(sums) {
                *a += s as f32;
            }
            Ok(())
        })
    }

    fn optimizer_step_impl(&mut self, op: &OptimizerStepOp) -> Result<()> {
        let (param, grad, slots) = (op.param, op.grad, op.slots);
        // The parameters and state are taken out of the table (the checks proved them
        // distinct from the gradient), so the gradient is read in place, not copied.
        let mut p = self.take(&param)?;
        let mut states = Vec::with_capacity(slots.len());
        for s in slots {
            match self.take(s) {
                Ok(v) => states.push(v),
                Err(e) => {
                    for (s, v) in slots.iter().zip(states) {
                        self.put(s, v);
                    }
                    self.put(&param, p);
                    return Err(e);
                }
            }
        }
        let result = self.slice(&grad).map(|g| {
            let mut views: Vec<&mut [f32]> = states
                .iter_mut()
                .zip(slots)
                .map(|(v, s)| &mut v[s.offset..s.offset + s.len()])
                .collect();
            op.optimizer
                .update(op.step, &mut p[param.offset..param.offset + param.len()], g, &mut views);
        });
        self.put(&param, p);
        for (s, v) in slots.iter().zip(states) {
            self.put(s, v);
        }
        self.counters.dispatches += 1;
        result
    }

    fn gather_rows_impl(&mut self, op: &GatherRowsOp) -> Result<()> {
        let GatherRowsOp {
            src,
            indices,
            first,
            row_base,
            zero_outside,
            ..
        } = *op;
        let cols = src.cols;
        self.with_outputs([op.out], |me, [out]| {
            let s = me.slice(&src)?;
            let idx = me.slice(&indices)?;
            for (i, row) in out.chunks_mut(cols.max(1)).enumerate() {
                let r = (idx[first + i].to_bits() as usize).wrapping_sub(row_base);
                if r < src.rows {
                    row.copy_from_slice(&s[r * cols..(r + 1) * cols]);
                } else if zero_outside {
                    row.fill(0.0);
                }
            }
            Ok(())
        })
    }

    fn flush_impl(&mut self) -> Result<()> {
        Ok(())
    }

    fn synchronize_impl(&mut self) -> Result<()> {
        Ok(())
    }

    fn counters_impl(&self) -> Counters {
        self.counters
    }
}

/// Products of at most this many multiply-adds run as a plain loop: for them matrixmultiply's
/// packing buffers and thread dispatch cost more than the arithmetic (the `seed` workload's
/// products are 10×1·1×10 and the like).
const SMALL_PRODUCT: usize = 4096;
