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
    Train(TrainArgs),
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
    /// The GPU when there is one, else the CPU with a notice.
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
    /// Name of the label column.
    #[arg(long, default_value = "label")]
    pub label: String,
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
    #[arg(long)]
    pub lr: Option<f32>,
    /// SGD or RMSprop momentum.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f32,
    /// Decoupled weight decay (AdamW default 0.004).
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Epochs.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Rows per step.
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// Fraction of rows held out as the test set (0: no test set).
    #[arg(long, default_value_t = 0.2)]
    pub test_split: f64,
    /// Fraction of the training rows held out for validation each epoch.
    #[arg(long, default_value_t = 0.0)]
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
    /// Start from this model file's weights (and optimizer state when present).
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
            Some(Command::Train(args)) => args,
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
    /// CSV file with the model's feature columns (the label column may be absent).
    #[arg(long)]
    pub data: PathBuf,
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
