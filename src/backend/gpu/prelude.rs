//! The switch codes the kernels share with Rust, defined once on the Rust side and generated
//! into a WGSL prelude of `const` declarations that is prepended to every module: activation
//! codes (`Activation::code`), loss codes (`Loss::code`), accuracy kinds (`Accuracy::code`),
//! optimizer kinds and flag bits, the other kernels' flag bits, the metric accumulator's slots
//! ([`MetricSlot`]) and the optimizer's state bindings ([`OptimizerSlot`]). Kernels name the
//! constants (`ACT_RELU`, `OPT_FLAG_NESTEROV` …) instead of repeating numbers.

use std::sync::OnceLock;

use crate::backend::ops::{MetricSlot, metric_slot};
use crate::nn::optimizer_slots::OptimizerSlot;
use crate::nn::{ALL_ACTIVATIONS, Accuracy, Activation, Loss, Optimizer};

/// Declares bit flags and mode codes as Rust constants and lists them for the prelude.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        $($(#[$doc])* pub(crate) const $name: u32 = $value;)*
        /// The constants above, by name.
        const FLAG_CODES: &[(&str, u32)] = &[$((stringify!($name), $name)),*];
    };
}

codes! {
    /// matmul: add the bias.
    MATMUL_FLAG_BIAS = 1;
    /// matmul: keep the pre-activation z.
    MATMUL_FLAG_Z = 2;
    /// matmul: write raw partial sums of one K slice (split-K), no epilogue; matmul_reduce:
    /// write the raw sum (a round before the last).
    MATMUL_FLAG_PARTIAL = 4;
    /// matmul_reduce: add the raw sums already in out (an earlier round).
    MATMUL_FLAG_ACCUMULATE = 8;
    /// matmul, matmul_reduce: the derivative epilogue, out = sum ⊙ act′(z) with z read.
    MATMUL_FLAG_DERIV = 16;
    /// loss: per-row weights are bound.
    LOSS_FLAG_WEIGHTS = 1;
    /// loss: write the gradient.
    LOSS_FLAG_GRAD = 2;
    /// loss: compute the loss (else read the per-row losses: the metrics alone).
    LOSS_FLAG_LOSS = 4;
    /// loss: accumulate the metrics.
    LOSS_FLAG_METRICS = 8;
    /// loss: each workgroup writes its metric sums to its own scratch row.
    LOSS_FLAG_PARTIAL = 16;
    /// loss: multiply the gradient by the output activation's derivative.
    LOSS_FLAG_DERIVATIVE = 32;
    /// loss: targets and weights are read through the index binding (the epoch's permutation).
    LOSS_FLAG_INDEXED = 64;
    /// dropout: draw the mask and apply it.
    DROPOUT_FORWARD = 0;
    /// dropout: apply the stored mask (the gradient).
    DROPOUT_BACKWARD = 1;
    /// loss (metrics): no accuracy is counted.
    ACC_NONE = 0;
    /// optimizer_step: SGD.
    OPT_SGD = 0;
    /// optimizer_step: Adam / AdamW.
    OPT_ADAM = 1;
    /// optimizer_step: RMSprop.
    OPT_RMSPROP = 2;
    /// optimizer_step: Nesterov momentum.
    OPT_FLAG_NESTEROV = 1;
    /// optimizer_step: momentum is on (SGD and RMSprop).
    OPT_FLAG_MOMENTUM = 2;
    /// optimizer_step: centered RMSprop.
    OPT_FLAG_CENTERED = 4;
    /// optimizer_step: decoupled weight decay is on.
    OPT_FLAG_WEIGHT_DECAY = 8;
    /// optimizer_step's learning rate: constant.
    SCHED_CONSTANT = 0;
    /// ExponentialDecay.
    SCHED_EXPONENTIAL = 1;
    /// InverseTimeDecay.
    SCHED_INVERSE_TIME = 2;
    /// PolynomialDecay.
    SCHED_POLYNOMIAL = 3;
    /// CosineDecay.
    SCHED_COSINE = 4;
    /// PiecewiseConstantDecay.
    SCHED_PIECEWISE = 5;
    /// Schedule flag: decay in whole periods (staircase).
    SCHED_FLAG_STAIRCASE = 1;
    /// Schedule flag: PolynomialDecay restarts every decay_steps multiple (cycle).
    SCHED_FLAG_CYCLE = 2;
    /// Schedule flag: CosineDecay has a linear warmup.
    SCHED_FLAG_WARMUP = 4;
}

/// The optimizer kind code of the optimizer kernel.
pub(crate) fn optimizer_kind(optimizer: &Optimizer) -> u32 {
    match optimizer {
        Optimizer::Sgd { .. } => OPT_SGD,
        Optimizer::Adam { .. } => OPT_ADAM,
        Optimizer::RmsProp { .. } => OPT_RMSPROP,
    }
}

/// The accuracy code of the metrics kernel.
pub(crate) fn accuracy_code(accuracy: Option<Accuracy>) -> u32 {
    accuracy.map_or(ACC_NONE, Accuracy::code)
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Linear => "ACT_LINEAR",
        Activation::Relu => "ACT_RELU",
        Activation::LeakyRelu { .. } => "ACT_LEAKY_RELU",
        Activation::Sigmoid => "ACT_SIGMOID",
        Activation::Tanh => "ACT_TANH",
        Activation::Gelu { approximate: false } => "ACT_GELU",
        Activation::Gelu { approximate: true } => "ACT_GELU_TANH",
        Activation::Elu { .. } => "ACT_ELU",
        Activation::Softmax => "ACT_SOFTMAX",
    }
}

