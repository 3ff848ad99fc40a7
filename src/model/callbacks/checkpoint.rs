//! ModelCheckpoint: saves the model (weights, optimizer state, preprocessing) to one file
//! during training, every few epochs or only when a monitored value improved. Each save
//! replaces the file atomically.

use std::path::PathBuf;

use super::monitor::{Mode, Monitor};
use super::{Callback, Control};
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
    best: Option<Monitor>,
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
    fn on_train_begin(&mut self, _model: &mut Model, log_keys: &[String]) -> Result<()> {
        // The file's directory must exist before an epoch is spent: a save that cannot happen
        // is an error now, not after training.
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            return Err(crate::Error::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("ModelCheckpoint: the directory {} does not exist", dir.display()),
                ),
            });
        }
        self.best = match &self.monitor {
            Some(key) => {
                let mut m = Monitor::new(key, self.mode, 0.0);
                m.start("ModelCheckpoint", log_keys)?;
                Some(m)
            }
            None => None,
        };
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control> {
        if !(epoch + 1).is_multiple_of(self.every) {
            return Ok(Control::Continue);
        }
        if let Some(monitor) = self.best.as_mut() {
            // Keras's save_best_only: only an improvement on the best so far is saved.
            let value = monitor.value(logs)?;
            if !monitor.improves(value) {
                return Ok(Control::Continue);
            }
        }
        model.save(&self.path, self.preprocessing.as_ref())?;
        Ok(Control::Continue)
    }
}
