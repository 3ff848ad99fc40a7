//! The JSON that model files keep in `__metadata__`: architecture, loss and optimizer, each
//! written and read back (reading never panics: a missing or odd field is an error naming the
//! file, or Keras's default where one exists).

use serde_json::{Value, json};

use super::layer::{Dense, Dropout, Layer};
use super::sequential::Sequential;
use crate::nn::init::Initializer;
use crate::nn::{Activation, LearningRateSchedule, Loss, Optimizer};
use crate::{Error, Result};

pub(super) fn bad(path: &str, detail: impl Into<String>) -> Error {
    Error::ModelFile {
        path: path.to_string(),
        detail: detail.into(),
    }
}

fn activation_json(a: Activation) -> Value {
    json!({ "name": a.name(), "alpha": a.alpha(), "approximate": matches!(a, Activation::Gelu { approximate: true }) })
}

fn activation_from(v: &Value, path: &str) -> Result<Activation> {
    let name = v["name"]
        .as_str()
        .ok_or_else(|| bad(path, "an activation has no name"))?;
    let alpha = v["alpha"].as_f64().unwrap_or(0.0) as f32;
    Ok(match name {
        "leaky_relu" => Activation::LeakyRelu { alpha },
        "elu" => Activation::Elu { alpha },
        "gelu" => Activation::Gelu {
            approximate: v["approximate"].as_bool().unwrap_or(false),
        },
        other => Activation::from_name(other).ok_or_else(|| bad(path, format!("unknown activation `{other}`")))?,
    })
}

fn init_json(i: Initializer) -> Value {
    match i {
        Initializer::Constant(c) => json!({ "name": "constant", "value": c }),
        other => json!({ "name": other.name() }),
    }
}

fn init_from(v: &Value) -> Initializer {
    match v["name"].as_str().unwrap_or("") {
        "glorot_normal" => Initializer::GlorotNormal,
        "he_uniform" => Initializer::HeUniform,
        "he_normal" => Initializer::HeNormal,
        "zeros" => Initializer::Zeros,
        "ones" => Initializer::Ones,
        "constant" => Initializer::Constant(v["value"].as_f64().unwrap_or(0.0) as f32),
        _ => Initializer::GlorotUniform,
    }
}

/// JSON of a loss, `{"name": …, "from_logits": …}`.
pub fn loss_json(l: Loss) -> Value {
    let from_logits = matches!(
        l,
        Loss::BinaryCrossentropy { from_logits: true }
            | Loss::CategoricalCrossentropy { from_logits: true }
            | Loss::SparseCategoricalCrossentropy { from_logits: true }
    );
    json!({ "name": l.name(), "from_logits": from_logits })
}

pub(super) fn loss_from(v: &Value, path: &str) -> Result<Loss> {
    let from_logits = v["from_logits"].as_bool().unwrap_or(false);
    Ok(match v["name"].as_str().unwrap_or("") {
        "mean_squared_error" => Loss::MeanSquaredError,
        "mean_absolute_error" => Loss::MeanAbsoluteError,
        "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits },
        "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits },
        "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy { from_logits },
        other => return Err(bad(path, format!("unknown loss `{other}`"))),
    })
}

