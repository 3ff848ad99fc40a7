//! The host's half of the trusted-shader proof (`trust.rs`, fact 2): for each kernel, the end
//! of the range (one past the highest element index) a dispatch may touch in each storage
//! binding, computed from the same `Params` and workgroup counts the shader reads, exactly as
//! its WGSL indexes; `None` where those parameters make it touch nothing there (an absent
//! operand bound to a dummy). `GpuBackend::dispatch_kernel` compares each with the bound buffer's
//! size and refuses the dispatch ([`Error::KernelRange`]) when a range passes its end, so no
//! kernel built without runtime bounds checks ever indexes outside a buffer, whatever a
//! caller inside the engine put in a tensor view.
//!
//! The seam already keeps every public operation's views inside their storages; this check is
//! what makes that a proof at the point where it matters, for every dispatch, in one place.

use super::MAX_BINDINGS;
use super::matmul_variants::Specialization;
use super::params::*;
use super::prelude::*;
use crate::backend::ops::metric_slot;
use crate::nn::Loss;
use crate::nn::optimizer_slots::OptimizerSlot;
use crate::{Error, Result};

/// The ranges one dispatch may touch, one per storage binding in binding order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reach {
    ends: [Option<u64>; MAX_BINDINGS],
    count: usize,
}

impl Reach {
    fn of(ends: &[Option<u64>]) -> Reach {
        let mut all = [None; MAX_BINDINGS];
        all[..ends.len()].copy_from_slice(ends);
        Reach {
            ends: all,
            count: ends.len(),
        }
    }

    /// The end of each binding's range.
    pub(crate) fn ends(&self) -> &[Option<u64>] {
        &self.ends[..self.count]
    }
}

/// What a kernel may touch, from the uniform it is dispatched with.
pub(crate) trait Extents {
    /// The ranges of a dispatch of `groups` workgroups.
    fn reach(&self, groups: (u32, u32, u32)) -> Reach;

    /// Whether a kernel built with `specialization` indexes as these parameters say (the
    /// matrix product's transpose form, indexed rows and epilogue are pipeline constants as
    /// well as uniform fields; the reach is computed from the fields).
    fn agrees(&self, _specialization: &Specialization) -> bool {
        true
    }
}

/// `off .. off + count`, or nothing when the count is zero.
fn span(off: u32, count: u64) -> Option<u64> {
    (count > 0).then(|| u64::from(off) + count)
}

/// `count` when `on`.
fn when(on: bool, end: Option<u64>) -> Option<u64> {
    if on { end } else { None }
}

/// `rows` rows of `cols` at `off`, where a row kernel also reads each row's first element
/// before its loops (so one element even when `cols` is zero).
fn rows_span(off: u32, rows: u64, cols: u64) -> Option<u64> {
    (rows > 0).then(|| u64::from(off) + (rows - 1) * cols + cols.max(1))
}

/// The later end of two ranges.
fn union(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.max(b)
}

impl Extents for MatmulParams {
    fn reach(&self, groups: (u32, u32, u32)) -> Reach {
        let (m, n, k) = (u64::from(self.m), u64::from(self.n), u64::from(self.k));
        let a_rows = u64::from(self.a_rows);
        let partial = self.flags & MATMUL_FLAG_PARTIAL != 0;
        let indexed = self.a_indexed != 0;
        // The K tiles run only where some layer's slice starts below K.
        let k_runs = k > 0 && u64::from(self.k_base) < k;
        let out_len = if partial { u64::from(groups.2) * m * n } else { m * n };
        // A's stored rows: op(A)'s rows (K of them when transposed), or with A_INDEXED the
        // rows the index may name, of which a_src_rows exist (the kernel reads no other).
        let stride = if self.trans_a != 0 { a_rows } else { k };
        let own_rows = if self.trans_a != 0 { k } else { a_rows };
        let stored_rows = if indexed { u64::from(self.a_src_rows) } else { own_rows };
        // The variants' branch-free loads read vec4 0 where a lane is out of range (every
        // buffer holds at least that one 16-byte unit).
        let first_vec4 = Some(4);
        let a_reaches = k_runs && a_rows > 0;
        Reach::of(&[
            union(first_vec4, when(a_reaches, span(self.a_off, stored_rows * stride))),
            union(first_vec4, when(k_runs, span(self.b_off, k * n))),
            when(self.flags & MATMUL_FLAG_BIAS != 0, span(self.bias_off, n)),
            span(self.out_off, out_len),
            when(
                self.flags & (MATMUL_FLAG_Z | MATMUL_FLAG_DERIV) != 0,
                span(self.z_off, m * n),
            ),
            // The index is read at index_off + each own row (element 0 where a lane is out).
            when(indexed, union(Some(1), when(a_reaches, span(self.index_off, own_rows)))),
        ])
    }

