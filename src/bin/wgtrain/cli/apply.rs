//! `wgtrain evaluate` and `wgtrain predict`: load a model file, apply its stored preprocessing
//! to a CSV file (columns are matched by name; a mismatch lists the differences), then score
//! or predict.

use std::fmt::Write as _;

use super::args::{EvaluateArgs, PredictArgs};
use super::choices::{device_for, execution_for, targets_for};
use super::report::{EvaluateJson, Figures, format_logs, json_line};
use super::train::backend_and_adapter;
use wgtrain::data::{Preprocessing, Task};
use wgtrain::model::ModelFile;
use wgtrain::{Error, Result};

fn preprocessing_of(file: &ModelFile, path: &std::path::Path) -> Result<Preprocessing> {
    file.preprocessing.clone().ok_or_else(|| Error::ModelFile {
        path: path.display().to_string(),
        detail: "it holds no preprocessing (it was not trained from a CSV file); use the library API".into(),
    })
}

/// Runs `wgtrain evaluate`.
pub fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let file = ModelFile::read(&args.model)?;
    let prep = preprocessing_of(&file, &args.model)?;
    let data = prep.transform_csv(&args.data)?;
    let y = data.y.ok_or_else(|| Error::InvalidArgument {
        what: "--data",
        detail: format!(
            "{} has no label column `{}` to evaluate against",
            args.data.display(),
            prep.label_name()
        ),
    })?;
    let classes = prep.task().n_classes().unwrap_or(1);
    let y = targets_for(file.loss, &y, classes);
    let mut model = file.compile_with(device_for(args.backend), execution_for(args.executor))?;
    if let Some(notice) = model.device_notice() {
        eprintln!("wgtrain: {notice}");
    }
    let logs = model.evaluate(data.x.view(), y.view(), args.batch_size.max(1))?;
    let executor = model.executor().clone();
    let (backend, adapter) = backend_and_adapter(&model.backend_name());
    if args.json {
        let mut figures = Figures::default();
        figures.add("test_", &logs);
        let summary = EvaluateJson {
            backend,
            adapter,
            executor: executor.kind.name().to_string(),
            rows: data.x.nrows(),
            figures,
        };
        println!("{}", json_line(&summary));
    } else {
        println!("Backend: {backend} ({adapter})");
        println!("Executor: {} ({})", executor.kind.name(), executor.reason);
        println!(
            "{} rows of {}: {}",
            data.x.nrows(),
            args.data.display(),
            format_logs(&logs)
        );
    }
    Ok(())
}

/// Runs `wgtrain predict`: a CSV with the input's row number, the predicted label in the
/// user's own class names, and the probabilities (or the predicted value for regression).
pub fn predict(args: &PredictArgs) -> Result<()> {
    let file = ModelFile::read(&args.model)?;
    let prep = preprocessing_of(&file, &args.model)?;
    // The label column, when the file has one, is not needed to predict: leave it out, so
    // a blank or never-seen label neither drops a row nor stops the run.
    let (header, records) = read_records_without(&args.data, prep.label_name())?;
    let data = prep.transform_records(&header, &records)?;
    if !data.dropped_lines.is_empty() {
        eprintln!(
            "wgtrain: {} of {} rows have missing feature values and get no prediction (data rows {:?})",
            data.dropped_lines.len(),
            records.len(),
            data.dropped_lines
        );
    }
    let mut model = file.compile(device_for(args.backend))?;
    if let Some(notice) = model.device_notice() {
        eprintln!("wgtrain: {notice}");
    }
    let out = model.predict(data.x.view(), args.batch_size.max(1))?;
    let rows = row_numbers(records.len(), &data.dropped_lines);
    let task = prep.task();
    let mut text = String::new();
    let label = prep.label_name();
    match task {
        Task::Regression => {
            let _ = writeln!(text, "row,{label}");
            for (i, v) in out.column(0).iter().enumerate() {
                let _ = writeln!(text, "{},{v}", rows.get(i).copied().unwrap_or(i + 1));
            }
        }
        _ => {
            let names = prep.class_names().to_vec();
            let header: Vec<String> = names.iter().map(|n| format!("p_{}", csv_field(n))).collect();
            let _ = writeln!(text, "row,{label},{}", header.join(","));
            for (i, p) in out.rows().into_iter().enumerate() {
                let probs: Vec<f32> = if p.len() == 1 {
                    vec![1.0 - p[0], p[0]]
                } else {
                    p.to_vec()
                };
                let best = (0..probs.len()).fold(0, |b, j| if probs[j] > probs[b] { j } else { b });
                let name = prep.decode_labels(&[best as f32])?.pop().unwrap_or_default();
                let cols: Vec<String> = probs.iter().map(|v| format!("{v}")).collect();
                let _ = writeln!(
                    text,
                    "{},{},{}",
                    rows.get(i).copied().unwrap_or(i + 1),
                    csv_field(&name),
                    cols.join(",")
                );
            }
        }
    }
    match &args.output {
        Some(path) => {
            wgtrain::io::write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {} predictions to {}", out.nrows(), path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// 1-based data row numbers of the rows kept (all rows but those dropped for missing values).
fn row_numbers(rows_read: usize, dropped_rows: &[u64]) -> Vec<usize> {
    let dropped: std::collections::HashSet<u64> = dropped_rows.iter().copied().collect();
    (1..=rows_read).filter(|r| !dropped.contains(&(*r as u64))).collect()
}

/// Reads a CSV file (delimiter detected from the header: comma, semicolon or tab) into its
/// header and rows, without the column named `skip`.
fn read_records_without(path: &std::path::Path, skip: &str) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let io_err = |source: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io_err)?;
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)).into_owned();
    let first = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let bad = |e: csv::Error| Error::InvalidArgument {
        what: "--data",
        detail: format!("{}: {e}", path.display()),
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let keep: Vec<usize> = (0..header.len()).filter(|&i| header[i] != skip).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(bad)?;
        rows.push(keep.iter().map(|&i| record.get(i).unwrap_or("").to_string()).collect());
    }
    Ok((keep.iter().map(|&i| header[i].clone()).collect(), rows))
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
