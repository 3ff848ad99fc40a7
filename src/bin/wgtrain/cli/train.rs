//! `wgtrain train`: CSV → preprocessing → model (defaults that fit the label) → fit →
//! evaluate on the test part → summary, JSON, model file and plot.

use std::time::Instant;

use super::args::TrainArgs;
pub use super::choices::device_for;
use super::choices::execution_for;
use super::choices::{describe_optimizer, metrics_for, optimizer_for, print_device_notice, targets_for};
use super::paths::{OutputKind, check_outputs};
use super::prepare::{Prepared, prepare, read_start, warnings};
use super::report::{Figures, Progress, TrainJson, early_stopping_line, format_logs, json_line};
use super::spec::{format_layers, loss_short_name, parse_layers, parse_loss};
use crate::plot::{Series, line_chart};
use wgtrain::model::{EarlyStopping, FitOptions, History, Sequential};
use wgtrain::{Error, Result};

/// The bundled example data set (examples/data/seed.csv), so the default run works anywhere.
pub const BUNDLED_DATA: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv"));

/// Range checks of the numeric flags.
pub(crate) fn check_flags(args: &TrainArgs) -> Result<()> {
    let bad = |what: &'static str, detail: String| Err(Error::InvalidArgument { what, detail });
    if !(0.0..1.0).contains(&args.test_split) {
        return bad(
            "--test-split",
            format!("must be in [0, 1) (0: no test set), got {}", args.test_split),
        );
    }
    if !(0.0..1.0).contains(&args.validation_split) {
        return bad(
            "--validation-split",
            format!("must be in [0, 1), got {}", args.validation_split),
        );
    }
    if args.batch_size == 0 {
        return bad("--batch-size", "must be at least 1".into());
    }
    if args.checkpoint_every == Some(0) {
        return bad("--checkpoint-every", "must be at least 1 epoch".into());
    }
    if args.max_categories == 0 {
        return bad("--max-categories", "must be at least 1".into());
    }
    if args.max_classes < 2 {
        return bad("--max-classes", "must be at least 2".into());
    }
    Ok(())
}

