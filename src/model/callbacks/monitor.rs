//! What EarlyStopping, ReduceLROnPlateau and ModelCheckpoint share (Keras's
//! `MonitorCallback`): a log key, its direction, the smallest change that counts, the best
//! value seen, and the check that the key will be in the logs before training starts.

use crate::model::Logs;
use crate::{Error, Result};

/// Whether a monitored value should go down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Down when the name does not mention accuracy, precision or recall; up otherwise.
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// Whether higher values of `monitor` are better.
    pub(crate) fn maximizes(self, monitor: &str) -> bool {
        match self {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => ["acc", "precision", "recall"].iter().any(|k| monitor.contains(k)),
        }
    }
}

/// A monitored log value and the best seen so far.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Monitor {
    pub key: String,
    pub mode: Mode,
    pub min_delta: f32,
    pub best: Option<f32>,
}

impl Monitor {
    pub fn new(key: &str, mode: Mode, min_delta: f32) -> Self {
        Monitor {
            key: key.to_string(),
            mode,
            min_delta: min_delta.abs(),
            best: None,
        }
    }

    /// Forgets the best value (a new training run) and checks that the key will be logged.
    pub fn start(&mut self, callback: &'static str, keys: &[String]) -> Result<()> {
        self.best = None;
        if keys.contains(&self.key) {
            return Ok(());
        }
        Err(Error::InvalidArgument {
            what: "callback monitor",
            detail: format!(
                "{callback} monitors `{}`, which the logs will not hold; they hold: {}{}",
                self.key,
                keys.join(", "),
                if self.key.starts_with("val_") {
                    " (val_* keys need validation data or a validation split)"
                } else {
                    ""
                }
            ),
        })
    }

    /// The monitored value in `logs`.
    pub fn value(&self, logs: &Logs) -> Result<f32> {
        super::monitored(&self.key, logs)
    }

    /// Whether `value` improves on the best by more than `min_delta` (a NaN never does);
    /// an improvement becomes the best.
    pub fn improves(&mut self, value: f32) -> bool {
        let up = self.mode.maximizes(&self.key);
        let better = match self.best {
            None => !value.is_nan(),
            Some(best) if up => value - self.min_delta > best,
            Some(best) => value + self.min_delta < best,
        };
        if better {
            self.best = Some(value);
        }
        better
    }
}
