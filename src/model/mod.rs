//! Keras-style models: build a [`Sequential`], `compile` it onto a device, then `fit`,
//! `evaluate` and `predict`. Everything above the Backend trait is shared by both backends.

mod callbacks;
mod compiled;
mod file;
mod file_convert;
mod file_json;
mod fit;
mod fit_options;
mod inference;
mod layers;
mod metrics;
mod plan;
mod sequential;
mod step;

pub use callbacks::{Control, EarlyStopping, EpochHook, Mode, ReduceLrOnPlateau, StopHandle};
pub use compiled::{LayerWeights, Model};
pub use file::{FORMAT_VERSION, ModelFile};
pub use fit_options::{Checkpoint, FitOptions};
pub use layers::{Dense, Dropout, Layer};
pub use metrics::{History, Logs, Metric};
pub use sequential::{Device, Sequential};
