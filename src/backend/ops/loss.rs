//! The loss descriptor: per-row losses and the gradient of the batch-mean loss.
//!
//! Shape letters: B rows (the batch), C outputs per row, S rows of a resident data chunk
//! (targets read through the epoch's permutation, [`LossOp::target_rows`]).

use super::{IndexedRows, distinct_storages, expect_len, expect_shape};
use crate::backend::tensor::Tensor;
use crate::nn::Loss;
use crate::{Error, Result};

/// A loss evaluation: per-row losses and (optionally) the gradient of the batch-mean loss
/// (see [`crate::nn::loss`]).
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, LossOp};
/// use wgtrain::nn::Loss;
/// let mut cpu = CpuBackend::new();
/// let pred = cpu.upload(2, 1, &[1., 2.]).unwrap();
/// let target = cpu.upload(2, 1, &[0., 0.]).unwrap();
/// let (row_loss, grad) = (cpu.zeros(2, 1).unwrap(), cpu.zeros(2, 1).unwrap());
/// cpu.loss(&LossOp::new(Loss::MeanSquaredError, pred, target, row_loss).grad(grad)).unwrap();
/// assert_eq!(cpu.read(row_loss).unwrap(), vec![1., 4.]);
/// assert_eq!(cpu.read(grad).unwrap(), vec![1., 2.]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LossOp {
    /// The loss.
    pub loss: Loss,
    /// Predictions (probabilities or logits), [B, C].
    pub pred: Tensor,
    /// Targets: [B, C], or [B, 1] class indices for sparse cross-entropy.
    pub target: Tensor,
    /// Optional per-row sample weights, `[B]` (any shape with B elements).
    pub weights: Option<Tensor>,
    /// Receives wᵢ·ℓᵢ per row, `[B]` (any shape with B elements).
    pub row_loss: Tensor,
    /// Receives d(mean loss)/d pred, [B, C].
    pub grad: Option<Tensor>,
    /// Targets (and weights) are read through an index: `target` is then [S, C] (or [S, 1])
    /// and `weights` has S elements, and batch row i reads their row
    /// `indices[first + i] − row_base` (an index outside reads a zero target of weight 0).
    pub target_rows: Option<IndexedRows>,
}

impl LossOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "loss";

    /// The per-row losses of `pred` against `target`, unweighted, without a gradient.
    pub fn new(loss: Loss, pred: Tensor, target: Tensor, row_loss: Tensor) -> Self {
        LossOp {
            loss,
            pred,
            target,
            weights: None,
            row_loss,
            grad: None,
            target_rows: None,
        }
    }

    /// Reads the targets and weights through `rows` (B of them), or directly with None.
    pub fn target_rows(mut self, rows: impl Into<Option<IndexedRows>>) -> Self {
        self.target_rows = rows.into();
        self
    }

    /// Sets (or clears, with None) the per-row sample weights.
    pub fn weights(mut self, weights: impl Into<Option<Tensor>>) -> Self {
        self.weights = weights.into();
        self
    }

    /// Sets (or clears, with None) the gradient output.
    pub fn grad(mut self, grad: impl Into<Option<Tensor>>) -> Self {
        self.grad = grad.into();
        self
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [
            Some(self.pred),
            Some(self.target),
            self.weights,
            Some(self.row_loss),
            self.grad,
            self.target_rows.map(|i| i.indices),
        ]
        .into_iter()
        .flatten()
    }

    /// Checks the shapes and the storages.
    pub fn check(&self) -> Result<()> {
        const OP: &str = LossOp::NAME;
        let (b, c) = (self.pred.rows, self.pred.cols);
        if b == 0 || c == 0 {
            return Err(Error::Shape {
                op: OP,
                detail: format!("pred is [{b}, {c}]: empty"),
            });
        }
        let target_cols = if self.loss.sparse_targets() { 1 } else { c };
        let stored = stored_target_rows(OP, self.target_rows, &self.target, b)?;
        expect_shape(OP, "target", &self.target, stored, target_cols)?;
        expect_len(OP, "row_loss", &self.row_loss, b, "one per row of pred")?;
        if let Some(w) = &self.weights {
            expect_len(OP, "weights", w, stored, "one per row of target")?;
        }
        if let Some(g) = &self.grad {
            expect_shape(OP, "grad", g, b, c)?;
        }
        distinct_storages(
            OP,
            &[
                Some(self.pred),
                Some(self.target),
                self.weights,
                self.target_rows.map(|i| i.indices),
            ],
            &[Some(self.row_loss), self.grad],
        )
    }
}

/// The rows the target tensor must hold: B, or with an index (checked: B rows of it) any
/// number S, its own.
pub(crate) fn stored_target_rows(
    op: &'static str,
    rows: Option<IndexedRows>,
    target: &Tensor,
    b: usize,
) -> Result<usize> {
    let Some(rows) = rows else { return Ok(b) };
    rows.check(op)?;
    if rows.rows != b {
        return Err(Error::Shape {
            op,
            detail: format!("the target index reads {} rows but pred has {b}", rows.rows),
        });
    }
    Ok(target.rows)
}
