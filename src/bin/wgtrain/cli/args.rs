//! Command-line arguments (clap). Every flag of `wgtrain train` is listed here with its
//! default, so scripts can rely on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// wgtrain: train neural networks on the GPU (WGSL through wgpu) or the CPU (ndarray).
#[derive(Debug, Parser)]
#[command(name = "wgtrain", version, about)]
pub struct Cli {
    /// What to do (default: `train` on the bundled example data set).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a CSV file.
    Train(Box<TrainArgs>),
    /// Evaluate a saved model on a CSV file that has the label column.
    Evaluate(EvaluateArgs),
    /// Predict with a saved model, writing a CSV of labels and probabilities.
    Predict(PredictArgs),
    /// List GPU adapters, their limits and features, and which backend `auto` would choose.
    Info(InfoArgs),
    /// Benchmark fixed workloads on every available backend.
    Bench(BenchArgs),
}

/// Where to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// A hardware GPU when there is one, else the CPU backend with a notice (a software
    /// adapter such as lavapipe's llvmpipe is slower than the CPU backend: `gpu` forces it).
    Auto,
    /// A GPU adapter (an error when none exists).
    Gpu,
    /// The ndarray CPU backend.
    Cpu,
}

/// How the model's steps run (the library's `Execution`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExecutorChoice {
    /// Chosen from the model's shapes and the device (the run says which and why).
    Auto,
    /// One dispatch per operation.
    Layered,
    /// Whole training steps in one generated kernel, where the model fits one.
    Fused,
}

/// Input scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScaleChoice {
    /// Zero mean, unit variance (fitted on the training part).
    Standard,
    /// Into [0, 1] (fitted on the training part).
    Minmax,
    /// As read.
    None,
}

/// What the label is (overrides the guess from its values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskChoice {
    /// Two classes (sigmoid output, bce).
    Binary,
    /// Two or more classes (softmax output, sce).
    Multiclass,
    /// A number to predict (linear output, mse).
    Regression,
}

/// What to do with a row that has a missing value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MissingChoice {
    /// Drop the row (pandas' dropna).
    Drop,
    /// Fill a missing number with its column's training mean.
    Mean,
    /// Fill a missing number with its column's training median.
    Median,
    /// Fill a missing number with 0.
    Zero,
}

/// How a CSV file is read: the flags `train`, `evaluate` and `predict` share.
#[derive(Debug, Args, Clone, Default)]
pub struct ReadArgs {
    /// Field delimiter: a single character, or `tab` (default: detected among comma,
    /// semicolon and tab).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Numbers are written with a decimal comma (`5,1`); detected in semicolon and tab
    /// files, needed for quoted "5,1" values in a comma file.
    #[arg(long)]
    pub decimal_comma: bool,
    /// Longest CSV record (header or row) in bytes (default 64 MiB); a longer one is an error
    /// naming its line (binary data, NUL bytes or a quote never closed).
    #[arg(long)]
    pub max_record_bytes: Option<usize>,
}

/// Optimizers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerChoice {
    /// Adam (lr 1e-3).
    Adam,
    /// AdamW (lr 1e-3, weight decay 0.004).
    Adamw,
    /// SGD (lr 0.01), with --momentum.
    Sgd,
    /// RMSprop (lr 1e-3).
    Rmsprop,
}

