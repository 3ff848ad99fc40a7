//! Options of [`Model::fit`](super::Model::fit), with Keras's defaults and names.

use std::collections::HashMap;

use ndarray::Array2;

use super::callbacks::{Control, EarlyStopping, EpochHook, ReduceLrOnPlateau, StopHandle};
use super::metrics::Logs;

/// Options of [`Model::fit`], with Keras's defaults.
///
/// ```
/// use wgtrain::model::FitOptions;
/// let options = FitOptions::new(100, 10).validation_split(0.2).seed(7);
/// assert_eq!(options.epochs, 100);
/// assert!(options.shuffle);
/// ```
pub struct FitOptions {
    /// Passes over the training data (default 1).
    pub epochs: usize,
    /// Rows per step (default 32); a short last batch is trained, not dropped.
    pub batch_size: usize,
    /// Reshuffle the rows every epoch (default on, seeded).
    pub shuffle: bool,
    /// Fraction of rows held out for validation, taken after a seeded shuffle.
    pub validation_split: f32,
    /// Explicit validation data (x, y); wins over `validation_split`.
    pub validation_data: Option<(Array2<f32>, Array2<f32>)>,
    /// Loss weight per class index (binary: 0 and 1), as Keras's `class_weight`.
    pub class_weight: Option<HashMap<usize, f32>>,
    /// 0 silent, 1 one line per epoch on stderr.
    pub verbose: u8,
    /// Seed of the shuffles and the validation split (default 0).
    pub seed: u64,
    /// Early stopping.
    pub early_stopping: Option<EarlyStopping>,
    /// Learning-rate reduction on plateaus.
    pub reduce_lr: Option<ReduceLrOnPlateau>,
    /// Stop with an error on a NaN or infinite loss, rolling back to the last good epoch
    /// (default on).
    pub terminate_on_nan: bool,
    /// Called after each epoch; may ask to stop.
    pub on_epoch_end: Option<EpochHook>,
    /// Lets another thread stop training at the next batch boundary.
    pub stop: Option<StopHandle>,
    /// Steps recorded per GPU submission (default: a whole epoch in one).
    pub steps_per_submit: usize,
    /// Save the model every few epochs (atomically).
    pub checkpoint: Option<Checkpoint>,
}

/// Periodic saving during `fit`.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The model file written (replaced atomically each time).
    pub path: std::path::PathBuf,
    /// Save after every `every` epochs.
    pub every: usize,
    /// Preprocessing stored with the model.
    pub preprocessing: Option<crate::data::Preprocessing>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation_split: 0.0,
            validation_data: None,
            class_weight: None,
            verbose: 0,
            seed: 0,
            early_stopping: None,
            reduce_lr: None,
            terminate_on_nan: true,
            on_epoch_end: None,
            stop: None,
            steps_per_submit: usize::MAX,
            checkpoint: None,
        }
    }
}

impl FitOptions {
    /// Options for `epochs` epochs at `batch_size`.
    pub fn new(epochs: usize, batch_size: usize) -> Self {
        FitOptions {
            epochs,
            batch_size,
            ..Default::default()
        }
    }

    /// Sets the validation split.
    pub fn validation_split(mut self, f: f32) -> Self {
        self.validation_split = f;
        self
    }

    /// Sets the validation data.
    pub fn validation_data(mut self, x: Array2<f32>, y: Array2<f32>) -> Self {
        self.validation_data = Some((x, y));
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Turns shuffling on or off.
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }

    /// Sets the verbosity.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }

    /// Sets class weights.
    pub fn class_weight(mut self, w: HashMap<usize, f32>) -> Self {
        self.class_weight = Some(w);
        self
    }

    /// Adds early stopping.
    pub fn early_stopping(mut self, es: EarlyStopping) -> Self {
        self.early_stopping = Some(es);
        self
    }

    /// Adds learning-rate reduction.
    pub fn reduce_lr(mut self, r: ReduceLrOnPlateau) -> Self {
        self.reduce_lr = Some(r);
        self
    }

    /// Sets the per-epoch hook.
    pub fn on_epoch_end(mut self, hook: impl FnMut(usize, &Logs) -> Control + Send + 'static) -> Self {
        self.on_epoch_end = Some(Box::new(hook));
        self
    }

    /// Sets the stop handle.
    pub fn stop_handle(mut self, stop: StopHandle) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Saves the model to `path` every `every` epochs.
    pub fn checkpoint(
        mut self,
        path: impl Into<std::path::PathBuf>,
        every: usize,
        preprocessing: Option<crate::data::Preprocessing>,
    ) -> Self {
        self.checkpoint = Some(Checkpoint {
            path: path.into(),
            every: every.max(1),
            preprocessing,
        });
        self
    }

    /// Sets the steps per submission.
    pub fn steps_per_submit(mut self, n: usize) -> Self {
        self.steps_per_submit = n.max(1);
        self
    }
}
