//! `wgtrain evaluate` and `wgtrain predict`: load a model file, apply its stored preprocessing
//! to a CSV file through the engine's streaming reader (columns matched by name; columns the
//! model does not use are skipped with a note; a missing one is an error listing the
//! differences), then score or predict. Inputs that scaling makes non-finite and outputs that
//! are not finite are errors, never NaN written with exit status 0.

use super::args::{EvaluateArgs, PredictArgs};
use super::choices::{device_for, execution_for, print_device_notice, targets_for};
use super::paths::{OutputKind, check_outputs};
use super::predictions::{Predictions, write_predictions};
use super::reading::transform_options;
use super::report::{EvaluateJson, Figures, format_logs, json_line};
use super::train::backend_and_adapter;
use wgtrain::data::{DataError, Preprocessing, Transformed};
use wgtrain::model::{Integrity, ModelFile};
use wgtrain::{Error, Result};

fn preprocessing_of(file: &ModelFile, path: &std::path::Path) -> Result<Preprocessing> {
    file.preprocessing.clone().ok_or_else(|| Error::ModelFile {
        path: path.display().to_string(),
        detail: "it holds no preprocessing (it was not trained from a CSV file); use the library API".into(),
    })
}

/// Says on stderr when a model file holds no checksum, so its contents were not verified.
pub fn note_unverified(file: &ModelFile, path: &std::path::Path) {
    if file.integrity == Integrity::NoChecksum {
        eprintln!(
            "wgtrain: note: {} holds no checksum (an earlier wgtrain or another program wrote it), so damage to it cannot be detected; saving it again adds one",
            path.display()
        );
    }
}

/// Notes on stderr about what reading left out: columns the model does not use, rows with
/// missing values.
fn report_reading(data: &Transformed, path: &std::path::Path, kept: &[String]) {
    let unused: Vec<String> = data
        .unused_columns
        .iter()
        .filter(|c| !kept.contains(c))
        .map(|c| format!("`{c}`"))
        .collect();
    if !unused.is_empty() {
        eprintln!(
            "wgtrain: {}: not used by the model: {}{}",
            path.display(),
            unused.join(", "),
            if kept.is_empty() {
                " (copy columns into the output with --keep)"
            } else {
                ""
            }
        );
    }
    let dropped = data.dropped_lines.len();
    if dropped > 0 {
        let lines: Vec<String> = data.dropped_lines.iter().take(20).map(u64::to_string).collect();
        eprintln!(
            "wgtrain: {}: {dropped} of {} rows have missing values and were left out (lines {}{})",
            path.display(),
            data.rows_read,
            lines.join(" "),
            if dropped > 20 { " …" } else { "" }
        );
    }
}

/// Runs `wgtrain evaluate`.
pub fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let file = ModelFile::read(&args.model)?;
    note_unverified(&file, &args.model);
    let prep = preprocessing_of(&file, &args.model)?;
    let read = transform_options(&args.read)?.allow_extra_columns(true);
    let data = prep.transform_csv_with(&args.data, &read)?;
    let y = data.y.as_ref().ok_or_else(|| Error::InvalidArgument {
        what: "--data",
        detail: format!(
            "{} has no label column `{}` to evaluate against",
            args.data.display(),
            prep.label_name()
        ),
    })?;
    if !args.json {
        report_reading(&data, &args.data, &[]);
    }
    let classes = prep.task().n_classes().unwrap_or(1);
    let y = targets_for(file.loss, y, classes);
    let mut model = file.compile_with(device_for(args.backend), execution_for(args.executor))?;
    print_device_notice(model.device_notice());
    let logs = model.evaluate(data.x.view(), y.view(), args.batch_size.max(1))?;
    let executor = model.executor().clone();
    if let Some((name, &value)) = logs.iter().find(|(_, v)| !v.is_finite()) {
        return Err(DataError::NonFiniteOutput {
            path: args.data.display().to_string(),
            row: None,
            output: name.clone(),
            value,
        }
        .into());
    }
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

/// Runs `wgtrain predict`: a CSV with the input's data-row number, the `--keep` columns, the
/// predicted label in the user's own class names and the probabilities (or, for
/// regression, the predicted value under the label's name).
pub fn predict(args: &PredictArgs) -> Result<()> {
    check_outputs(
        &[("--model", Some(&args.model)), ("--data", Some(&args.data))],
        &[("--output", args.output.as_deref(), OutputKind::Any)],
        &[],
    )?;
    let file = ModelFile::read(&args.model)?;
    note_unverified(&file, &args.model);
    let prep = preprocessing_of(&file, &args.model)?;
    let keep: Vec<String> = args.keep.iter().map(|c| c.trim().to_string()).collect();
    // The label column, when the file has one, is not needed to predict: it is not read, so
    // a blank or never-seen label neither drops a row nor stops the run.
    let read = transform_options(&args.read)?
        .skip_label(true)
        .allow_extra_columns(true)
        .copy_columns(keep.iter().cloned());
    let mut data = prep.transform_csv_with(&args.data, &read)?;
    report_reading(&data, &args.data, &keep);
    let mut model = file.compile(device_for(args.backend))?;
    print_device_notice(model.device_notice());
    let out = model.predict(data.x.view(), args.batch_size.max(1))?;
    // The inputs are no longer needed: free them before the output is written.
    data.x = ndarray::Array2::zeros((0, 0));
    let predictions = Predictions::new(&file, &prep, &data, &keep, out, &args.data)?;
    write_predictions(&predictions, args.output.as_deref())
}