    fn agrees(&self, specialization: &Specialization) -> bool {
        (self.trans_a != 0, self.a_indexed != 0) == (specialization.trans_a, specialization.a_indexed)
            && specialization.for_params(self) == *specialization
    }
}

impl Extents for MatmulReduceParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let len = u64::from(self.len);
        let nonempty = len > 0;
        Reach::of(&[
            span(self.partial_off, u64::from(self.layers) * len),
            // bias[bias_off + e % n]: one element even were n zero (e % 0 is 0 in WGSL).
            when(
                nonempty && self.flags & MATMUL_FLAG_BIAS != 0,
                span(self.bias_off, u64::from(self.n).max(1)),
            ),
            span(self.out_off, len),
            when(
                self.flags & (MATMUL_FLAG_Z | MATMUL_FLAG_DERIV) != 0,
                span(self.z_off, len),
            ),
        ])
    }
}

impl Extents for ActivationBackwardParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let len = u64::from(self.len);
        Reach::of(&[span(self.dy_off, len), span(self.z_off, len), span(self.dz_off, len)])
    }
}

impl Extents for SoftmaxParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let (rows, cols) = (u64::from(self.rows), u64::from(self.cols));
        Reach::of(&[rows_span(self.z_off, rows, cols), span(self.out_off, rows * cols)])
    }
}

impl Extents for SoftmaxBackwardParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let len = u64::from(self.rows) * u64::from(self.cols);
        Reach::of(&[span(self.y_off, len), span(self.dy_off, len), span(self.dz_off, len)])
    }
}

impl Extents for LossParams {
    fn reach(&self, groups: (u32, u32, u32)) -> Reach {
        let (rows, cols) = (u64::from(self.rows), u64::from(self.cols));
        let has = |flag: u32| self.flags & flag != 0;
        let (loss, metrics, indexed) = (has(LOSS_FLAG_LOSS), has(LOSS_FLAG_METRICS), has(LOSS_FLAG_INDEXED));
        let derivative = has(LOSS_FLAG_DERIVATIVE);
        // The sparse kinds read one class index per row (the prelude's LOSS_SPARSE_CCE*).
        let sparse_loss = [false, true]
            .map(|from_logits| Loss::SparseCategoricalCrossentropy { from_logits }.code())
            .contains(&self.kind);
        let sparse_accuracy = self.accuracy == crate::nn::Accuracy::SparseCategorical.code();
        // Targets and weights are read only at stored rows below target_rows: the batch's own
        // rows, or with LOSS_FLAG_INDEXED whichever rows the index names.
        let target_rows = u64::from(self.target_rows);
        let stored = if indexed { target_rows } else { rows.min(target_rows) };
        let by_row = span(self.target_off, stored);
        let by_element = span(self.target_off, stored * cols);
        let targets = union(
            when(loss, if sparse_loss { by_row } else { by_element }),
            when(metrics, if sparse_accuracy { by_row } else { by_element }),
        );
        let grad = loss && has(LOSS_FLAG_GRAD);
        let acc = if has(LOSS_FLAG_PARTIAL) {
            (groups.0 > 0).then(|| {
                u64::from(self.acc_off) + u64::from(groups.0 - 1) * metric_slot::COUNT as u64 + metric_slot::USED as u64
            })
        } else {
            span(self.acc_off, metric_slot::USED as u64)
        };
        // What the metrics see: aux, or pred when aux carries z (LOSS_FLAG_DERIVATIVE).
        let pred = union(
            when(loss, rows_span(self.pred_off, rows, cols)),
            when(metrics && derivative, rows_span(self.pred_off, rows, cols)),
        );
        let aux = union(
            when(metrics && !derivative, rows_span(self.output_off, rows, cols)),
            when(grad && derivative, span(self.z_off, rows * cols)),
        );
        let reads_targets = loss || metrics;
        Reach::of(&[
            pred,
            aux,
            targets,
            when(loss && has(LOSS_FLAG_WEIGHTS), span(self.weight_off, stored)),
            when(indexed && reads_targets, span(self.index_off, rows)),
            span(self.row_loss_off, rows),
            when(grad, span(self.grad_off, rows * cols)),
            // The slot sums are reduced and added even over no rows.
            when(metrics, acc),
        ])
    }
}

