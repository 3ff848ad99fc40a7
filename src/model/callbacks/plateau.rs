//! Callbacks that watch a monitored value for a plateau: EarlyStopping and
//! ReduceLROnPlateau, with Keras's defaults and comparisons.

use super::monitor::{Mode, Monitor};
use super::{Callback, Control};
use crate::model::{History, LayerWeights, Logs, Model};
use crate::{Error, Result};

/// Progress of a plateau detector: the monitor (with the best value), epochs waited, and
/// epochs of cooldown left.
#[derive(Clone, Debug, PartialEq)]
struct PlateauState {
    monitor: Monitor,
    wait: usize,
    cooldown: usize,
}

impl PlateauState {
    fn new(key: &str, mode: Mode, min_delta: f32) -> Self {
        PlateauState {
            monitor: Monitor::new(key, mode, min_delta),
            wait: 0,
            cooldown: 0,
        }
    }
}

/// Stop when a monitored value stops improving.
///
/// ```
/// use wgtrain::model::EarlyStopping;
/// let es = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true);
/// assert_eq!(es.patience, 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Log key to watch (Keras default `val_loss`).
    pub monitor: String,
    /// Smallest change that counts as an improvement.
    pub min_delta: f32,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Direction.
    pub mode: Mode,
    /// Put back the best epoch's weights at the end of training.
    pub restore_best_weights: bool,
    state: PlateauState,
    /// The best epoch's weights (host copies of the epoch's one read-back).
    best_weights: Option<Vec<LayerWeights>>,
}

impl EarlyStopping {
    /// Keras's defaults: min_delta 0, patience 0, mode auto, no restore.
    pub fn new(monitor: &str) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            restore_best_weights: false,
            state: PlateauState::new(monitor, Mode::Auto, 0.0),
            best_weights: None,
        }
    }

    /// Sets min_delta.
    pub fn min_delta(mut self, d: f32) -> Self {
        self.min_delta = d.abs();
        self
    }

    /// Sets patience.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }

    /// Sets restore_best_weights.
    pub fn restore_best_weights(mut self, on: bool) -> Self {
        self.restore_best_weights = on;
        self
    }

    /// The best value seen so far.
    pub fn best(&self) -> Option<f32> {
        self.state.monitor.best
    }

    /// Records an epoch; returns (improved, stop).
    fn observe(&mut self, epoch: usize, value: f32) -> (bool, bool) {
        if self.state.monitor.improves(value) {
            self.state.wait = 0;
            return (true, false);
        }
        self.state.wait += 1;
        (false, self.state.wait >= self.patience && epoch > 0)
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Model, log_keys: &[String]) -> Result<()> {
        self.state = PlateauState::new(&self.monitor, self.mode, self.min_delta);
        self.best_weights = None;
        self.state.monitor.start("EarlyStopping", log_keys)
    }

    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control> {
        let value = self.state.monitor.value(logs)?;
        let (improved, halt) = self.observe(epoch, value);
        if improved && self.restore_best_weights {
            self.best_weights = Some(model.last_good_weights());
        }
        Ok(if halt { Control::Stop } else { Control::Continue })
    }

    fn on_train_end(&mut self, model: &mut Model, _history: &History) -> Result<()> {
        // As Keras 3 does at the end of training (stopped early or not): the best epoch's
        // weights come back.
        match self.best_weights.take() {
            Some(best) => model.set_weights(&best),
            None => Ok(()),
        }
    }
}

/// Lower the learning rate when a monitored value stops improving.
///
/// ```
/// use wgtrain::model::ReduceLrOnPlateau;
/// let r = ReduceLrOnPlateau::new("val_loss").factor(0.5).patience(2);
/// assert_eq!(r.factor, 0.5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLrOnPlateau {
    /// Log key to watch (Keras default `val_loss`).
    pub monitor: String,
    /// New rate = rate · factor (Keras default 0.1).
    pub factor: f32,
    /// Epochs without improvement before reducing (default 10).
    pub patience: usize,
    /// Direction.
    pub mode: Mode,
    /// Smallest change that counts as an improvement (default 1e-4).
    pub min_delta: f32,
    /// Epochs to wait after a reduction (default 0).
    pub cooldown: usize,
    /// Lower bound on the rate (default 0).
    pub min_lr: f32,
    state: PlateauState,
}

impl ReduceLrOnPlateau {
    /// Keras's defaults.
    pub fn new(monitor: &str) -> Self {
        ReduceLrOnPlateau {
            monitor: monitor.to_string(),
            factor: 0.1,
            patience: 10,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            state: PlateauState::new(monitor, Mode::Auto, 1e-4),
        }
    }

    /// Sets the factor.
    pub fn factor(mut self, f: f32) -> Self {
        self.factor = f;
        self
    }

    /// Sets the patience.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }

    /// Sets the minimum rate.
    pub fn min_lr(mut self, lr: f32) -> Self {
        self.min_lr = lr;
        self
    }

    /// Sets the cooldown.
    pub fn cooldown(mut self, c: usize) -> Self {
        self.cooldown = c;
        self
    }

    /// Records an epoch; returns the new learning rate when it should change.
    fn observe(&mut self, value: f32, lr: f32) -> Option<f32> {
        let s = &mut self.state;
        if s.cooldown > 0 {
            s.cooldown -= 1;
            s.wait = 0;
        }
        if s.monitor.improves(value) {
            s.wait = 0;
            return None;
        }
        if s.cooldown > 0 {
            return None;
        }
        s.wait += 1;
        if s.wait >= self.patience && lr > self.min_lr {
            s.cooldown = self.cooldown;
            s.wait = 0;
            return Some((lr * self.factor).max(self.min_lr));
        }
        None
    }
}

impl Callback for ReduceLrOnPlateau {
    fn on_train_begin(&mut self, model: &mut Model, log_keys: &[String]) -> Result<()> {
        self.state = PlateauState::new(&self.monitor, self.mode, self.min_delta);
        self.state.monitor.start("ReduceLROnPlateau", log_keys)?;
        let optimizer = model.optimizer();
        if optimizer.is_scheduled() {
            return Err(Error::InvalidArgument {
                what: "ReduceLROnPlateau",
                detail: format!(
                    "the optimizer's learning rate follows a schedule ({}), which ReduceLROnPlateau \
                     cannot change (Keras refuses it too); use a constant learning rate with it",
                    optimizer.learning_rate_schedule()
                ),
            });
        }
        // Keras refuses a factor that would not lower the rate.
        if !(0.0..1.0).contains(&self.factor) {
            return Err(Error::InvalidArgument {
                what: "ReduceLROnPlateau factor",
                detail: format!("must be in [0, 1), got {}", self.factor),
            });
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, _epoch: usize, logs: &Logs) -> Result<Control> {
        let value = self.state.monitor.value(logs)?;
        if let Some(lr) = self.observe(value, model.optimizer().learning_rate()) {
            model.set_learning_rate(lr)?;
        }
        Ok(Control::Continue)
    }
}
