//! The one error type of wgtrain. Every failure a user can cause or meet (bad input, a shape
//! that does not fit, a GPU that is missing, lost or out of memory) is a variant here with the
//! context a person needs to fix it. Panics are reserved for programmer bugs.

use crate::backend::{BackendId, StorageId};
use crate::data::DataError;

/// Everything that can go wrong in wgtrain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No GPU adapter matched the request.
    #[error("no GPU adapter found{requested}: {hint}")]
    NoAdapter {
        /// What was asked for, already formatted (empty when nothing specific was).
        requested: String,
        /// What to do about it: install a driver when there is no adapter at all, or choose
        /// one that exists.
        hint: String,
    },
    /// The adapter refused to create a device.
    #[error("the adapter `{adapter}` refused to create a device: {reason}")]
    DeviceRequest {
        /// Adapter name.
        adapter: String,
        /// wgpu's reason.
        reason: String,
    },
    /// wgpu reported a validation error (a bug in wgtrain or an unsupported adapter).
    #[error("GPU validation error during {during}: {message}")]
    GpuValidation {
        /// The operation that failed.
        during: String,
        /// wgpu's message.
        message: String,
    },
    /// The GPU ran out of memory.
    #[error("the GPU ran out of memory during {during}; try a smaller batch size or model")]
    GpuOutOfMemory {
        /// The operation that failed.
        during: String,
    },
    /// The GPU device was lost (driver reset, GPU removed, device destroyed).
    #[error("the GPU device was lost: {reason}")]
    DeviceLost {
        /// wgpu's reason.
        reason: String,
    },
    /// Reading results back from the GPU failed.
    #[error("reading a buffer back from the GPU failed: {0}")]
    ReadBack(String),
    /// A synchronous call that would wait for the GPU, made where waiting is impossible: in a
    /// browser the GPU answers only once control returns to the event loop, so the call's
    /// `_async` form must be awaited instead.
    #[error(
        "`{op}` waits for the GPU, which a web page cannot do synchronously (the browser answers \
         only when control returns to its event loop): await `{op}_async` instead"
    )]
    BlockingOnWeb {
        /// The synchronous call that was refused.
        op: &'static str,
    },
    /// A buffer larger than the adapter allows.
    #[error(
        "{what} needs {requested} bytes but the adapter's limit `{limit}` is {max} bytes; \
         use a smaller batch size or model"
    )]
    LimitExceeded {
        /// What was being allocated.
        what: String,
        /// The wgpu limit's name.
        limit: &'static str,
        /// The limit's value.
        max: u64,
        /// The size asked for.
        requested: u64,
    },
    /// A kernel dispatch whose parameters reach past the end of a bound buffer (a tensor view
    /// that passes its storage: a bug inside the engine), refused before the kernel runs, so
    /// a kernel built without runtime bounds checks never indexes outside a buffer.
    #[error(
        "the `{kernel}` kernel would reach element {end} of its `{binding}` binding, whose buffer holds {len}; \
         the dispatch was refused (a tensor view passes the end of its storage)"
    )]
    KernelRange {
        /// The kernel.
        kernel: &'static str,
        /// The storage binding (the shader's variable name).
        binding: &'static str,
        /// One past the highest element the dispatch could index there.
        end: u64,
        /// Elements the bound buffer holds.
        len: u64,
    },
    /// The host could not allocate the memory asked for.
    #[error(
        "{what} needs {requested} bytes of host memory, which could not be allocated; use a smaller batch size or model"
    )]
    HostOutOfMemory {
        /// What was being allocated.
        what: String,
        /// The size asked for.
        requested: u64,
    },
    /// More host memory than this process may use (its cgroup's limit, the memory the system
    /// has available, or its address-space limit), found before anything was allocated.
    #[error(
        "{what} needs {} of host memory, but this process may use only {} more ({bound}); \
         use fewer or smaller layers, a smaller batch size, or run where more memory is allowed",
        crate::memory::human_bytes(*.requested),
        crate::memory::human_bytes(*.limit)
    )]
    HostMemoryLimit {
        /// What was to be allocated.
        what: String,
        /// Bytes it needs.
        requested: u64,
        /// Bytes the process may still use.
        limit: u64,
        /// Which bound that is.
        bound: String,
    },
    /// Operand shapes do not fit together.
    #[error("shape mismatch in {op}: {detail}")]
    Shape {
        /// The operation.
        op: &'static str,
        /// What does not fit, with the shapes.
        detail: String,
    },
    /// A tensor whose storage was freed (or never existed on this backend).
    #[error("{op} was given a tensor of storage {storage}, which was freed")]
    UnknownTensor {
        /// The operation.
        op: &'static str,
        /// The storage the tensor names.
        storage: StorageId,
    },
    /// A tensor made by another backend instance: tensors belong to the backend that made
    /// them (copy the values through the host to move them).
    #[error(
        "{op} on the {backend} was given a tensor of the {tensor_backend}; a tensor belongs to the backend that made it"
    )]
    ForeignTensor {
        /// The operation.
        op: &'static str,
        /// The backend that made the tensor.
        tensor_backend: BackendId,
        /// The backend the operation was asked of.
        backend: BackendId,
    },
    /// A WGSL module that naga rejects (a bug in a kernel, or a generated kernel the
    /// adapter cannot run), found before wgpu sees it.
    #[error("the `{kernel}` kernel does not compile: {part}:{line}:{column}: {message}")]
    Shader {
        /// The kernel (the module's name).
        kernel: String,
        /// The part of the module the position is in (a shader file or the generated prelude).
        part: String,
        /// Line in that part, from 1 (0 when naga gave no position).
        line: u32,
        /// Column in that line, from 1 (0 when naga gave no position).
        column: u32,
        /// naga's message.
        message: String,
    },
    #[error("the {executor} executor cannot run this model: {reason}; use the layered executor (`auto` picks it)")]
    /// An executor was asked for explicitly and cannot run the model (or not on this backend).
    ExecutorUnavailable {
        /// The executor asked for.
        executor: &'static str,
        /// Why, in a sentence.
        reason: String,
    },

    #[error(
        "the {executor} kernel completed {completed} of the {expected} steps recorded this epoch (the driver \
         stopped a loop early); the weights of this epoch are not used"
    )]
    /// A generated kernel ran fewer steps than recorded (a driver cut its loops short).
    IncompleteDispatch {
        /// The executor.
        executor: &'static str,
        /// Steps recorded.
        expected: u64,
        /// Steps the kernel reported.
        completed: u64,
    },

    /// An invalid argument (hyper-parameter out of range, bad option …).
    #[error("invalid {what}: {detail}")]
    InvalidArgument {
        /// The argument.
        what: &'static str,
        /// Why it is invalid.
        detail: String,
    },
    /// Training diverged: the loss became NaN or infinite. The weights were rolled back to
    /// the end of the last good epoch.
    #[error(
        "training diverged in epoch {epoch}: {detail}; the weights of the last good epoch were kept. \
         Try a lower learning rate, scaled inputs, or gradient-friendly activations"
    )]
    Diverged {
        /// The epoch (from 1) in which it happened.
        epoch: usize,
        /// What was seen.
        detail: String,
    },
    /// A file that is not a usable wgtrain model (truncated, corrupted, another format, or
    /// weights that do not fit).
    #[error("{path} is not a usable wgtrain model file: {detail}")]
    ModelFile {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A model file whose metadata does not read: an entry that is not JSON, a field that is
    /// missing, unknown or of the wrong type, a name this build does not know (the message
    /// lists the accepted ones), or a value out of range.
    #[error("{path} is not a usable wgtrain model file: metadata field `{field}`: {detail}")]
    ModelMetadata {
        /// The file.
        path: String,
        /// The field's JSON path, from the metadata entry (`architecture.layers[1].activation.name`).
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// A problem with input data (CSV reading, missing values, encodings, splits).
    #[error(transparent)]
    Data(#[from] DataError),
    /// An I/O error outside data reading.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// wgtrain's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
