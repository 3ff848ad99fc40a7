//! Keras-style models: build a [`Sequential`], `compile` it onto a device, then `fit`,
//! `evaluate` and `predict`. Everything above the Backend trait is shared by both backends.
//!
//! How the pieces fit: a [`Layer`] specification compiles into a layer step that owns its
//! parameter views, plan buffers and forward / backward pair (`layer/`); the loss head
//! (`head.rs`) owns the loss, the accuracy and the fused softmax; `network.rs` walks them; an
//! executor (`executor/`) runs the walks on the backend; `fit.rs` drives epochs and callbacks.

mod callbacks;
mod executor;
mod file;
mod file_checksum;
mod file_convert;
mod file_json;
mod file_read;
mod file_size;
mod file_validate;
mod fit;
mod fit_options;
mod head;
mod inference;
mod layer;
mod metrics;
#[allow(clippy::module_inception)]
mod model;
mod network;
mod owned;
mod resident;
mod sequential;
mod text;

pub use callbacks::{
    Callback, Control, CsvLogger, EarlyStopping, EpochFn, EpochLogger, Mode, ModelCheckpoint, ReduceLrOnPlateau,
    StopHandle, TerminateOnNaN,
};
pub use executor::{Execution, ExecutorChoice, ExecutorKind};
pub use file::{FORMAT_VERSION, ModelFile};
pub use file_checksum::Integrity;
pub use fit_options::FitOptions;
pub use layer::{Dense, Dropout, Layer, LayerPosition, LayerSpec, LayerStep, StepContext, WeightsLayout};
pub use metrics::{History, Logs, Metric};
pub use model::{LayerWeights, Model};
pub use sequential::{Device, Sequential};
pub use text::{MAX_UNITS, format_layers, loss_short_name, parse_layers, parse_loss};
