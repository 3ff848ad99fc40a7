//! The JSON entries a model file keeps in `__metadata__` (format version 1): `architecture`,
//! `loss`, `optimizer` (with its step count) and `training`, as serde structs, and the parsing
//! that names the field of an error by its JSON path.
//!
//! These structs are the file format, kept apart from the engine's types (`Sequential`,
//! `Activation`, `Optimizer` …) so that either can change without the other; the conversions
//! in `file_convert.rs` are the one place that decides the names in a file. Reading is strict:
//! every field is required (`weight_decay` may be `null`), unknown fields are refused, a name
//! this build does not know is an error listing the accepted ones, and each error names the
//! field by its JSON path inside the entry (`layers[1].activation.name`). Layers and
//! optimizers are flat structs whose kind-specific fields are optional and checked per kind by
//! the conversions, rather than serde's internally tagged enums, because those lose the path of
//! an error inside them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;
/// A problem at one field of a metadata entry.
#[derive(Debug)]
pub(super) struct FieldError {
    /// JSON path inside the entry (`layers[1].units`); empty for the entry as a whole.
    pub(super) field: String,
    /// What is wrong.
    pub(super) detail: String,
}

impl FieldError {
    /// A problem at `field` (a JSON path inside the entry; empty for the whole entry).
    pub(super) fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// The same error one level down, under `prefix` (`layers[1]`).
    pub(super) fn under(self, prefix: &str) -> Self {
        let field = match self.field.as_str() {
            "" => prefix.to_string(),
            f if f.starts_with('[') => format!("{prefix}{f}"),
            f => format!("{prefix}.{f}"),
        };
        FieldError { field, ..self }
    }

    /// The crate's error for metadata `entry` of the file `path`.
    pub(super) fn in_entry(self, path: &str, entry: &str) -> Error {
        let FieldError { field, detail } = self.under(entry);
        Error::ModelMetadata {
            path: path.to_string(),
            field,
            detail,
        }
    }
}

/// Parses one metadata entry's JSON text as `T`; an error names the field by its path.
pub(super) fn parse_entry<T: DeserializeOwned>(text: &str) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        FieldError::new(field, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| FieldError::new("", e.to_string()))?;
    Ok(value)
}

/// An entry's JSON text. The structs here have string keys and plain fields, so serde_json
/// cannot fail on them.
pub(super) fn entry_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model metadata serializes")
}

/// `architecture`: `{"input_width", "seed", "layers": [...]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArchitectureJson {
    pub(super) input_width: usize,
    pub(super) seed: u64,
    pub(super) layers: Vec<LayerJson>,
}

/// One entry of `layers`: `{"type": "dense", "units", "activation", "use_bias",
/// "kernel_initializer", "bias_initializer"}` or `{"type": "dropout", "rate"}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LayerJson {
    #[serde(rename = "type")]
    pub(super) kind: LayerKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) units: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) activation: Option<ActivationJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) use_bias: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) kernel_initializer: Option<InitializerJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) bias_initializer: Option<InitializerJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) rate: Option<f32>,
}

/// `layers[i].type`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum LayerKind {
    Dense,
    Dropout,
}

/// An activation: `{"name", "alpha", "approximate"}` (alpha 0 and approximate false where the
/// activation has no such parameter).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActivationJson {
    pub(super) name: ActivationName,
    pub(super) alpha: f32,
    pub(super) approximate: bool,
}

/// `activation.name`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ActivationName {
    Linear,
    Relu,
    LeakyRelu,
    Sigmoid,
    Tanh,
    Gelu,
    Elu,
    Softmax,
}

/// An initializer: `{"name"}`, or `{"name": "constant", "value"}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InitializerJson {
    pub(super) name: InitializerName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) value: Option<f32>,
}

/// `*_initializer.name`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum InitializerName {
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    Zeros,
    Ones,
    Constant,
}

/// `loss`: `{"name", "from_logits"}` (false for the regression losses).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LossJson {
    pub(super) name: LossName,
    pub(super) from_logits: bool,
}

/// `loss.name`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum LossName {
    MeanSquaredError,
    MeanAbsoluteError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
}

/// `optimizer`: `{"name", "learning_rate", "weight_decay", "step"}` and the kind's own
/// hyper-parameters (sgd: `momentum`, `nesterov`; adam, adamw: `beta_1`, `beta_2`, `epsilon`;
/// rmsprop: `rho`, `momentum`, `epsilon`, `centered`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OptimizerJson {
    pub(super) name: OptimizerName,
    pub(super) learning_rate: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) momentum: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) nesterov: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) beta_1: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) beta_2: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) rho: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) epsilon: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) centered: Option<bool>,
    /// Written as `null` when off.
    pub(super) weight_decay: Option<f32>,
    /// Optimizer steps taken.
    pub(super) step: u64,
}

/// `optimizer.name` (`adamw` is Adam with weight decay).
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum OptimizerName {
    Sgd,
    Adam,
    Adamw,
    Rmsprop,
}

/// `training`: `{"epochs", "metrics": [...]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrainingJson {
    /// Epochs trained.
    pub(super) epochs: u64,
    pub(super) metrics: Vec<MetricName>,
}

/// `training.metrics[i]`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum MetricName {
    Accuracy,
    Precision,
    Recall,
    Mae,
    Mse,
}
