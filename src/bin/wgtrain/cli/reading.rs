//! How the command's CSV flags become the engine's reading options: `--delimiter`,
//! `--decimal-comma` (shared by `train`, `evaluate` and `predict`) and `train`'s column,
//! missing-value, task and split flags.

use super::args::{MissingChoice, ReadArgs, ScaleChoice, TaskChoice, TrainArgs};
use wgtrain::data::{CsvOptions, Delimiter, Label, MissingPolicy, Scaling, SplitMode, TargetKind, TransformOptions};
use wgtrain::nn::Loss;
use wgtrain::{Error, Result};

/// The label column a run uses when `--label` is not given.
pub const DEFAULT_LABEL: &str = "label";

/// `--delimiter`: one character (`;`, `|` …), or `tab` / `\t`.
pub fn delimiter(read: &ReadArgs) -> Result<Delimiter> {
    let Some(text) = &read.delimiter else {
        return Ok(Delimiter::Auto);
    };
    let byte = match text.as_str() {
        "tab" | "\\t" | "\t" => b'\t',
        t if t.len() == 1 && !matches!(t, "\"" | "\n" | "\r") => t.as_bytes()[0],
        _ => {
            return Err(Error::InvalidArgument {
                what: "--delimiter",
                detail: format!("`{text}` is not one ASCII character other than a quote (or `tab`)"),
            });
        }
    };
    Ok(Delimiter::Byte(byte))
}

/// The reading options of `evaluate` and `predict`.
pub fn transform_options(read: &ReadArgs) -> Result<TransformOptions> {
    let mut opts = TransformOptions::new().delimiter(delimiter(read)?);
    if read.decimal_comma {
        opts = opts.decimal_comma(true);
    }
    if let Some(limit) = read.max_record_bytes {
        opts = opts.max_record_bytes(limit);
    }
    Ok(opts)
}

/// What the label is: `--task` when given, else what `--loss` implies (mse and mae predict
/// numbers, cross-entropies classes), else guessed from the values.
pub fn target_kind(task: Option<TaskChoice>, loss: Option<Loss>) -> TargetKind {
    match (task, loss) {
        (Some(TaskChoice::Regression), _) => TargetKind::Regression,
        (Some(_), _) => TargetKind::Classification,
        (None, Some(l)) if l.accuracy().is_none() => TargetKind::Regression,
        (None, Some(_)) => TargetKind::Classification,
        (None, None) => TargetKind::Auto,
    }
}

/// The reading options of `train`.
pub fn csv_options(args: &TrainArgs, target: TargetKind) -> Result<CsvOptions> {
    let scaling = match args.scale {
        ScaleChoice::Standard => Scaling::Standard,
        ScaleChoice::Minmax => Scaling::MinMax,
        ScaleChoice::None => Scaling::None,
    };
    let missing = match args.missing {
        MissingChoice::Drop => MissingPolicy::Drop,
        MissingChoice::Mean => MissingPolicy::FillMean,
        MissingChoice::Median => MissingPolicy::FillMedian,
        MissingChoice::Zero => MissingPolicy::FillZero,
    };
    let mut options = CsvOptions::default()
        .delimiter(delimiter(&args.read)?)
        .label(Label::Name(args.label.clone().unwrap_or_else(|| DEFAULT_LABEL.into())))
        .ignore_columns(args.ignore.iter().map(|c| c.trim().to_string()))
        .text_columns(args.text_columns.iter().map(|c| c.trim().to_string()))
        .max_categories(args.max_categories)
        .missing(missing)
        .target(target)
        .max_classes(args.max_classes)
        .class_limit(args.class_limit)
        .test_fraction(args.test_split)
        .seed(args.seed)
        .scaling(scaling);
    if args.read.decimal_comma {
        options = options.decimal_comma(true);
    }
    if let Some(limit) = args.read.max_record_bytes {
        options = options.max_record_bytes(limit);
    }
    if args.stratify {
        options = options.split(SplitMode::Stratified);
    }
    Ok(options)
}
