//! ModelCheckpoint: saves the model (weights, optimizer state, preprocessing) to one file
//! during training, every few epochs or only when a monitored value improved. Each save
//! replaces the file atomically.

use std::path::PathBuf;

use super::plateau::Mode;
use super::{Callback, Control, monitored};
use crate::Result;
use crate::data::Preprocessing;
use crate::model::{Logs, Model};

/// Saves the model during training.
///
/// ```
/// use wgtrain::model::{FitOptions, ModelCheckpoint};
/// let best = ModelCheckpoint::new("best.safetensors").save_best_only("val_loss");
/// let options = FitOptions::new(10, 32).callback(best);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    /// The model file written (replaced atomically each time).
    pub path: PathBuf,
    /// Save after every `every` epochs (default 1).
    pub every: usize,
    /// Preprocessing stored with the model.
    pub preprocessing: Option<Preprocessing>,
    /// Save only when this log value improved on the best seen (Keras's save_best_only).
    pub monitor: Option<String>,
    /// Direction of the monitored value.
    pub mode: Mode,
    best: Option<f32>,
}

impl ModelCheckpoint {
    /// Saves to `path` after every epoch.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            every: 1,
            preprocessing: None,
            monitor: None,
            mode: Mode::Auto,
            best: None,
        }
    }

    /// Saves after every `every` epochs (at least 1).
    pub fn every(mut self, every: usize) -> Self {
        self.every = every.max(1);
        self
    }

    /// Stores `preprocessing` with the model, so the file predicts on raw CSV rows.
    pub fn preprocessing(mut self, preprocessing: Option<Preprocessing>) -> Self {
        self.preprocessing = preprocessing;
        self
    }

    /// Saves only when `monitor` improved (checked on the epochs that would save).
    pub fn save_best_only(mut self, monitor: &str) -> Self {
        self.monitor = Some(monitor.to_string());
        self
    }

    /// Sets the direction of the monitored value.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        self.best = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control> {
        if !(epoch + 1).is_multiple_of(self.every) {
            return Ok(Control::Continue);
        }
        if let Some(monitor) = &self.monitor {
            let value = monitored(monitor, logs)?;
            let up = self.mode.maximizes(monitor);
            let improved = match self.best {
                None => value.is_finite(),
                Some(best) => (up && value > best) || (!up && value < best),
            };
            if !improved {
                return Ok(Control::Continue);
            }
            self.best = Some(value);
        }
        model.save(&self.path, self.preprocessing.as_ref())?;
        Ok(Control::Continue)
    }
}
