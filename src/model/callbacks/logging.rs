//! Callbacks that report epochs: a CSV log file (Keras's CSVLogger), one line per epoch to a
//! writer the caller chooses (the library itself never prints), and closures.

use std::io::Write;
use std::path::PathBuf;

use super::{Callback, Control};
use crate::model::{History, Logs, Model};
use crate::{Error, Result};

/// Writes one CSV row per epoch (`epoch` then every log key, in the logs' order), as Keras's
/// CSVLogger does; the file is flushed after every row, so it can be followed while training.
///
/// ```
/// use wgtrain::model::{CsvLogger, FitOptions};
/// let options = FitOptions::new(10, 32).callback(CsvLogger::new("training.csv"));
/// # let _ = options;
/// ```
pub struct CsvLogger {
    path: PathBuf,
    append: bool,
    writer: Option<csv::Writer<std::fs::File>>,
    columns: Vec<String>,
}

impl CsvLogger {
    /// Logs to `path`, replacing it at the start of training.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvLogger {
            path: path.into(),
            append: false,
            writer: None,
            columns: Vec::new(),
        }
    }

    /// Appends to an existing file instead of replacing it (no second header).
    pub fn append(mut self, on: bool) -> Self {
        self.append = on;
        self
    }

    fn io_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        }
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _model: &mut Model, _log_keys: &[String]) -> Result<()> {
        let existing = self.append && std::fs::metadata(&self.path).is_ok_and(|m| m.len() > 0);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path)
            .map_err(|source| Error::Io {
                path: self.path.display().to_string(),
                source,
            })?;
        self.writer = Some(csv::Writer::from_writer(file));
        // Appending to a file that has a header: keep its columns.
        self.columns = if existing {
            csv::Reader::from_path(&self.path)
                .and_then(|mut r| r.headers().map(|h| h.iter().skip(1).map(String::from).collect()))
                .map_err(|e| self.io_error(e))?
        } else {
            Vec::new()
        };
        Ok(())
    }

    fn on_epoch_end(&mut self, _model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control> {
        let header = self.columns.is_empty();
        if header {
            self.columns = logs.keys().cloned().collect();
        }
        let row: Vec<String> = std::iter::once(epoch.to_string())
            .chain(
                self.columns
                    .iter()
                    .map(|k| logs.get(k).map_or("NA".to_string(), |v| v.to_string())),
            )
            .collect();
        let columns = self.columns.clone();
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.io_error("the CSV logger was not started (on_train_begin)"));
        };
        let result = (|| {
            if header {
                writer.write_record(std::iter::once("epoch".to_string()).chain(columns))?;
            }
            writer.write_record(&row)?;
            writer.flush()?;
            Ok::<_, csv::Error>(())
        })();
        result.map_err(|e| self.io_error(e))?;
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _model: &mut Model, _history: &History) -> Result<()> {
        self.writer = None;
        Ok(())
    }
}

/// Writes "Epoch 3/100 - accuracy: 0.8125 - loss: 0.4102 …" to a writer after each epoch
/// (what Keras prints with verbose=1; the library writes only where the caller points it).
///
/// ```
/// use wgtrain::model::{EpochLogger, FitOptions};
/// let options = FitOptions::new(10, 32).callback(EpochLogger::new(std::io::stderr(), 10));
/// # let _ = options;
/// ```
pub struct EpochLogger<W: Write + Send> {
    out: W,
    epochs: usize,
}

impl<W: Write + Send> EpochLogger<W> {
    /// Logs to `out`; `epochs` is the total shown after the slash.
    pub fn new(out: W, epochs: usize) -> Self {
        EpochLogger { out, epochs }
    }
}

impl<W: Write + Send> Callback for EpochLogger<W> {
    fn on_epoch_end(&mut self, _model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control> {
        let parts: Vec<String> = logs.iter().map(|(k, v)| format!("{k}: {v:.4}")).collect();
        // A closed stream (a pipe whose reader left) must not fail training.
        let _ = writeln!(self.out, "Epoch {}/{} - {}", epoch + 1, self.epochs, parts.join(" - "));
        Ok(Control::Continue)
    }
}

/// A closure called after every epoch with its number (from 0) and logs; it may stop.
pub struct EpochFn<F>(pub F);

impl<F: FnMut(usize, &Logs) -> Control + Send> Callback for EpochFn<F> {
    fn on_epoch_end(&mut self, _model: &mut Model, epoch: usize, logs: &Logs) -> Result<Control> {
        Ok((self.0)(epoch, logs))
    }
}
