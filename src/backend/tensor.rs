//! Tensor handles: a row-major [rows, cols] f32 view into a storage buffer owned by a backend.
//! Handles are small `Copy` values; the backend owns the memory, so a layer can keep views
//! into one flat parameter buffer (which lets an optimizer update every parameter in one
//! dispatch) and a plan can use the first rows of a batch buffer for a short last batch.

use crate::{Error, Result};

/// Identifies one storage buffer of a backend. Ids are never reused.
pub type StorageId = u32;

/// A row-major [rows, cols] view of f32 elements starting at `offset` in a backend storage.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend};
/// let mut cpu = CpuBackend::new();
/// let t = cpu.upload(2, 3, &[1., 2., 3., 4., 5., 6.]).unwrap();
/// let second_row = t.rows_range(1, 1).unwrap();
/// assert_eq!(cpu.read(second_row).unwrap(), vec![4., 5., 6.]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tensor {
    pub(crate) storage: StorageId,
    pub(crate) offset: usize,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

impl Tensor {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of elements (rows × cols).
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// True when the view holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element offset of the view inside its storage.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The storage the view belongs to.
    pub fn storage(&self) -> StorageId {
        self.storage
    }

    /// A [rows, cols] view starting `offset` elements into this one; it must fit inside.
    pub fn view(&self, offset: usize, rows: usize, cols: usize) -> Result<Tensor> {
        let end = offset.checked_add(rows.saturating_mul(cols));
        match end {
            Some(end) if end <= self.len() => Ok(Tensor {
                storage: self.storage,
                offset: self.offset + offset,
                rows,
                cols,
            }),
            _ => Err(Error::Shape {
                op: "view",
                detail: format!(
                    "a [{rows}, {cols}] view at element {offset} does not fit in a [{}, {}] tensor",
                    self.rows, self.cols
                ),
            }),
        }
    }

    /// Rows `first .. first + count` of this tensor.
    pub fn rows_range(&self, first: usize, count: usize) -> Result<Tensor> {
        self.view(first * self.cols, count, self.cols)
    }

    /// The same elements seen as [rows, cols].
    pub fn reshape(&self, rows: usize, cols: usize) -> Result<Tensor> {
        if rows * cols != self.len() {
            return Err(Error::Shape {
                op: "reshape",
                detail: format!("[{}, {}] cannot be seen as [{rows}, {cols}]", self.rows, self.cols),
            });
        }
        Ok(Tensor { rows, cols, ..*self })
    }
}
