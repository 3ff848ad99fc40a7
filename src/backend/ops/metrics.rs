//! The metric accumulator: its layout ([`MetricSlot`], the one definition the CPU sums, the
//! GPU shader's constants and the training loop's read-back all use) and the descriptor of
//! the operation that adds one batch to it.
//!
//! Shape letters: B rows (the batch), C outputs per row.

use super::loss::stored_target_rows;
use super::{IndexedRows, distinct_storages, expect_len, expect_shape};
use crate::Result;
use crate::backend::tensor::Tensor;
use crate::nn::Accuracy;

/// One slot of the metric accumulator (an f32 each), in accumulator order.
///
/// ```
/// use wgtrain::backend::{MetricSlot, metric_slot};
/// assert_eq!(MetricSlot::NonFinite.index(), metric_slot::NON_FINITE);
/// assert_eq!(MetricSlot::ALL.len(), metric_slot::USED);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricSlot {
    /// Σ wᵢ·ℓᵢ over the rows seen.
    LossSum,
    /// Number of rows seen.
    Samples,
    /// Σ per-row accuracy (a row's mean over its outputs for binary accuracy).
    Correct,
    /// Binary: outputs predicted positive that are positive.
    TruePos,
    /// Binary: outputs predicted positive that are negative.
    FalsePos,
    /// Binary: outputs predicted negative that are positive.
    FalseNeg,
    /// Σ |pred − target| over all outputs (not for sparse targets).
    AbsErr,
    /// Σ (pred − target)² over all outputs (not for sparse targets).
    SqErr,
    /// Number of outputs seen (rows × cols).
    Values,
    /// Number of rows whose loss was NaN or infinite.
    NonFinite,
}

impl MetricSlot {
    /// Every slot, in accumulator order.
    pub const ALL: [MetricSlot; 10] = [
        MetricSlot::LossSum,
        MetricSlot::Samples,
        MetricSlot::Correct,
        MetricSlot::TruePos,
        MetricSlot::FalsePos,
        MetricSlot::FalseNeg,
        MetricSlot::AbsErr,
        MetricSlot::SqErr,
        MetricSlot::Values,
        MetricSlot::NonFinite,
    ];

    /// The slot's index in the accumulator.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The slot's name in the WGSL prelude (`METRIC_` + this).
    pub const fn shader_name(self) -> &'static str {
        match self {
            MetricSlot::LossSum => "LOSS_SUM",
            MetricSlot::Samples => "SAMPLES",
            MetricSlot::Correct => "CORRECT",
            MetricSlot::TruePos => "TRUE_POS",
            MetricSlot::FalsePos => "FALSE_POS",
            MetricSlot::FalseNeg => "FALSE_NEG",
            MetricSlot::AbsErr => "ABS_ERR",
            MetricSlot::SqErr => "SQ_ERR",
            MetricSlot::Values => "VALUES",
            MetricSlot::NonFinite => "NON_FINITE",
        }
    }
}

/// Slot indices of the metric accumulator, as constants for indexing a read-back (each is
/// [`MetricSlot::index`] of its slot).
pub mod metric_slot {
    use super::MetricSlot;

    /// Σ wᵢ·ℓᵢ over the rows seen.
    pub const LOSS_SUM: usize = MetricSlot::LossSum.index();
    /// Number of rows seen.
    pub const SAMPLES: usize = MetricSlot::Samples.index();
    /// Σ per-row accuracy (a row's mean over its outputs for binary accuracy).
    pub const CORRECT: usize = MetricSlot::Correct.index();
    /// Binary: outputs predicted positive that are positive.
    pub const TRUE_POS: usize = MetricSlot::TruePos.index();
    /// Binary: outputs predicted positive that are negative.
    pub const FALSE_POS: usize = MetricSlot::FalsePos.index();
    /// Binary: outputs predicted negative that are positive.
    pub const FALSE_NEG: usize = MetricSlot::FalseNeg.index();
    /// Σ |pred − target| over all outputs (not for sparse targets).
    pub const ABS_ERR: usize = MetricSlot::AbsErr.index();
    /// Σ (pred − target)² over all outputs (not for sparse targets).
    pub const SQ_ERR: usize = MetricSlot::SqErr.index();
    /// Number of outputs seen (rows × cols).
    pub const VALUES: usize = MetricSlot::Values.index();
    /// Number of rows whose loss was NaN or infinite.
    pub const NON_FINITE: usize = MetricSlot::NonFinite.index();
    /// Slots in use (the first `USED` of the accumulator).
    pub const USED: usize = MetricSlot::ALL.len();
    /// Length of the accumulator (room to grow without changing the plan layout).
    pub const COUNT: usize = 12;

    const _: () = assert!(USED <= COUNT);
}

/// Accumulates one batch's loss and metrics into an accumulator of `metric_slot::COUNT`.
#[derive(Clone, Copy, Debug)]
pub struct MetricsOp {
    /// Accuracy to count, if the task has one.
    pub accuracy: Option<Accuracy>,
    /// Predictions, [B, C].
    pub pred: Tensor,
    /// Targets, [B, C] or [B, 1] for sparse.
    pub target: Tensor,
    /// Per-row losses from the loss op, `[B]`.
    pub row_loss: Tensor,
    /// The accumulator, `metric_slot::COUNT` elements, added to (not overwritten).
    pub acc: Tensor,
    /// Targets read through an index, as [`LossOp::target_rows`](super::LossOp::target_rows).
    pub target_rows: Option<IndexedRows>,
}

impl MetricsOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "accumulate_metrics";

    /// Adds the batch's loss sums (and error sums) to `acc`, with no accuracy until
    /// [`accuracy`](Self::accuracy).
    pub fn new(pred: Tensor, target: Tensor, row_loss: Tensor, acc: Tensor) -> Self {
        MetricsOp {
            accuracy: None,
            pred,
            target,
            row_loss,
            acc,
            target_rows: None,
        }
    }

    /// Reads the targets through `rows` (B of them), or directly with None.
    pub fn target_rows(mut self, rows: impl Into<Option<IndexedRows>>) -> Self {
        self.target_rows = rows.into();
        self
    }

    /// Sets (or clears, with None) the accuracy counted.
    pub fn accuracy(mut self, accuracy: impl Into<Option<Accuracy>>) -> Self {
        self.accuracy = accuracy.into();
        self
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [self.pred, self.target, self.row_loss, self.acc]
            .into_iter()
            .chain(self.target_rows.map(|i| i.indices))
    }

    /// Checks the shapes and the storages.
    pub fn check(&self) -> Result<()> {
        const OP: &str = MetricsOp::NAME;
        let (b, c) = (self.pred.rows, self.pred.cols);
        let sparse = self.accuracy == Some(Accuracy::SparseCategorical);
        let stored = stored_target_rows(OP, self.target_rows, &self.target, b)?;
        expect_shape(OP, "target", &self.target, stored, if sparse { 1 } else { c })?;
        expect_len(OP, "row_loss", &self.row_loss, b, "one per row of pred")?;
        expect_len(
            OP,
            "the accumulator",
            &self.acc,
            metric_slot::COUNT,
            "metric_slot::COUNT",
        )?;
        distinct_storages(
            OP,
            &[
                Some(self.pred),
                Some(self.target),
                Some(self.row_loss),
                self.target_rows.map(|i| i.indices),
            ],
            &[Some(self.acc)],
        )
    }
}
