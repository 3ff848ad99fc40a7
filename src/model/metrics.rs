//! Metrics and the per-epoch logs read from the device accumulator. The backend sums losses,
//! counts and errors on the device (`Backend::accumulate_metrics`); this file turns the one
//! small read-back per epoch into named values, as Keras names them.

use std::collections::BTreeMap;

use crate::backend::metric_slot as slot;

/// A metric to report besides the loss.
///
/// ```
/// use wgtrain::model::Metric;
/// assert_eq!(Metric::from_name("acc"), Some(Metric::Accuracy));
/// assert_eq!(Metric::Precision.name(), "precision");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Accuracy of the kind the loss implies (binary at 0.5, categorical, sparse categorical).
    Accuracy,
    /// Binary precision: tp / (tp + fp).
    Precision,
    /// Binary recall: tp / (tp + fn).
    Recall,
    /// Mean absolute error over all outputs.
    MeanAbsoluteError,
    /// Mean squared error over all outputs.
    MeanSquaredError,
}

impl Metric {
    /// The key in logs and history.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::MeanAbsoluteError => "mae",
            Metric::MeanSquaredError => "mse",
        }
    }

    /// Parses a Keras metric name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "accuracy" | "acc" => Metric::Accuracy,
            "precision" => Metric::Precision,
            "recall" => Metric::Recall,
            "mae" | "mean_absolute_error" => Metric::MeanAbsoluteError,
            "mse" | "mean_squared_error" => Metric::MeanSquaredError,
            _ => return None,
        })
    }

    /// Its value from an accumulator read back from the device.
    pub(crate) fn value(self, acc: &[f32]) -> f32 {
        let ratio = |a: f32, b: f32| if b > 0.0 { a / b } else { 0.0 };
        match self {
            Metric::Accuracy => ratio(acc[slot::CORRECT], acc[slot::SAMPLES]),
            Metric::Precision => ratio(acc[slot::TRUE_POS], acc[slot::TRUE_POS] + acc[slot::FALSE_POS]),
            Metric::Recall => ratio(acc[slot::TRUE_POS], acc[slot::TRUE_POS] + acc[slot::FALSE_NEG]),
            Metric::MeanAbsoluteError => ratio(acc[slot::ABS_ERR], acc[slot::VALUES]),
            Metric::MeanSquaredError => ratio(acc[slot::SQ_ERR], acc[slot::VALUES]),
        }
    }
}

/// Named values of one epoch (`loss`, `accuracy`, `val_loss` …), in a stable order.
pub type Logs = BTreeMap<String, f32>;

/// Turns an accumulator into logs, with `prefix` ("" or "val_") before each name.
pub(crate) fn logs_from(acc: &[f32], metrics: &[Metric], prefix: &str, logs: &mut Logs) {
    let samples = acc[slot::SAMPLES];
    let loss = if acc[slot::NON_FINITE] > 0.0 {
        f32::NAN
    } else if samples > 0.0 {
        acc[slot::LOSS_SUM] / samples
    } else {
        0.0
    };
    logs.insert(format!("{prefix}loss"), loss);
    for m in metrics {
        logs.insert(format!("{prefix}{}", m.name()), m.value(acc));
    }
}

/// Every epoch's logs.
///
/// ```
/// use wgtrain::model::History;
/// let h = History::default();
/// assert!(h.get("loss").is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Each metric's value per epoch, by name (`loss`, `val_accuracy` …).
    pub metrics: BTreeMap<String, Vec<f32>>,
    /// Number of epochs run.
    pub epochs: usize,
}

impl History {
    /// The values of one metric per epoch.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.metrics.get(name).map(Vec::as_slice)
    }

    /// The last value of one metric.
    pub fn last(&self, name: &str) -> Option<f32> {
        self.get(name).and_then(|v| v.last().copied())
    }

    pub(crate) fn push(&mut self, logs: &Logs) {
        for (k, v) in logs {
            self.metrics.entry(k.clone()).or_default().push(*v);
        }
        self.epochs += 1;
    }
}
