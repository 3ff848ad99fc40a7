//! What `wgtrain train` trains before it trains: the data (read with the flags, or through
//! the preprocessing of the `--init-from` model file), the task (guessed, or `--task`), and
//! the layers and loss (the flags, the file's, or the defaults that fit the task), with the
//! warnings a careful user wants about them.

use std::path::Path;

use super::args::{TaskChoice, TrainArgs};
use super::choices::{check_fit, defaults_for};
use super::messages::describe;
use super::reading::{csv_options, target_kind};
use super::spec::{format_layers, loss_short_name};
use super::train::BUNDLED_DATA;
use wgtrain::data::{ColumnRole, Dataset, Task, load_csv, load_csv_reader, load_csv_reader_with, load_csv_with};
use wgtrain::model::{Dense, Layer, ModelFile};
use wgtrain::nn::{Activation, Loss};
use wgtrain::{Error, Result};

/// The name the bundled data set has in messages.
const BUNDLED_NAME: &str = "examples/data/seed.csv (bundled)";

/// The data and model a run trains.
pub struct Prepared {
    /// The data, split and scaled.
    pub data: Dataset,
    /// The task trained (the data's, or what `--task` made of it).
    pub task: Task,
    /// The layers, the last being the output.
    pub layers: Vec<Layer>,
    /// The loss.
    pub loss: Loss,
}

/// Reads `--init-from` when it is a wgtrain model file (`None` for a weights-only
/// safetensors file of another program, whose weights alone are loaded later).
pub fn read_start(path: &Path) -> Result<Option<ModelFile>> {
    // Read header first with its sizes checked, like any model file.
    let bytes = ModelFile::read_bytes(path)?;
    let ours = safetensors::SafeTensors::read_metadata(&bytes)
        .ok()
        .is_some_and(|(_, h)| h.metadata().as_ref().is_some_and(|m| m.contains_key("wgtrain")));
    match ours {
        true => {
            let file = ModelFile::from_bytes(&bytes, &path.display().to_string())?;
            super::apply::note_unverified(&file, path);
            Ok(Some(file))
        }
        false => Ok(None),
    }
}

/// Reads the data, decides the task, the layers and the loss.
pub fn prepare(
    args: &TrainArgs,
    given_layers: Option<Vec<Layer>>,
    given_loss: Option<Loss>,
    start: Option<&ModelFile>,
) -> Result<Prepared> {
    let data = load(args, given_loss, start)?;
    let task = task_of(args.task, &data)?;
    let (layers, loss) = match start {
        Some(file) => continue_model(args, file, given_layers, given_loss)?,
        None => (given_layers.unwrap_or_else(|| default_layers(task)), given_loss),
    };
    let loss = loss.unwrap_or_else(|| defaults_for(task).1);
    check_fit(task, &layers, loss)?;
    Ok(Prepared {
        data,
        task,
        layers,
        loss,
    })
}

/// A hidden layer of 10 relu units and the output that fits the task.
fn default_layers(task: Task) -> Vec<Layer> {
    vec![
        Layer::Dense(Dense::new(10, Activation::Relu)),
        Layer::Dense(defaults_for(task).0),
    ]
}

/// Reads the CSV file (or the bundled one): with the model file's preprocessing when
/// continuing one that has it, else fitted with the flags.
fn load(args: &TrainArgs, given_loss: Option<Loss>, start: Option<&ModelFile>) -> Result<Dataset> {
    let options = csv_options(args, target_kind(args.task, given_loss))?;
    let Some((file, fitted)) = start.and_then(|f| f.preprocessing.as_ref().map(|p| (f, p))) else {
        return Ok(match &args.data {
            Some(path) => load_csv(path, &options)?,
            None => load_csv_reader(BUNDLED_DATA.as_bytes(), BUNDLED_NAME, &options)?,
        });
    };
    let model = args.init_from.as_deref().unwrap_or(Path::new("")).display().to_string();
    if let Some(label) = &args.label
        && label != fitted.label_name()
    {
        return Err(Error::InvalidArgument {
            what: "--label",
            detail: format!(
                "{model} predicts `{}`, not `{label}`; leave --label out to continue it",
                fitted.label_name()
            ),
        });
    }
    let loaded = match &args.data {
        Some(path) => load_csv_with(path, &options, fitted),
        None => load_csv_reader_with(BUNDLED_DATA.as_bytes(), BUNDLED_NAME, &options, fitted),
    };
    let data = loaded.map_err(|e| Error::InvalidArgument {
        what: "--init-from",
        detail: format!(
            "the data does not fit {model} ({} epochs trained): {}",
            file.epochs,
            describe(&e.into())
        ),
    })?;
    Ok(data)
}

