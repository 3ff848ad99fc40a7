//! Options of [`Model::fit`](super::Model::fit), with Keras's defaults and names.

use std::collections::HashMap;

use ndarray::Array2;

use super::callbacks::{Callback, Control, EarlyStopping, EpochFn, ModelCheckpoint, ReduceLrOnPlateau, StopHandle};
use super::metrics::Logs;

/// Options of [`Model::fit`](super::Model::fit), with Keras's defaults.
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
    /// Seed of the shuffles and the validation split (default 0).
    pub seed: u64,
    /// Callbacks, called in this order after each epoch (and at the start and end).
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Stop with an error on a NaN or infinite loss or weight, rolling back to the last good
    /// epoch (default on: a [`super::TerminateOnNaN`] runs before the other callbacks).
    pub terminate_on_nan: bool,
    /// Lets another thread stop training at the next batch boundary.
    pub stop: Option<StopHandle>,
    /// Steps recorded per GPU submission (default: a whole epoch in one).
    pub steps_per_submit: usize,
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
            seed: 0,
            callbacks: Vec::new(),
            terminate_on_nan: true,
            stop: None,
            steps_per_submit: usize::MAX,
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

    /// Sets class weights.
    pub fn class_weight(mut self, w: HashMap<usize, f32>) -> Self {
        self.class_weight = Some(w);
        self
    }

    /// Adds a callback (after those added before).
    pub fn callback(mut self, callback: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Turns the default TerminateOnNaN on or off.
    pub fn terminate_on_nan(mut self, on: bool) -> Self {
        self.terminate_on_nan = on;
        self
    }

    /// Adds early stopping (a callback).
    pub fn early_stopping(self, es: EarlyStopping) -> Self {
        self.callback(es)
    }

    /// Adds learning-rate reduction on plateaus (a callback).
    pub fn reduce_lr(self, r: ReduceLrOnPlateau) -> Self {
        self.callback(r)
    }

    /// Adds a closure called after each epoch that may ask to stop (a callback).
    pub fn on_epoch_end(self, hook: impl FnMut(usize, &Logs) -> Control + Send + 'static) -> Self {
        self.callback(EpochFn(hook))
    }

    /// Sets the stop handle.
    pub fn stop_handle(mut self, stop: StopHandle) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Saves the model to `path` every `every` epochs (a [`ModelCheckpoint`] callback).
    pub fn checkpoint(
        self,
        path: impl Into<std::path::PathBuf>,
        every: usize,
        preprocessing: Option<crate::data::Preprocessing>,
    ) -> Self {
        self.callback(ModelCheckpoint::new(path).every(every).preprocessing(preprocessing))
    }

    /// Sets the steps per submission.
    pub fn steps_per_submit(mut self, n: usize) -> Self {
        self.steps_per_submit = n.max(1);
        self
    }
}
