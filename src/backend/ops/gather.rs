//! The row gather descriptor: a shuffled mini-batch assembled from a data set resident on the
//! device, from one storage or from one chunk of a set split across storages.
//!
//! Shape letters: S source rows, C columns, R rows gathered; indices are u32 row numbers.

use super::distinct_storages;
use crate::backend::tensor::Tensor;
use crate::{Error, Result};

/// out[i, :] = src[indices[first + i] − row_base, :] for every row i of out. `src` holds rows
/// `row_base .. row_base + src.rows()` of the whole set; out rows whose index falls outside
/// are zeroed when `zero_outside`, else left as they are (so one gather per chunk assembles a
/// batch from a set larger than one GPU binding).
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, GatherRowsOp};
/// let mut cpu = CpuBackend::new();
/// let src = cpu.upload(3, 1, &[10., 20., 30.]).unwrap();
/// let order = cpu.upload_u32(&[2, 0, 1]).unwrap();
/// let out = cpu.zeros(2, 1).unwrap();
/// cpu.gather_rows(&GatherRowsOp::new(src, order, 1, out)).unwrap();
/// assert_eq!(cpu.read(out).unwrap(), vec![10., 20.]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GatherRowsOp {
    /// The rows to gather from, [S, C].
    pub src: Tensor,
    /// Row indices (u32 bit patterns, see `upload_u32`), at least `first` + R of them.
    pub indices: Tensor,
    /// The first index used.
    pub first: usize,
    /// Receives the rows, [R, C].
    pub out: Tensor,
    /// The whole set's row number of src's first row.
    pub row_base: usize,
    /// Whether rows outside src are zeroed (else left as they are).
    pub zero_outside: bool,
}

impl GatherRowsOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "gather_rows";

    /// out[i, :] = src[indices[first + i], :]; an index past the end of src gives a zero row.
    pub fn new(src: Tensor, indices: Tensor, first: usize, out: Tensor) -> Self {
        GatherRowsOp {
            src,
            indices,
            first,
            out,
            row_base: 0,
            zero_outside: true,
        }
    }

    /// Gathers from one chunk of a split set: src holds the rows from `row_base` on.
    pub fn chunk(mut self, row_base: usize, zero_outside: bool) -> Self {
        self.row_base = row_base;
        self.zero_outside = zero_outside;
        self
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [self.src, self.indices, self.out].into_iter()
    }

    /// Checks the shapes and the storages.
    pub fn check(&self) -> Result<()> {
        let (src, out) = (&self.src, &self.out);
        if out.cols != src.cols {
            return Err(Error::Shape {
                op: Self::NAME,
                detail: format!("out has {} columns, src {}", out.cols, src.cols),
            });
        }
        let end = self.first.checked_add(out.rows);
        if end.is_none_or(|end| end > self.indices.len()) {
            return Err(Error::Shape {
                op: Self::NAME,
                detail: format!(
                    "indices {}..{} asked for but only {} indices exist",
                    self.first,
                    self.first.saturating_add(out.rows),
                    self.indices.len()
                ),
            });
        }
        distinct_storages(Self::NAME, &[Some(self.src), Some(self.indices)], &[Some(self.out)])
    }
}