/// `wgtrain train` flags.
#[derive(Debug, Args, Clone)]
pub struct TrainArgs {
    /// CSV file with a header row (default: the bundled examples/data/seed.csv).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Name of the label column (default `label`; with --init-from, the model's).
    #[arg(long)]
    pub label: Option<String>,
    /// What the label is, overriding the guess (text: classes; integers with at most
    /// --max-classes distinct values: classes; other numbers: regression). A regression or
    /// classification --loss implies it.
    #[arg(long, value_enum)]
    pub task: Option<TaskChoice>,
    /// Most distinct integer values a label may have to be guessed as classes.
    #[arg(long, default_value_t = 64)]
    pub max_classes: usize,
    /// How the file is read.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Columns to leave out of the features (ids, dates), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Columns to treat as text (one-hot encoded) even when their values look numeric,
    /// comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub text_columns: Vec<String>,
    /// Most distinct values a text feature column may have.
    #[arg(long, default_value_t = 64)]
    pub max_categories: usize,
    /// Rows with a missing value (empty, NA, N/A, NaN, null, ?): drop them or fill them.
    #[arg(long, value_enum, default_value_t = MissingChoice::Drop)]
    pub missing: MissingChoice,
    /// Split each class by --test-split separately (classification only).
    #[arg(long)]
    pub stratify: bool,
    /// Layers as units:activation, comma-separated; the last is the output
    /// (default: 10:relu and an output fitting the label).
    #[arg(long)]
    pub layers: Option<String>,
    /// Loss: bce, mse, mae, cce or sce (default: fitting the label).
    #[arg(long)]
    pub loss: Option<String>,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerChoice::Adam)]
    pub optimizer: OptimizerChoice,
    /// Learning rate (default: the optimizer's Keras default).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// SGD or RMSprop momentum.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub momentum: f32,
    /// Decoupled weight decay (AdamW default 0.004).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f32>,
    /// Epochs.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Rows per step.
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// Fraction of rows held out as the test set (0: no test set).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub test_split: f64,
    /// Fraction of the training rows held out for validation each epoch.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub validation_split: f32,
    /// Shuffle the training rows every epoch.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub shuffle: bool,
    /// Seed of the split, the initial weights, the shuffles and dropout.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Input scaling.
    #[arg(long, value_enum, default_value_t = ScaleChoice::Standard)]
    pub scale: ScaleChoice,
    /// Most classes the label may have (a label with more, or, unless this is set, with over 64
    /// classes and more classes than half the rows, is refused: it is most likely an
    /// identifier).
    #[arg(long, default_value_t = wgtrain::data::DEFAULT_CLASS_LIMIT)]
    pub class_limit: usize,
    /// Where to train.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// How the training steps run.
    #[arg(long, value_enum, default_value_t = ExecutorChoice::Auto)]
    pub executor: ExecutorChoice,
    /// Stop after this many epochs without improvement (validation loss when there is a
    /// validation split, else the training loss), restoring the best weights.
    #[arg(long)]
    pub early_stopping: Option<usize>,
    /// Save the trained model (safetensors) to this file.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Continue from this model file: its weights and optimizer state, and for a wgtrain
    /// model file also its layers, loss and preprocessing (columns, categories, classes,
    /// scaling), which the data must fit. A weights-only safetensors file of another program
    /// gives the weights alone.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Save the model every N epochs to the --save file (atomically).
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Draw the training curves to this PNG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

impl Default for TrainArgs {
    fn default() -> Self {
        let cli = Cli::parse_from(["wgtrain", "train"]);
        match cli.command {
            Some(Command::Train(args)) => *args,
            _ => unreachable!("`train` parses to Train"),
        }
    }
}

/// `wgtrain evaluate` flags.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// CSV file with the model's columns and the label.
    #[arg(long)]
    pub data: PathBuf,
    /// How the file is read.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// The model's executor (evaluation itself is forward passes, which every executor runs
    /// one dispatch per operation; `fused` where it cannot run is an error).
    #[arg(long, value_enum, default_value_t = ExecutorChoice::Auto)]
    pub executor: ExecutorChoice,
    /// Rows per step.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// `wgtrain predict` flags.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// CSV file with the model's feature columns (the label and other columns may be
    /// there too: they are not used).
    #[arg(long)]
    pub data: PathBuf,
    /// How the file is read.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Columns of the data to copy into the output beside each prediction (ids),
    /// comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub keep: Vec<String>,
    /// Write the predictions here (default: stdout).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Rows per step.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
}

/// `wgtrain info` flags.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Also estimate the device memory of a model with these layers.
    #[arg(long)]
    pub layers: Option<String>,
    /// Input width of that model.
    #[arg(long, default_value_t = 8)]
    pub inputs: usize,
    /// Batch size of that estimate.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// The device that model would train on (its executor depends on it).
    #[arg(long, value_enum, default_value_t = BackendChoice::Cpu)]
    pub backend: BackendChoice,
    /// How that model's steps would run.
    #[arg(long, value_enum, default_value_t = ExecutorChoice::Auto)]
    pub executor: ExecutorChoice,
}

/// `wgtrain bench` flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Run only this workload (seed, digits, tabular, mnist-mlp, wide).
    #[arg(long)]
    pub workload: Option<String>,
    /// The GPU's executors: auto measures layered and, where the workload fits, fused; fused
    /// or layered measures only that one.
    #[arg(long, value_enum, default_value_t = ExecutorChoice::Auto)]
    pub executor: ExecutorChoice,
    /// Epochs per workload.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Draw a bar chart of samples/s to this PNG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Rows per workload (default: the workload's own; slow backends get fewer to fit the
    /// time budget).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Seconds allowed per workload and backend before rows are cut (0: no limit).
    #[arg(long, default_value_t = 30.0)]
    pub budget: f64,
}