/// The optimizer's metadata. A learning-rate schedule has no place in the format yet: saving
/// one is an error rather than a file that silently trains on with a constant rate.
pub(super) fn optimizer_json(o: Optimizer, step: u64) -> Result<Value> {
    let LearningRateSchedule::Constant(learning_rate) = o.learning_rate_schedule() else {
        return Err(Error::InvalidArgument {
            what: "model file",
            detail: format!(
                "the model file format cannot store a learning-rate schedule yet ({})",
                o.learning_rate_schedule()
            ),
        });
    };
    Ok(match o {
        Optimizer::Sgd {
            learning_rate: _,
            momentum,
            nesterov,
            weight_decay,
        } => json!({
            "name": "sgd", "learning_rate": learning_rate, "momentum": momentum, "nesterov": nesterov,
            "weight_decay": weight_decay, "step": step }),
        Optimizer::Adam {
            learning_rate: _,
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        } => json!({
            "name": o.name(), "learning_rate": learning_rate,
            "beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon, "weight_decay": weight_decay, "step": step }),
        Optimizer::RmsProp {
            learning_rate: _,
            rho,
            momentum,
            epsilon,
            centered,
            weight_decay,
        } => json!({
            "name": "rmsprop", "learning_rate": learning_rate, "rho": rho, "momentum": momentum,
            "epsilon": epsilon, "centered": centered, "weight_decay": weight_decay, "step": step }),
    })
}

pub(super) fn optimizer_from(v: &Value, path: &str) -> Result<(Optimizer, u64)> {
    let f = |k: &str, default: f32| v[k].as_f64().map_or(default, |x| x as f32);
    let wd = v["weight_decay"].as_f64().map(|x| x as f32);
    let opt = match v["name"].as_str().unwrap_or("") {
        "sgd" => Optimizer::Sgd {
            learning_rate: f("learning_rate", 0.01).into(),
            momentum: f("momentum", 0.0),
            nesterov: v["nesterov"].as_bool().unwrap_or(false),
            weight_decay: wd,
        },
        "adam" | "adamw" => Optimizer::Adam {
            learning_rate: f("learning_rate", 1e-3).into(),
            beta_1: f("beta_1", 0.9),
            beta_2: f("beta_2", 0.999),
            epsilon: f("epsilon", 1e-7),
            weight_decay: wd,
        },
        "rmsprop" => Optimizer::RmsProp {
            learning_rate: f("learning_rate", 1e-3).into(),
            rho: f("rho", 0.9),
            momentum: f("momentum", 0.0),
            epsilon: f("epsilon", 1e-7),
            centered: v["centered"].as_bool().unwrap_or(false),
            weight_decay: wd,
        },
        other => return Err(bad(path, format!("unknown optimizer `{other}`"))),
    };
    opt.validate().map_err(|e| bad(path, e.to_string()))?;
    Ok((opt, v["step"].as_u64().unwrap_or(0)))
}

pub(super) fn architecture_json(a: &Sequential) -> Value {
    let layers: Vec<Value> = a
        .layers
        .iter()
        .map(|l| match l {
            Layer::Dense(d) => json!({
                "type": "dense", "units": d.units, "activation": activation_json(d.activation), "use_bias": d.use_bias,
                "kernel_initializer": init_json(d.kernel_initializer), "bias_initializer": init_json(d.bias_initializer) }),
            Layer::Dropout(d) => json!({ "type": "dropout", "rate": d.rate }),
        })
        .collect();
    json!({ "input_width": a.input_width, "seed": a.seed, "layers": layers })
}

pub(super) fn architecture_from(v: &Value, path: &str) -> Result<Sequential> {
    let input = v["input_width"]
        .as_u64()
        .ok_or_else(|| bad(path, "the architecture has no input width"))?;
    let mut seq = Sequential::new(input as usize).seed(v["seed"].as_u64().unwrap_or(0));
    let layers = v["layers"]
        .as_array()
        .ok_or_else(|| bad(path, "the architecture has no layer list"))?;
    for (i, l) in layers.iter().enumerate() {
        seq = match l["type"].as_str() {
            Some("dense") => {
                let units = l["units"].as_u64().filter(|&u| u > 0 && u < 1 << 24);
                let units = units.ok_or_else(|| bad(path, format!("layer {i} has no valid unit count")))?;
                let d = Dense::new(units as usize, activation_from(&l["activation"], path)?)
                    .use_bias(l["use_bias"].as_bool().unwrap_or(true))
                    .kernel_initializer(init_from(&l["kernel_initializer"]))
                    .bias_initializer(init_from(&l["bias_initializer"]));
                seq.add(d)
            }
            Some("dropout") => seq.add(Dropout::new(l["rate"].as_f64().unwrap_or(0.0) as f32)),
            _ => return Err(bad(path, format!("layer {i} has an unknown type"))),
        };
    }
    Ok(seq)
}
