//! Rows read through an index: the epoch's permutation applied where an operand is read, so a
//! shuffled mini-batch of a resident data set needs no gather of its own (the first layer's
//! products read x this way, the loss head its targets and sample weights).
//!
//! Shape letters: S rows of the tensor read (one chunk of the whole set), R rows selected;
//! indices are u32 row numbers of the whole set (bit patterns, see `upload_u32`), as
//! [`GatherRowsOp`](super::GatherRowsOp) reads them.

use crate::backend::tensor::Tensor;
use crate::{Error, Result};

/// Row r (0 ≤ r < `rows`) of the operand is row `indices[first + r] − row_base` of the tensor
/// it is read from; an index outside that tensor reads as a row of zeros (as
/// [`GatherRowsOp`](super::GatherRowsOp) with `zero_outside`).
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, IndexedRows, MatmulOp};
/// let mut cpu = CpuBackend::new();
/// let x = cpu.upload(3, 1, &[10., 20., 30.]).unwrap(); // the whole set
/// let order = cpu.upload_u32(&[2, 0, 1]).unwrap();
/// let one = cpu.upload(1, 1, &[1.]).unwrap();
/// let out = cpu.zeros(2, 1).unwrap();
/// // Rows 1 and 2 of the epoch's order: x rows 0 and 1.
/// let rows = IndexedRows::new(order, 1, 2);
/// cpu.matmul(&MatmulOp::new(x, one, out).a_rows_through(rows)).unwrap();
/// assert_eq!(cpu.read(out).unwrap(), vec![10., 20.]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexedRows {
    /// Row indices (u32 bit patterns), at least `first + rows` of them.
    pub indices: Tensor,
    /// The first index used.
    pub first: usize,
    /// How many rows are read.
    pub rows: usize,
    /// The whole set's row number of the tensor's first row (a chunk of a split set).
    pub row_base: usize,
}

impl IndexedRows {
    /// `rows` rows through `indices[first ..]`, from a tensor holding the whole set.
    pub fn new(indices: Tensor, first: usize, rows: usize) -> Self {
        IndexedRows {
            indices,
            first,
            rows,
            row_base: 0,
        }
    }

    /// The tensor read holds the whole set's rows from `row_base` on.
    pub fn row_base(mut self, row_base: usize) -> Self {
        self.row_base = row_base;
        self
    }

    /// Checks that the index tensor holds the indices asked for (the same words as
    /// `gather_rows`).
    pub(crate) fn check(&self, op: &'static str) -> Result<()> {
        let end = self.first.checked_add(self.rows);
        if end.is_none_or(|end| end > self.indices.len()) {
            return Err(Error::Shape {
                op,
                detail: format!(
                    "indices {}..{} asked for but only {} indices exist",
                    self.first,
                    self.first.saturating_add(self.rows),
                    self.indices.len()
                ),
            });
        }
        Ok(())
    }

    /// The stored row read for row `r`, when it lies in a tensor of `src_rows` rows (the
    /// reference mapping; `indices` is the index tensor's values).
    pub(crate) fn source_row(&self, indices: &[f32], r: usize, src_rows: usize) -> Option<usize> {
        let row = (indices[self.first + r].to_bits() as usize).wrapping_sub(self.row_base);
        (row < src_rows).then_some(row)
    }
}
