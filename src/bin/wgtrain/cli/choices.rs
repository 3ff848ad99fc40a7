//! The model choices behind `wgtrain train`'s flags: device, optimizer, the output layer and
//! loss that fit a label, targets in the form a loss takes, and the metrics reported.

use ndarray::Array2;

use super::args::{BackendChoice, ExecutorChoice, OptimizerChoice, TrainArgs};
use super::spec::loss_short_name;
use wgtrain::data::Task;
use wgtrain::model::{Dense, Device, Execution, Layer, Metric};
use wgtrain::nn::{Activation, Loss, Optimizer};
use wgtrain::{Error, Result};

/// The library's execution request for an `--executor` choice.
pub fn execution_for(choice: ExecutorChoice) -> Execution {
    match choice {
        ExecutorChoice::Auto => Execution::Auto,
        ExecutorChoice::Layered => Execution::Layered,
        ExecutorChoice::Fused => Execution::Fused,
    }
}

/// The device for a `--backend` choice.
pub fn device_for(choice: BackendChoice) -> Device {
    match choice {
        BackendChoice::Auto => Device::Auto,
        BackendChoice::Gpu => Device::Gpu(Default::default()),
        BackendChoice::Cpu => Device::Cpu,
    }
}

/// Prints why the model runs on the CPU although `--backend auto` was asked for, naming
/// the command's flag where the engine names its `Device::Gpu`.
pub fn print_device_notice(notice: Option<&str>) {
    if let Some(notice) = notice {
        eprintln!("wgtrain: {}", notice.replace("(Device::Gpu)", "(--backend gpu)"));
    }
}

/// The optimizer the flags describe.
pub fn optimizer_for(args: &TrainArgs) -> Result<Optimizer> {
    let mut opt = match args.optimizer {
        OptimizerChoice::Adam => Optimizer::adam(),
        OptimizerChoice::Adamw => Optimizer::adamw(),
        OptimizerChoice::Sgd => Optimizer::sgd().with_momentum(args.momentum),
        OptimizerChoice::Rmsprop => Optimizer::rmsprop().with_momentum(args.momentum),
    };
    if let Some(lr) = args.lr {
        opt = opt.with_learning_rate(lr);
    }
    if args.weight_decay.is_some() {
        opt = opt.with_weight_decay(args.weight_decay);
    }
    opt.validate()?;
    Ok(opt)
}

/// Output layer and loss that fit a task.
pub fn defaults_for(task: Task) -> (Dense, Loss) {
    match task {
        Task::Binary => (
            Dense::new(1, Activation::Sigmoid),
            Loss::BinaryCrossentropy { from_logits: false },
        ),
        Task::Multiclass { n_classes } => (
            Dense::new(n_classes, Activation::Softmax),
            Loss::SparseCategoricalCrossentropy { from_logits: false },
        ),
        Task::Regression => (Dense::new(1, Activation::Linear), Loss::MeanSquaredError),
    }
}

fn task_words(task: Task) -> String {
    match task {
        Task::Binary => "a binary label".into(),
        Task::Multiclass { n_classes } => format!("a label with {n_classes} classes"),
        Task::Regression => "a numeric (regression) label".into(),
    }
}

/// Checks that layers and loss fit the label, saying what would fit otherwise.
pub fn check_fit(task: Task, layers: &[Layer], loss: Loss) -> Result<()> {
    let out = layers
        .iter()
        .rev()
        .find_map(|l| if let Layer::Dense(d) = l { Some(d.units) } else { None })
        .unwrap_or(0);
    let (good_out, good_loss) = defaults_for(task);
    let suggestion = format!(
        "for {} use e.g. --layers 10:relu,{}:{} --loss {}",
        task_words(task),
        good_out.units,
        good_out.activation.name(),
        loss_short_name(good_loss)
    );
    let problem = match (task, loss) {
        (Task::Binary, Loss::BinaryCrossentropy { .. }) if out != 1 => {
            Some(format!("bce needs 1 output unit, not {out}"))
        }
        (Task::Multiclass { n_classes }, Loss::BinaryCrossentropy { .. }) => {
            Some(format!("bce fits two classes, but the label has {n_classes}"))
        }
        (
            Task::Regression,
            Loss::BinaryCrossentropy { .. }
            | Loss::CategoricalCrossentropy { .. }
            | Loss::SparseCategoricalCrossentropy { .. },
        ) => Some(format!(
            "{} needs class labels, but the label is numeric",
            loss_short_name(loss)
        )),
        (Task::Binary, Loss::CategoricalCrossentropy { .. } | Loss::SparseCategoricalCrossentropy { .. })
            if out != 2 =>
        {
            Some(format!(
                "{} needs one output per class (2), not {out}",
                loss_short_name(loss)
            ))
        }
        (
            Task::Multiclass { n_classes },
            Loss::CategoricalCrossentropy { .. } | Loss::SparseCategoricalCrossentropy { .. },
        ) if out != n_classes => Some(format!(
            "{} needs one output per class ({n_classes}), not {out}",
            loss_short_name(loss)
        )),
        (_, Loss::MeanSquaredError | Loss::MeanAbsoluteError) if out != 1 => Some(format!(
            "{} on this label needs 1 output unit, not {out}",
            loss_short_name(loss)
        )),
        _ => None,
    };
    match problem {
        Some(p) => Err(Error::InvalidArgument {
            what: "--layers/--loss",
            detail: format!("{p}; {suggestion}"),
        }),
        None => Ok(()),
    }
}

/// Targets in the form a loss takes: one-hot for categorical cross-entropy.
pub fn targets_for(loss: Loss, y: &Array2<f32>, classes: usize) -> Array2<f32> {
    match loss {
        Loss::CategoricalCrossentropy { .. } => {
            let mut one_hot = Array2::zeros((y.nrows(), classes));
            for (i, &c) in y.column(0).iter().enumerate() {
                if (c as usize) < classes {
                    one_hot[[i, c as usize]] = 1.0;
                }
            }
            one_hot
        }
        _ => y.clone(),
    }
}

/// The metrics the command reports for a loss.
pub fn metrics_for(loss: Loss, task: Task) -> Vec<Metric> {
    match (loss.accuracy(), task) {
        (Some(_), Task::Binary) if !loss.sparse_targets() && !matches!(loss, Loss::CategoricalCrossentropy { .. }) => {
            vec![Metric::Accuracy, Metric::Precision, Metric::Recall]
        }
        (Some(_), _) => vec![Metric::Accuracy],
        (None, _) => vec![Metric::MeanAbsoluteError, Metric::MeanSquaredError],
    }
}

/// `adam (lr 0.001)`, `sgd (lr 0.01, momentum 0.9)` …
pub fn describe_optimizer(o: &Optimizer) -> String {
    let mut parts = vec![format!("lr {}", o.learning_rate())];
    match *o {
        Optimizer::Sgd { momentum, nesterov, .. } if momentum != 0.0 => {
            parts.push(format!(
                "momentum {momentum}{}",
                if nesterov { ", nesterov" } else { "" }
            ));
        }
        Optimizer::RmsProp { momentum, .. } if momentum != 0.0 => parts.push(format!("momentum {momentum}")),
        _ => {}
    }
    if let Some(wd) = o.weight_decay() {
        parts.push(format!("weight decay {wd}"));
    }
    format!("{} ({})", o.name(), parts.join(", "))
}