/// The task trained: the data's, or `--task`'s when it asks for another form of the same
/// classes (two classes as a softmax pair) or refuses the data (three classes as binary).
fn task_of(choice: Option<TaskChoice>, data: &Dataset) -> Result<Task> {
    let task = data.task();
    let label = data.preprocessing.label_name();
    let classes = data.preprocessing.class_names();
    match (choice, task) {
        (Some(TaskChoice::Multiclass), Task::Binary) => Ok(Task::Multiclass { n_classes: 2 }),
        (Some(TaskChoice::Binary), Task::Multiclass { n_classes }) => Err(Error::InvalidArgument {
            what: "--task",
            detail: format!(
                "binary needs two classes, but the label `{label}` has {n_classes} ({}); use --task multiclass",
                shown_classes(classes)
            ),
        }),
        _ => Ok(task),
    }
}

/// At most 10 class names, then a count.
fn shown_classes(classes: &[String]) -> String {
    let text: Vec<&str> = classes.iter().take(10).map(String::as_str).collect();
    let more = classes.len().saturating_sub(10);
    let tail = if more > 0 {
        format!(" … and {more} more")
    } else {
        String::new()
    };
    format!("{}{tail}", text.join(", "))
}

/// The layers and loss of the model file being continued; flags that contradict them are
/// refused, naming both.
fn continue_model(
    args: &TrainArgs,
    file: &ModelFile,
    given_layers: Option<Vec<Layer>>,
    given_loss: Option<Loss>,
) -> Result<(Vec<Layer>, Option<Loss>)> {
    let model = args.init_from.as_deref().unwrap_or(Path::new("")).display().to_string();
    let stored = &file.architecture.layers;
    if let Some(layers) = &given_layers
        && format_layers(layers) != format_layers(stored)
    {
        return Err(Error::InvalidArgument {
            what: "--layers",
            detail: format!(
                "{} differs from the layers of {model}, {}; leave --layers out to continue them",
                format_layers(layers),
                format_layers(stored)
            ),
        });
    }
    if let Some(loss) = given_loss
        && loss != file.loss
    {
        return Err(Error::InvalidArgument {
            what: "--loss",
            detail: format!(
                "{}{} differs from the loss of {model}, {}{}; leave --loss out to continue it",
                loss_short_name(loss),
                logits(loss),
                loss_short_name(file.loss),
                logits(file.loss)
            ),
        });
    }
    Ok((stored.clone(), Some(file.loss)))
}

/// `_logits` for a loss computed from logits.
fn logits(loss: Loss) -> &'static str {
    match loss {
        Loss::BinaryCrossentropy { from_logits: true }
        | Loss::CategoricalCrossentropy { from_logits: true }
        | Loss::SparseCategoricalCrossentropy { from_logits: true } => "_logits",
        _ => "",
    }
}

/// Warnings about data a model can hardly learn from: a training part of a few rows, and a
/// label with about as many classes as rows (an id, or a number read as classes).
pub fn warnings(args: &TrainArgs, data: &Dataset, task: Task) -> Vec<String> {
    let mut notes = Vec::new();
    let (train, test) = (data.report.train_rows, data.report.test_rows);
    if test > 0 && (train < 10 || train < test) {
        notes.push(format!(
            "--test-split {} leaves {train} training rows (and {test} test rows): the model learns from \
             almost nothing; lower --test-split",
            args.test_split
        ));
    }
    let rows = train + test;
    if let Some(n) = task.n_classes()
        && n > 2
        && n * 2 > rows
    {
        notes.push(format!(
            "the label `{}` has {n} classes over {rows} rows, under two rows per class: a classifier cannot \
             learn that (an id column? choose another --label; a number? --task regression)",
            data.preprocessing.label_name()
        ));
    }
    for c in data.preprocessing.columns() {
        if let ColumnRole::Text { categories } = &c.role
            && categories.iter().all(|v| decimal_comma_number(v))
        {
            notes.push(format!(
                "column `{}` was read as text, but its values look like numbers with a decimal comma \
                 (`{}`): pass --decimal-comma to read them as numbers",
                c.name,
                categories.first().map_or("", String::as_str)
            ));
        }
    }
    notes
}

/// `5,1`, `-0,25`: a number once its one comma is a point (and it has no point).
fn decimal_comma_number(v: &str) -> bool {
    v.matches(',').count() == 1 && !v.contains('.') && v.replace(',', ".").trim().parse::<f32>().is_ok()
}
