//! Callbacks with Keras's semantics: a [`Callback`] sees the model at the start and end of
//! training and after every epoch (with that epoch's logs), and can stop training or fail it.
//! EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, TerminateOnNaN, a CSV logger, an epoch
//! logger and closures implement it; a [`StopHandle`] lets another thread stop training
//! between batches.

mod checkpoint;
mod logging;
mod monitor;
mod plateau;
mod terminate;

pub use checkpoint::ModelCheckpoint;
pub use logging::{CsvLogger, EpochFn, EpochLogger};
pub use monitor::Mode;
pub use plateau::{EarlyStopping, ReduceLrOnPlateau};
pub use terminate::TerminateOnNaN;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::metrics::{History, Logs};
use super::model::Model;
use crate::{Error, Result};

/// What a callback asks of the training loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch (the result is Ok, as with EarlyStopping).
    Stop,
}

/// Something `fit` calls at the start, after each epoch and at the end of training, in the
/// order the callbacks were added (as Keras does). An error fails `fit` with it.
///
/// ```
/// use wgtrain::model::{Callback, Control, Logs, Model};
/// struct StopAtLoss(f32);
/// impl Callback for StopAtLoss {
///     fn on_epoch_end(&mut self, _model: &mut Model, _epoch: usize, logs: &Logs) -> wgtrain::Result<Control> {
///         Ok(if logs["loss"] < self.0 { Control::Stop } else { Control::Continue })
///     }
/// }
/// ```
pub trait Callback: Send {
    /// Before the first epoch; `log_keys` are the keys every epoch's logs will hold (so a
    /// callback can refuse a monitor that will never be logged before any work is done).
    fn on_train_begin(&mut self, _model: &mut Model, _log_keys: &[String]) -> Result<()> {
        Ok(())
    }

    /// After epoch `epoch` (from 0), with its logs (`loss`, metrics, `val_*`,
    /// `learning_rate`).
    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control>;

    /// After the last epoch (also when a callback stopped training).
    fn on_train_end(&mut self, _model: &mut Model, _history: &History) -> Result<()> {
        Ok(())
    }
}

/// A handle another thread can use to stop training at the next batch boundary.
///
/// ```
/// use wgtrain::model::StopHandle;
/// let stop = StopHandle::default();
/// let remote = stop.clone();
/// std::thread::spawn(move || remote.stop()).join().unwrap();
/// assert!(stop.is_stopped());
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks training to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The value a callback monitors, or an error listing the keys that exist.
pub(crate) fn monitored(monitor: &str, logs: &Logs) -> Result<f32> {
    logs.get(monitor).copied().ok_or_else(|| {
        let keys: Vec<&str> = logs.keys().map(String::as_str).collect();
        Error::InvalidArgument {
            what: "callback monitor",
            detail: format!("`{monitor}` is not in the logs; available: {}", keys.join(", ")),
        }
    })
}
