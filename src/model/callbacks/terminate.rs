//! TerminateOnNaN: stops training with an error when the loss or a parameter became NaN or
//! infinite, after putting the last good epoch's weights back (on by default in `fit`).

use super::{Callback, Control};
use crate::model::{Logs, Model};
use crate::{Error, Result};

/// Fails training with [`Error::Diverged`] when an epoch's loss or weights are not finite,
/// rolling the model back to the last good epoch's weights.
///
/// ```
/// use wgtrain::model::{FitOptions, TerminateOnNaN};
/// // On by default; this is what `FitOptions::terminate_on_nan(true)` adds.
/// let options = FitOptions::new(10, 32).terminate_on_nan(false).callback(TerminateOnNaN);
/// # let _ = options;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control> {
        let loss = logs.get("loss").copied().unwrap_or(f32::NAN);
        let bad_weight = model.non_finite_parameter();
        if loss.is_finite() && bad_weight.is_none() {
            return Ok(Control::Continue);
        }
        model.roll_back_epoch()?;
        let detail = match bad_weight {
            Some((i, v)) if loss.is_finite() => format!("parameter {i} became {v} (NaN or infinite)"),
            _ => format!("the training loss became {loss} (NaN or infinite)"),
        };
        Err(Error::Diverged {
            epoch: epoch + 1,
            detail,
        })
    }
}
