//! Checks of the state a model file holds, made when it is loaded so that a damaged or
//! foreign file is refused with the reason instead of failing later ("diverged", a wrapped
//! epoch count, a model that predicts classes it does not have): finite weights and optimizer
//! state, second moments that are not negative, step and epoch counts of a real run, and a
//! class count that matches the output layer.

use super::file_json::FieldError;
use super::sequential::Sequential;
use crate::data::{Preprocessing, Task};
use crate::nn::optimizer_slots::OptimizerSlot;
use crate::nn::{Loss, Optimizer};
use crate::{Error, Result};

/// The largest step or epoch count accepted (2^53: exact in JSON numbers, far beyond any run).
pub(crate) const MAX_COUNT: u64 = 1 << 53;

fn bad(path: &str, detail: String) -> Error {
    Error::ModelFile {
        path: path.to_string(),
        detail,
    }
}

/// Step and epoch counts within [`MAX_COUNT`].
pub(crate) fn check_counts(path: &str, step: u64, epochs: u64) -> Result<()> {
    for (entry, field, value) in [("optimizer", "step", step), ("training", "epochs", epochs)] {
        if value > MAX_COUNT {
            return Err(FieldError::new(
                field.to_string(),
                format!("{value} is beyond any real run (at most 2^53); the file is damaged"),
            )
            .in_entry(path, entry));
        }
    }
    Ok(())
}

/// Every value of a tensor finite.
pub(crate) fn check_finite(path: &str, tensor: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(bad(
            path,
            format!(
                "tensor `{tensor}` holds {} at index {i}; a saved model is finite, so the file is damaged",
                values[i]
            ),
        )),
        None => Ok(()),
    }
}

/// Optimizer state finite, and second moments (Adam's `v`, RMSprop's `velocity`) not negative.
pub(crate) fn check_optimizer_state(path: &str, optimizer: &Optimizer, state: &[Vec<f32>]) -> Result<()> {
    for (slot, values) in optimizer.slot_layout().iter().zip(state) {
        let name = format!("optimizer.{}", slot.name());
        check_finite(path, &name, values)?;
        let squares = matches!(slot, OptimizerSlot::AdamV | OptimizerSlot::RmsVelocity);
        if squares && let Some(i) = values.iter().position(|v| *v < 0.0) {
            return Err(bad(
                path,
                format!(
                    "optimizer state `{name}` holds {} at index {i}, but it is a mean of squares and never negative; the file is damaged",
                    values[i]
                ),
            ));
        }
    }
    Ok(())
}

/// The label's classes (or its one value, for regression) match the output layer and loss.
pub(crate) fn check_classes(path: &str, architecture: &Sequential, loss: Loss, prep: &Preprocessing) -> Result<()> {
    let out = architecture.output_width();
    let classes = prep.class_names().len();
    let expected = match prep.task() {
        Task::Regression => 1,
        _ if matches!(loss, Loss::BinaryCrossentropy { .. }) && classes == 2 => 1,
        _ => classes,
    };
    if out == expected {
        return Ok(());
    }
    let what = match prep.task() {
        Task::Regression => "a numeric label".to_string(),
        _ => format!("{classes} classes"),
    };
    Err(bad(
        path,
        format!(
            "its preprocessing has {what} for `{}`, but the model's output layer has {out} units ({expected} expected with {})",
            prep.label_name(),
            loss.name()
        ),
    ))
}
