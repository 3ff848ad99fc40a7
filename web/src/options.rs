//! The option objects a page fills in (`new ModelOptions()`, then set fields), with defaults
//! that give the `wgtrain` command's default run on the seed data, and their translation into
//! the engine's types. Bad text is the engine's `InvalidArgument`, naming the field.

use wasm_bindgen::prelude::*;
use wgtrain::data::{CsvOptions, Label, MissingPolicy, Scaling, TargetKind};
use wgtrain::model::{Layer, parse_layers, parse_loss};
use wgtrain::nn::{Loss, Optimizer};
use wgtrain::{Error, Result};

fn invalid(what: &'static str, detail: String) -> Error {
    Error::InvalidArgument { what, detail }
}

/// What the model is: layers, loss, optimizer, device.
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug)]
pub struct ModelOptions {
    /// Layers as the command writes them: `10:relu,1:sigmoid` (`dropout:RATE` adds dropout).
    pub layers: String,
    /// `bce`, `mse`, `mae`, `sce` (class indices; `_logits` for the from-logits form).
    pub loss: String,
    /// `adam`, `adamw`, `sgd` or `rmsprop`.
    pub optimizer: String,
    /// The learning rate; `undefined` keeps the optimizer's default (Keras's).
    #[wasm_bindgen(js_name = learningRate)]
    pub learning_rate: Option<f32>,
    /// `gpu` (WebGPU, an error without it), `cpu`, or `auto` (WebGPU when the browser has it,
    /// else the CPU backend with a notice).
    pub device: String,
    /// `auto`, `layered` or `fused`.
    pub executor: String,
    /// Seed of the initial weights (the command uses its `--seed` here too).
    pub seed: u32,
}

#[wasm_bindgen]
impl ModelOptions {
    /// The seed model: `10:relu,1:sigmoid`, `bce`, `adam`, device `auto`, executor `auto`, seed 42.
    #[wasm_bindgen(constructor)]
    pub fn new() -> ModelOptions {
        ModelOptions {
            layers: "10:relu,1:sigmoid".into(),
            loss: "bce".into(),
            optimizer: "adam".into(),
            learning_rate: None,
            device: "auto".into(),
            executor: "auto".into(),
            seed: 42,
        }
    }
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions::new()
    }
}

impl ModelOptions {
    /// The parsed layers.
    pub(crate) fn parsed_layers(&self) -> Result<Vec<Layer>> {
        parse_layers(&self.layers, "layers")
    }

    /// The parsed loss; categorical cross-entropy's one-hot targets are the command's job, so
    /// the page takes class indices (`sce`).
    pub(crate) fn parsed_loss(&self) -> Result<Loss> {
        let loss = parse_loss(&self.loss, "loss")?;
        if let Loss::CategoricalCrossentropy { .. } = loss {
            return Err(invalid(
                "loss",
                format!(
                    "`{}` takes one-hot targets; a page trains on class indices: use sce",
                    self.loss
                ),
            ));
        }
        Ok(loss)
    }

    /// The optimizer with its learning rate, validated.
    pub(crate) fn parsed_optimizer(&self) -> Result<Optimizer> {
        let mut optimizer = match self.optimizer.trim().to_ascii_lowercase().as_str() {
            "adam" => Optimizer::adam(),
            "adamw" => Optimizer::adamw(),
            "sgd" => Optimizer::sgd(),
            "rmsprop" => Optimizer::rmsprop(),
            _ => {
                return Err(invalid(
                    "optimizer",
                    format!(
                        "`{}` is not an optimizer; use adam, adamw, sgd or rmsprop",
                        self.optimizer
                    ),
                ));
            }
        };
        if let Some(lr) = self.learning_rate {
            optimizer = optimizer.with_learning_rate(lr);
        }
        optimizer.validate()?;
        Ok(optimizer)
    }

    /// The parsed execution request.
    pub(crate) fn parsed_execution(&self) -> Result<wgtrain::model::Execution> {
        use wgtrain::model::Execution;
        Ok(match self.executor.trim().to_ascii_lowercase().as_str() {
            "auto" => Execution::Auto,
            "layered" => Execution::Layered,
            "fused" => Execution::Fused,
            _ => {
                return Err(invalid(
                    "executor",
                    format!("`{}` is not an executor; use auto, layered or fused", self.executor),
                ));
            }
        })
    }
}

/// How CSV bytes become training and test arrays.
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug)]
pub struct DataOptions {
    /// The label column's header name.
    pub label: String,
    /// Rows with missing values: `drop`, `mean`, `median` or `zero` (filled).
    pub missing: String,
    /// Feature scaling fitted on the training part: `none`, `standard` or `minmax`.
    pub scaling: String,
    /// Fraction of rows held out as the test part, in [0, 1).
    #[wasm_bindgen(js_name = testSplit)]
    pub test_split: f64,
    /// Seed of the train/test shuffle.
    pub seed: u32,
}

#[wasm_bindgen]
impl DataOptions {
    /// The seed program's reading: label `label`, drop missing rows, no scaling, 80/20 split
    /// with seed 42.
    #[wasm_bindgen(constructor)]
    pub fn new() -> DataOptions {
        DataOptions {
            label: "label".into(),
            missing: "drop".into(),
            scaling: "none".into(),
            test_split: 0.2,
            seed: 42,
        }
    }
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions::new()
    }
}

impl DataOptions {
    /// The engine's reading options for a model trained with `loss`.
    pub(crate) fn csv_options(&self, loss: Loss) -> Result<CsvOptions> {
        let missing = match self.missing.trim().to_ascii_lowercase().as_str() {
            "drop" => MissingPolicy::Drop,
            "mean" => MissingPolicy::FillMean,
            "median" => MissingPolicy::FillMedian,
            "zero" => MissingPolicy::FillZero,
            _ => {
                return Err(invalid(
                    "missing",
                    format!("`{}` is not a policy; use drop, mean, median or zero", self.missing),
                ));
            }
        };
        let scaling = match self.scaling.trim().to_ascii_lowercase().as_str() {
            "none" => Scaling::None,
            "standard" => Scaling::Standard,
            "minmax" => Scaling::MinMax,
            _ => {
                return Err(invalid(
                    "scaling",
                    format!("`{}` is not a scaling; use none, standard or minmax", self.scaling),
                ));
            }
        };
        if !(0.0..1.0).contains(&self.test_split) {
            return Err(invalid(
                "testSplit",
                format!("must be in [0, 1) (0: no test part), got {}", self.test_split),
            ));
        }
        // As the command decides: a loss that counts accuracy reads the label as classes.
        let target = match loss.accuracy() {
            Some(_) => TargetKind::Classification,
            None => TargetKind::Regression,
        };
        Ok(CsvOptions::default()
            .label(Label::Name(self.label.clone()))
            .missing(missing)
            .scaling(scaling)
            .target(target)
            .test_fraction(self.test_split)
            .seed(u64::from(self.seed)))
    }
}

/// How `fit` runs.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub struct TrainOptions {
    /// Epochs to train.
    pub epochs: u32,
    /// Rows per step.
    #[wasm_bindgen(js_name = batchSize)]
    pub batch_size: u32,
    /// Seed of the per-epoch shuffles.
    pub seed: u32,
}

#[wasm_bindgen]
impl TrainOptions {
    /// The seed program's fit: 100 epochs of batch 10, shuffled with seed 42.
    #[wasm_bindgen(constructor)]
    pub fn new() -> TrainOptions {
        TrainOptions {
            epochs: 100,
            batch_size: 10,
            seed: 42,
        }
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions::new()
    }
}