/// Every loss, one per code.
const LOSSES: [Loss; 8] = [
    Loss::MeanSquaredError,
    Loss::MeanAbsoluteError,
    Loss::BinaryCrossentropy { from_logits: false },
    Loss::BinaryCrossentropy { from_logits: true },
    Loss::CategoricalCrossentropy { from_logits: false },
    Loss::CategoricalCrossentropy { from_logits: true },
    Loss::SparseCategoricalCrossentropy { from_logits: false },
    Loss::SparseCategoricalCrossentropy { from_logits: true },
];

fn loss_name(l: Loss) -> &'static str {
    match l {
        Loss::MeanSquaredError => "LOSS_MSE",
        Loss::MeanAbsoluteError => "LOSS_MAE",
        Loss::BinaryCrossentropy { from_logits: false } => "LOSS_BCE",
        Loss::BinaryCrossentropy { from_logits: true } => "LOSS_BCE_LOGITS",
        Loss::CategoricalCrossentropy { from_logits: false } => "LOSS_CCE",
        Loss::CategoricalCrossentropy { from_logits: true } => "LOSS_CCE_LOGITS",
        Loss::SparseCategoricalCrossentropy { from_logits: false } => "LOSS_SPARSE_CCE",
        Loss::SparseCategoricalCrossentropy { from_logits: true } => "LOSS_SPARSE_CCE_LOGITS",
    }
}

/// Every accuracy, one per code.
const ACCURACIES: [Accuracy; 3] = [
    Accuracy::Binary { threshold: 0.5 },
    Accuracy::Categorical,
    Accuracy::SparseCategorical,
];

fn accuracy_name(a: Accuracy) -> &'static str {
    match a {
        Accuracy::Binary { .. } => "ACC_BINARY",
        Accuracy::Categorical => "ACC_CATEGORICAL",
        Accuracy::SparseCategorical => "ACC_SPARSE_CATEGORICAL",
    }
}

/// A group of constants of the prelude, each group's codes distinct.
#[derive(Clone, Debug)]
pub struct CodeGroup {
    /// What the group encodes.
    pub what: &'static str,
    /// The constants, by name.
    pub codes: Vec<(String, u32)>,
}

/// Every constant of the prelude, grouped by what it encodes.
pub fn code_groups() -> Vec<CodeGroup> {
    let activations = ALL_ACTIVATIONS.iter().chain([&Activation::Softmax]);
    let group = |what, codes: Vec<(String, u32)>| CodeGroup { what, codes };
    let named = |keep: &dyn Fn(&str) -> bool| {
        FLAG_CODES
            .iter()
            .filter(|(name, _)| keep(name))
            .map(|&(name, value)| (name.to_string(), value))
            .collect::<Vec<_>>()
    };
    let flags = |prefix: &str| named(&|name| name.starts_with(prefix));
    vec![
        group(
            "activation codes",
            activations
                .map(|&a| (activation_name(a).to_string(), a.code()))
                .collect(),
        ),
        group(
            "loss codes",
            LOSSES.iter().map(|&l| (loss_name(l).to_string(), l.code())).collect(),
        ),
        group("accuracy kinds", {
            let mut codes = flags("ACC_");
            codes.extend(ACCURACIES.iter().map(|&a| (accuracy_name(a).to_string(), a.code())));
            codes
        }),
        group(
            "optimizer kinds",
            named(&|name| name.starts_with("OPT_") && !name.starts_with("OPT_FLAG_")),
        ),
        group("optimizer flag bits", flags("OPT_FLAG_")),
        group(
            "learning-rate schedule kinds",
            named(&|name| name.starts_with("SCHED_") && !name.starts_with("SCHED_FLAG_")),
        ),
        group("learning-rate schedule flag bits", flags("SCHED_FLAG_")),
        group("matmul flag bits", flags("MATMUL_FLAG_")),
        group("loss flag bits", flags("LOSS_FLAG_")),
        group("dropout modes", flags("DROPOUT_")),
        group(
            "metric accumulator slots",
            MetricSlot::ALL
                .iter()
                .map(|s| (format!("METRIC_{}", s.shader_name()), s.index() as u32))
                .collect(),
        ),
        group(
            "metric accumulator size",
            vec![
                ("METRIC_SLOTS_USED".to_string(), metric_slot::USED as u32),
                ("METRIC_COUNT".to_string(), metric_slot::COUNT as u32),
            ],
        ),
        group(
            "optimizer state bindings",
            OptimizerSlot::ALL
                .iter()
                .map(|s| (format!("SLOT_{}", s.shader_name()), s.binding() as u32))
                .collect(),
        ),
    ]
}

/// The WGSL prelude: one `const NAME: u32 = VALUEu;` per code, built once.
///
/// ```
/// let prelude = wgtrain::backend::gpu::prelude::wgsl();
/// assert!(prelude.contains("const ACT_RELU: u32 = 1u;"));
/// ```
pub fn wgsl() -> &'static str {
    static PRELUDE: OnceLock<String> = OnceLock::new();
    PRELUDE.get_or_init(|| {
        let mut text =
            String::from("// Generated by wgtrain from its Rust enums (src/backend/gpu/prelude.rs); do not edit.\n");
        for group in code_groups() {
            text.push_str(&format!("// {}\n", group.what));
            for (name, value) in group.codes {
                text.push_str(&format!("const {name}: u32 = {value}u;\n"));
            }
        }
        text
    })
}