/// Runs `wgtrain train`; returns the process's stdout lines (the caller prints them).
pub fn train(args: &TrainArgs) -> Result<()> {
    if args.data.is_none() && !args.json {
        eprintln!("wgtrain: no --data given: training the seed model on the bundled example data set");
    }
    // Flags are checked before the file is read, so a typo fails at once.
    check_flags(args)?;
    // Outputs are checked before the data is read, so a run never trains only to fail at
    // the end or to overwrite its own input.
    check_outputs(
        &[
            ("--data", args.data.as_deref()),
            ("--init-from", args.init_from.as_deref()),
        ],
        &[
            ("--save", args.save.as_deref(), OutputKind::Any),
            ("--plot", args.plot.as_deref(), OutputKind::Png),
        ],
        &[("--init-from", "--save")],
    )?;
    let given_layers = args.layers.as_deref().map(parse_layers).transpose()?;
    let given_loss = args.loss.as_deref().map(parse_loss).transpose()?;
    let optimizer = optimizer_for(args)?;
    let start = args.init_from.as_deref().map(read_start).transpose()?.flatten();
    let Prepared {
        data,
        task,
        layers,
        loss,
    } = prepare(args, given_layers, given_loss, start.as_ref())?;
    if !args.json {
        eprintln!("{}", data.report);
        if let (Some(file), Some(path)) = (&start, &args.init_from) {
            eprintln!(
                "wgtrain: continuing {} ({} epochs trained): its layers {}, loss {}{}",
                path.display(),
                file.epochs,
                format_layers(&layers),
                loss_short_name(loss),
                if file.preprocessing.is_some() {
                    ", columns, categories, classes and scaling"
                } else {
                    ""
                }
            );
        }
    }
    for note in warnings(args, &data, task) {
        eprintln!("wgtrain: warning: {note}");
    }
    let classes = task.n_classes().unwrap_or(1);
    let metrics = metrics_for(loss, task);
    let mut architecture = Sequential::new(data.n_features()).seed(args.seed);
    for l in &layers {
        architecture = architecture.add(*l);
    }
    let mut model = architecture.compile_with(
        loss,
        optimizer,
        &metrics,
        device_for(args.backend),
        execution_for(args.executor),
    )?;
    print_device_notice(model.device_notice());
    if let Some(path) = &args.init_from {
        model.init_from_path(path)?;
    }
    if args.save.is_some() {
        // A file that could not be written is found now, not after the last epoch.
        model.check_saveable(Some(&data.preprocessing))?;
    }
    let y_train = targets_for(loss, &data.y_train, classes);

    let mut progress = Progress::new(args.epochs, args.json);
    let mut options = FitOptions::new(args.epochs, args.batch_size)
        .seed(args.seed)
        .shuffle(args.shuffle)
        .validation_split(args.validation_split);
    if let Some(patience) = args.early_stopping {
        options = options.early_stopping(
            EarlyStopping::new(monitor(args))
                .patience(patience)
                .restore_best_weights(true),
        );
    }
    if let Some(every) = args.checkpoint_every {
        let path = args.save.clone().ok_or_else(|| Error::InvalidArgument {
            what: "--checkpoint-every",
            detail: "needs --save FILE to know where to write".into(),
        })?;
        options = options.checkpoint(path, every, Some(data.preprocessing.clone()));
    }
    let (sender, receiver) = std::sync::mpsc::channel();
    options = options.on_epoch_end(move |epoch, logs| {
        let _ = sender.send((epoch, logs.clone()));
        wgtrain::model::Control::Continue
    });
    let start = Instant::now();
    let fit = std::thread::scope(|scope| {
        let printer = scope.spawn(move || {
            for (epoch, logs) in receiver {
                progress.epoch(epoch, &logs);
            }
            progress.finish();
        });
        let result = model.fit(data.x_train.view(), y_train.view(), options);
        let _ = printer.join();
        result
    });
    let fit_seconds = start.elapsed().as_secs_f64();
    let history = fit?;
    let epochs_run = history.epochs;
    let train_rows = (data.x_train.nrows() as f64 * (1.0 - f64::from(args.validation_split))).round();
    let samples_per_second = if fit_seconds > 0.0 {
        train_rows * epochs_run as f64 / fit_seconds
    } else {
        0.0
    };

    let test_logs = if data.x_test.nrows() > 0 {
        let y_test = targets_for(loss, &data.y_test, classes);
        Some(model.evaluate(data.x_test.view(), y_test.view(), args.batch_size.max(32))?)
    } else {
        None
    };
    if let Some(path) = &args.save {
        model.save(path, Some(&data.preprocessing))?;
    }
    if let Some(path) = &args.plot {
        plot_history(&history, path)?;
    }

    let (backend, adapter) = backend_and_adapter(&model.backend_name());
    let last_logs = last_epoch_logs(&history);
    if !args.json {
        println!("Backend: {backend} ({adapter})");
        let executor = model.executor();
        println!("Executor: {} ({})", executor.kind.name(), executor.reason);
        println!(
            "Model: {} inputs -> {}, loss {}, optimizer {}",
            data.n_features(),
            format_layers(&layers),
            loss_short_name(loss),
            describe_optimizer(&model.optimizer())
        );
        println!("Epochs run: {epochs_run}, fit time {fit_seconds:.2} s, {samples_per_second:.0} samples/s");
        if epochs_run == 0 {
            println!("Train: no epochs run (--epochs {})", args.epochs);
        } else {
            println!(
                "Train: {}",
                format_logs(
                    &last_logs
                        .iter()
                        .filter(|(k, _)| !k.starts_with("val_"))
                        .map(|(k, v)| (k.clone(), *v))
                        .collect()
                )
            );
        }
        let val: wgtrain::model::Logs = last_logs
            .iter()
            .filter(|(k, _)| k.starts_with("val_"))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if !val.is_empty() {
            println!("Validation: {}", format_logs(&val));
        }
        if let Some(patience) = args.early_stopping {
            println!(
                "{}",
                early_stopping_line(&history, monitor(args), patience, args.epochs)
            );
        }
        if let Some(t) = &test_logs {
            println!("Test: {}", format_logs(t));
            println!("Loss: {:.4}", t["loss"]);
            if let Some(a) = t.get("accuracy") {
                println!("Accuracy: {a:.4}");
            }
        }
        if let Some(p) = &args.save {
            println!("Saved the model to {}", p.display());
        }
    } else {
        let mut figures = Figures::default();
        figures.add("train_", &last_logs);
        if let Some(t) = &test_logs {
            figures.add("test_", t);
        }
        let summary = TrainJson {
            executor: model.executor().kind.name().to_string(),
            backend,
            adapter,
            epochs_run,
            fit_seconds,
            samples_per_second,
            figures,
        };
        println!("{}", json_line(&summary));
    }
    Ok(())
}

/// The value early stopping watches: the validation loss when there is a validation split,
/// else the training loss.
fn monitor(args: &TrainArgs) -> &'static str {
    if args.validation_split > 0.0 {
        "val_loss"
    } else {
        "loss"
    }
}

/// Splits a backend name into ("gpu", adapter) or ("cpu", "ndarray").
pub fn backend_and_adapter(name: &str) -> (String, String) {
    if name.starts_with("cpu") {
        ("cpu".into(), "ndarray".into())
    } else {
        ("gpu".into(), name.to_string())
    }
}

fn last_epoch_logs(history: &History) -> wgtrain::model::Logs {
    history
        .metrics
        .iter()
        .filter_map(|(k, v)| v.last().map(|x| (k.clone(), *x)))
        .collect()
}

/// Draws loss and metric curves (train and validation) to a PNG.
pub fn plot_history(history: &History, path: &std::path::Path) -> Result<()> {
    let mut panels = Vec::new();
    for (name, values) in &history.metrics {
        if name.starts_with("val_") || name == "learning_rate" {
            continue;
        }
        let mut series = vec![Series::new("train", values.clone())];
        if let Some(v) = history.metrics.get(&format!("val_{name}")) {
            series.push(Series::new("validation", v.clone()));
        }
        panels.push((name.clone(), series));
    }
    let image = line_chart("wgtrain training curves", "epoch", &panels);
    image.write_png(path)
}
