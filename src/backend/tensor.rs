//! Tensor handles: a row-major [rows, cols] f32 view into a storage buffer owned by a backend.
//! Handles are small `Copy` values; the backend owns the memory, so a layer can keep views
//! into one flat parameter buffer (which lets an optimizer update every parameter in one
//! dispatch) and a plan can use the first rows of a batch buffer for a short last batch. Every
//! handle records the backend that made it ([`BackendId`]), so a handle given to another
//! backend is refused instead of naming one of that backend's storages.

use std::sync::atomic::{AtomicU32, Ordering};

use super::BackendKind;
use crate::{Error, Result};

/// Identifies one storage buffer of a backend. Ids are never reused.
pub type StorageId = u32;

/// The identity of one backend instance: its kind and a serial number unique in the process
/// (taken from a global counter when the backend is created), recorded in every tensor it makes.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend};
/// let (a, b) = (CpuBackend::new(), CpuBackend::new());
/// assert_ne!(a.id(), b.id());
/// assert_eq!(a.id().to_string(), format!("cpu backend #{}", a.id().serial()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BackendId {
    serial: u32,
    kind: BackendKind,
}

impl BackendId {
    /// A fresh identity for a new backend of `kind`.
    pub(crate) fn fresh(kind: BackendKind) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        BackendId {
            serial: NEXT.fetch_add(1, Ordering::Relaxed),
            kind,
        }
    }

    /// The serial number, unique among the backends of this process.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Which implementation the backend is.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }
}

impl std::fmt::Display for BackendId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            BackendKind::Cpu => "cpu",
            BackendKind::Gpu => "gpu",
        };
        write!(f, "{kind} backend #{}", self.serial)
    }
}

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
    pub(crate) backend: BackendId,
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

    /// The backend that made the tensor (views keep it).
    pub fn backend(&self) -> BackendId {
        self.backend
    }

    /// A new [rows, cols] tensor at the start of a storage of `backend` (for implementations).
    pub(crate) fn whole(backend: BackendId, storage: StorageId, rows: usize, cols: usize) -> Tensor {
        Tensor {
            backend,
            storage,
            offset: 0,
            rows,
            cols,
        }
    }

    /// A [rows, cols] view starting `offset` elements into this one; it must fit inside.
    pub fn view(&self, offset: usize, rows: usize, cols: usize) -> Result<Tensor> {
        let end = offset.checked_add(rows.saturating_mul(cols));
        match end {
            Some(end) if end <= self.len() => Ok(Tensor {
                offset: self.offset + offset,
                rows,
                cols,
                ..*self
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