impl Extents for SumPartialsParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let (width, count) = (u64::from(self.width), u64::from(self.count));
        let src =
            (width > 0 && count > 0).then(|| u64::from(self.src_off) + (count - 1) * u64::from(self.stride) + width);
        Reach::of(&[src, span(self.dst_off, width)])
    }
}

impl Extents for OptimizerParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let n = u64::from(self.n);
        let has = |flag: u32| self.flags & flag != 0;
        let used: &[(OptimizerSlot, bool)] = match self.kind {
            OPT_SGD => &[(OptimizerSlot::SgdMomentum, has(OPT_FLAG_MOMENTUM))],
            OPT_ADAM => &[(OptimizerSlot::AdamM, true), (OptimizerSlot::AdamV, true)],
            // The kernel's default branch: RMSprop.
            _ => &[
                (OptimizerSlot::RmsVelocity, true),
                (OptimizerSlot::RmsAverageGradient, has(OPT_FLAG_CENTERED)),
                (OptimizerSlot::RmsMomentum, has(OPT_FLAG_MOMENTUM)),
            ],
        };
        // `state()` sends binding 2 and above to s2, as the kernel's switch does.
        let touched = |binding: usize| used.iter().any(|&(slot, on)| on && slot.binding().min(2) == binding);
        let offs = [self.s0_off, self.s1_off, self.s2_off];
        let state = |b: usize| when(touched(b), span(offs[b], n));
        Reach::of(&[
            span(self.param_off, n),
            span(self.grad_off, n),
            state(0),
            state(1),
            state(2),
        ])
    }
}

impl Extents for GatherParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let (rows, cols) = (u64::from(self.rows), u64::from(self.cols));
        let any = rows * cols > 0;
        Reach::of(&[
            when(any, span(self.src_off, u64::from(self.src_rows) * cols)),
            when(any, span(self.idx_off, u64::from(self.first) + rows)),
            span(self.out_off, rows * cols),
        ])
    }
}

impl Extents for FillParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        Reach::of(&[span(self.out_off, u64::from(self.n))])
    }
}

impl Extents for DropoutParams {
    fn reach(&self, _groups: (u32, u32, u32)) -> Reach {
        let n = u64::from(self.n);
        // The mask is written forward and read backward: the same range in both modes.
        Reach::of(&[span(self.x_off, n), span(self.mask_off, n), span(self.out_off, n)])
    }
}

/// The elements a storage buffer of `bytes` holds for a kernel: whole 16-byte units only,
/// since the matrix product binds its operands as `array<vec4<f32>>` (every buffer the
/// backend allocates is padded to 16 bytes, so this is all of it).
pub(crate) fn capacity(bytes: u64) -> u64 {
    bytes / 16 * 4
}

