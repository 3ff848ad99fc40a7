//! What the commands print: a progress bar on a terminal (a line per epoch, at most one per
//! second, otherwise), a human summary, and with `--json` one JSON object as the last line of
//! stdout.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use wgtrain::model::{Control, History, Logs};

/// Reports epochs as they finish.
pub struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    last_line: Option<Instant>,
    /// The last epoch's line when it was not printed (at most one line a second), so that
    /// a run that early stopping ended still shows its last epoch.
    pending: Option<String>,
}

impl Progress {
    /// A bar on a terminal stderr, lines otherwise; silent when `quiet`.
    pub fn new(epochs: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(epochs as u64);
            let style =
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} epochs {msg} ({elapsed}, eta {eta})")
                    .map(|s| s.progress_chars("=> "))
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix("training");
            bar
        });
        Progress {
            bar,
            epochs,
            last_line: if quiet { Some(far_future()) } else { None },
            pending: None,
        }
    }

    /// Called after each epoch (from 0).
    pub fn epoch(&mut self, epoch: usize, logs: &Logs) -> Control {
        let text = format_logs(logs);
        if let Some(bar) = &self.bar {
            bar.set_position(epoch as u64 + 1);
            bar.set_message(text);
            return Control::Continue;
        }
        let last = epoch + 1 == self.epochs;
        let due = self.last_line.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        let line = format!("epoch {}/{}: {text}", epoch + 1, self.epochs);
        let quiet = self.last_line.is_some_and(|t| t > Instant::now());
        if (due || last) && !quiet {
            eprintln!("{line}");
            self.last_line = Some(Instant::now());
            self.pending = None;
        } else if !quiet {
            self.pending = Some(line);
        }
        Control::Continue
    }

    /// Removes the bar, or prints the last epoch's line if it was held back.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(line) = &self.pending {
            eprintln!("{line}");
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600)
}

/// `loss 0.4321, accuracy 0.7900, …` without the learning rate.
pub fn format_logs(logs: &Logs) -> String {
    logs.iter()
        .filter(|(k, _)| *k != "learning_rate")
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What early stopping did: whether it stopped, after which epoch, and which epoch's weights
/// it restored (the first with the lowest `monitor`, as the callback keeps them).
pub fn early_stopping_line(history: &History, monitor: &str, patience: usize, epochs: usize) -> String {
    let values = history.get(monitor).unwrap_or(&[]);
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in values.iter().enumerate() {
        // Strictly lower counts (min_delta 0), so the first of equal values is kept.
        if best.is_none_or(|(_, b)| v < b) {
            best = Some((i, v));
        }
    }
    let Some((at, value)) = best else {
        return "Early stopping: no epoch run, nothing restored".to_string();
    };
    let restored = format!("restored the weights of epoch {} ({monitor} {value:.4})", at + 1);
    if history.epochs < epochs {
        format!(
            "Early stopping: {monitor} did not improve for {patience} epochs: stopped after epoch {} of {epochs}; {restored}",
            history.epochs
        )
    } else {
        format!("Early stopping: ran all {epochs} epochs; {restored}, the best")
    }
}

/// Metric figures under their `--json` keys (`train_loss`, `val_accuracy`, `test_loss` …):
/// the keys are metric names, so a map (sorted, as [`Logs`] is). A value that is not finite is
/// written as `null`.
#[derive(Default, Serialize)]
#[serde(transparent)]
pub struct Figures(Logs);

impl Figures {
    /// Adds every entry of `logs` but the learning rate under `prefix` (validation entries
    /// keep their `val_` name).
    pub fn add(&mut self, prefix: &str, logs: &Logs) {
        for (k, v) in logs {
            if k == "learning_rate" {
                continue;
            }
            let key = if k.starts_with("val_") {
                k.clone()
            } else {
                format!("{prefix}{k}")
            };
            self.0.insert(key, *v);
        }
    }
}

/// `wgtrain train --json`: where it ran, how long, and the last epoch's (and the test set's)
/// figures.
#[derive(Serialize)]
pub struct TrainJson {
    /// `cpu` or `gpu`.
    pub backend: String,
    /// The adapter's name (`ndarray` on the CPU).
    pub adapter: String,
    /// The executor that ran the steps (`layered`, `fused`).
    pub executor: String,
    /// Epochs run (fewer than asked when early stopping ended the run).
    pub epochs_run: usize,
    /// Wall-clock seconds of `fit`.
    pub fit_seconds: f64,
    /// Training samples per second of `fit`.
    pub samples_per_second: f64,
    /// `train_*`, `val_*` and `test_*` figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// `wgtrain evaluate --json`: where it ran, the rows scored and their `test_*` figures.
#[derive(Serialize)]
pub struct EvaluateJson {
    /// `cpu` or `gpu`.
    pub backend: String,
    /// The adapter's name (`ndarray` on the CPU).
    pub adapter: String,
    /// The model's executor (`layered`, `fused`).
    pub executor: String,
    /// Rows evaluated.
    pub rows: usize,
    /// `test_*` figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// `value` as one JSON line, for the last line of stdout.
pub fn json_line(value: &impl Serialize) -> String {
    // The `--json` structs hold strings, numbers and a string-keyed map: serde_json cannot fail.
    serde_json::to_string(value).expect("--json output serializes")
}
