//! What the commands print: a progress bar on a terminal (a line per epoch, at most one per
//! second, otherwise), a human summary, and with `--json` one JSON object as the last line of
//! stdout.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use crate::model::{Control, Logs};

/// Reports epochs as they finish.
pub struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    last_line: Option<Instant>,
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
        if (due || last) && self.last_line.is_none_or(|t| t < Instant::now()) {
            eprintln!("epoch {}/{}: {text}", epoch + 1, self.epochs);
            self.last_line = Some(Instant::now());
        }
        Control::Continue
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
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

/// A JSON object in insertion order, for the last line of stdout.
#[derive(Default)]
pub struct JsonLine(Map<String, Value>);

impl JsonLine {
    /// Adds a key.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.0.insert(key.to_string(), value.into());
    }

    /// Adds every entry of `logs` under `prefix` (non-finite values become null).
    pub fn logs(&mut self, prefix: &str, logs: &Logs) {
        for (k, v) in logs {
            if k == "learning_rate" {
                continue;
            }
            let key = if k.starts_with("val_") {
                k.clone()
            } else {
                format!("{prefix}{k}")
            };
            let value = if v.is_finite() {
                Value::from(f64::from(*v))
            } else {
                Value::Null
            };
            self.0.insert(key, value);
        }
    }

    /// The object as one line.
    pub fn render(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}