/// Refuses a dispatch of `kernel` whose reach passes the end of a bound buffer; `lens` holds
/// the bound buffers' capacities in binding order.
pub(crate) fn check(kernel: super::kernels::Kernel, reach: &Reach, lens: &[u64]) -> Result<()> {
    let spec = kernel.spec();
    assert_eq!(
        reach.count,
        spec.bindings.len(),
        "extents.rs describes {} bindings of the {} kernel, which has {}",
        reach.count,
        spec.name,
        spec.bindings.len()
    );
    for ((end, &len), binding) in reach.ends().iter().zip(lens).zip(spec.bindings) {
        if let Some(end) = *end
            && end > len
        {
            return Err(Error::KernelRange {
                kernel: spec.name,
                binding: binding.name,
                end,
                len,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytemuck::Zeroable;

    use super::*;
    use crate::backend::gpu::kernels::Kernel;

    fn matmul(m: u32, k: u32, n: u32) -> MatmulParams {
        MatmulParams {
            m,
            n,
            k,
            a_rows: m,
            k_chunk: k,
            flags: MATMUL_FLAG_BIAS | MATMUL_FLAG_Z,
            ..Zeroable::zeroed()
        }
    }

    #[test]
    fn a_product_that_fits_its_buffers_passes() {
        let p = matmul(3, 5, 7);
        let reach = p.reach((1, 1, 1));
        assert_eq!(reach.ends(), &[Some(15), Some(35), Some(7), Some(21), Some(21), None]);
        check(Kernel::Matmul, &reach, &[16, 36, 8, 24, 24, 4]).unwrap();
    }

    #[test]
    fn a_range_one_past_its_buffer_is_refused() {
        let mut p = matmul(3, 5, 7);
        p.a_off = 2; // a [3, 5] view at element 2 of a 16-element buffer ends at 17
        match check(Kernel::Matmul, &p.reach((1, 1, 1)), &[16, 36, 8, 24, 24, 4]) {
            Err(Error::KernelRange {
                kernel: "matmul",
                binding: "a",
                end: 17,
                len: 16,
            }) => {}
            other => panic!("expected a KernelRange error, got {other:?}"),
        }
    }

    #[test]
    fn absent_operands_bound_to_dummies_are_not_reached() {
        // No bias, no z, no A (a column sum): those bindings hold a 4-element dummy.
        let p = MatmulParams {
            flags: 0,
            a_rows: 0,
            ..matmul(1, 100, 9)
        };
        check(Kernel::Matmul, &p.reach((1, 1, 1)), &[4, 900, 4, 12, 4, 4]).unwrap();
        let adam = OptimizerParams {
            n: 10,
            kind: OPT_ADAM,
            ..Zeroable::zeroed()
        };
        check(Kernel::OptimizerStep, &adam.reach((1, 1, 1)), &[12, 12, 12, 12, 4]).unwrap();
        let sgd = OptimizerParams {
            n: 10,
            kind: OPT_SGD,
            ..Zeroable::zeroed()
        };
        check(Kernel::OptimizerStep, &sgd.reach((1, 1, 1)), &[12, 12, 4, 4, 4]).unwrap();
        let momentum = OptimizerParams {
            flags: OPT_FLAG_MOMENTUM,
            ..sgd
        };
        assert!(check(Kernel::OptimizerStep, &momentum.reach((1, 1, 1)), &[12, 12, 4, 4, 4]).is_err());
    }

    #[test]
    fn an_indexed_product_reaches_the_source_rows_and_the_index() {
        // x·W with x's 3 rows read through indices from a 10-row source of K = 5.
        let p = MatmulParams {
            a_indexed: 1,
            a_src_rows: 10,
            index_off: 7,
            ..matmul(3, 5, 2)
        };
        let reach = p.reach((1, 1, 1));
        assert_eq!((reach.ends()[0], reach.ends()[5]), (Some(50), Some(10)));
        check(Kernel::Matmul, &reach, &[52, 12, 4, 8, 8, 12]).unwrap();
        assert!(check(Kernel::Matmul, &reach, &[52, 12, 4, 8, 8, 8]).is_err());
        // xᵀ·dz: the index runs along K (the batch) instead.
        let t = MatmulParams {
            trans_a: 1,
            ..matmul(5, 3, 2)
        };
        let t = MatmulParams {
            a_indexed: 1,
            a_src_rows: 10,
            index_off: 7,
            ..t
        };
        assert_eq!(
            (t.reach((1, 1, 1)).ends()[0], t.reach((1, 1, 1)).ends()[5]),
            (Some(50), Some(10))
        );
    }

    #[test]
    fn split_partials_reach_every_layer_of_the_dispatch() {
        let p = MatmulParams {
            flags: MATMUL_FLAG_PARTIAL,
            out_off: 4,
            ..matmul(2, 8192, 3)
        };
        let reach = p.reach((1, 1, 3));
        assert_eq!(reach.ends()[3], Some(4 + 3 * 2 * 3));
        assert!(check(Kernel::Matmul, &reach, &[16384, 24576, 4, 20, 4, 4]).is_err());
        check(Kernel::Matmul, &reach, &[16384, 24576, 4, 24, 4, 4]).unwrap();
    }

    #[test]
    fn every_kernel_describes_each_of_its_bindings() {
        let z = (1, 1, 1);
        let reaches = [
            (Kernel::Matmul, MatmulParams::zeroed().reach(z)),
            (Kernel::MatmulBlocked, MatmulParams::zeroed().reach(z)),
            (Kernel::MatmulSkinny, MatmulParams::zeroed().reach(z)),
            (Kernel::MatmulSubgroup, MatmulParams::zeroed().reach(z)),
            (Kernel::MatmulReduce, MatmulReduceParams::zeroed().reach(z)),
            (Kernel::ActivationBackward, ActivationBackwardParams::zeroed().reach(z)),
            (Kernel::Softmax, SoftmaxParams::zeroed().reach(z)),
            (Kernel::Loss, LossParams::zeroed().reach(z)),
            (Kernel::SumPartials, SumPartialsParams::zeroed().reach(z)),
            (Kernel::OptimizerStep, OptimizerParams::zeroed().reach(z)),
            (Kernel::GatherRows, GatherParams::zeroed().reach(z)),
            (Kernel::Fill, FillParams::zeroed().reach(z)),
            (Kernel::SoftmaxBackward, SoftmaxBackwardParams::zeroed().reach(z)),
            (Kernel::Dropout, DropoutParams::zeroed().reach(z)),
        ];
        assert_eq!(reaches.len(), Kernel::ALL.len());
        for (kernel, reach) in reaches {
            assert_eq!(reach.ends().len(), kernel.storage_count(), "{kernel:?}");
            // Zero-sized work reaches nothing, so even dummies pass.
            check(kernel, &reach, &vec![4; kernel.storage_count()]).unwrap();
        }
    }

    /// Through the real dispatch: a view forged past its storage (the public API cannot make
    /// one; a bug inside the engine could) is refused with a typed error before the kernel
    /// runs, and the backend goes on working. Needs an adapter: where none exists it says so
    /// loudly (and fails under WGTRAIN_REQUIRE_GPU=1, as CI runs it).
    #[test]
    fn a_dispatch_past_its_buffer_is_refused_on_the_device() {
        use crate::backend::{Backend, GatherRowsOp, GpuBackend, MatmulOp, Tensor};
        let required = std::env::var("WGTRAIN_REQUIRE_GPU").is_ok_and(|v| v == "1");
        if !required && crate::backend::gpu::list_adapters().is_empty() {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n*** no GPU adapter: the device half of this test did not run ***\n"
            );
            return;
        }
        let mut gpu = GpuBackend::new().expect("a GPU backend");
        let a = gpu.upload(2, 3, &[1.0; 6]).unwrap();
        let b = gpu.upload(3, 2, &[1.0; 6]).unwrap();
        let out = gpu.zeros(2, 2).unwrap();
        // Six values padded to 16-byte units hold 8; a [2, 3] view at element 6 ends at 12.
        let past = Tensor { offset: 6, ..a };
        // Whichever matmul variant the autotune picked for the shape refuses it.
        match gpu.matmul(&MatmulOp::new(past, b, out)) {
            Err(Error::KernelRange {
                kernel,
                binding: "a",
                end: 12,
                len: 8,
            }) if kernel.starts_with("matmul") => {}
            other => panic!("expected a KernelRange error, got {other:?}"),
        }
        let idx = gpu.upload_u32(&[0, 1]).unwrap();
        let rows = gpu.zeros(2, 3).unwrap();
        let short = Tensor { offset: 7, ..idx };
        match gpu.gather_rows(&GatherRowsOp::new(a, short, 0, rows)) {
            Err(Error::KernelRange {
                kernel: "gather_rows",
                binding: "indices",
                ..
            }) => {}
            other => panic!("expected a KernelRange error, got {other:?}"),
        }
        gpu.matmul(&MatmulOp::new(a, b, out)).unwrap();
        assert_eq!(gpu.read(out).unwrap(), vec![3.0; 4]);
    }

    #[test]
    fn the_loss_head_reaches_targets_by_its_loss_and_its_accuracy() {
        let p = LossParams {
            rows: 5,
            cols: 3,
            kind: Loss::SparseCategoricalCrossentropy { from_logits: true }.code(),
            flags: LOSS_FLAG_LOSS | LOSS_FLAG_METRICS | LOSS_FLAG_GRAD,
            accuracy: crate::nn::Accuracy::SparseCategorical.code(),
            rows_per_group: 256,
            target_rows: 5,
            ..Zeroable::zeroed()
        };
        assert_eq!(p.reach((1, 1, 1)).ends()[2], Some(5));
        let dense = LossParams {
            accuracy: ACC_NONE,
            ..p
        };
        assert_eq!(dense.reach((1, 1, 1)).ends()[2], Some(15));
    }
}
