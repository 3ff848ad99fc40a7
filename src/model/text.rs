//! The text forms of a model's layers and loss, shared by the `wgtrain` command's flags and
//! the web package: `64:relu,32:relu,1:sigmoid` (with `dropout:RATE` entries) and
//! `bce|mse|mae|cce|sce` (or Keras's full names, `_logits` for the from-logits form). Bad text
//! is [`Error::InvalidArgument`] naming the caller's argument (`what`: a flag, a field),
//! quoting the text and saying what is accepted; nothing here panics on any input.

use crate::model::{Dense, Dropout, Layer};
use crate::nn::{Activation, Loss};
use crate::{Error, Result};

/// Largest unit count a layers text may ask for.
pub const MAX_UNITS: usize = 1 << 24;

fn invalid(what: &'static str, detail: String) -> Error {
    Error::InvalidArgument { what, detail }
}

/// Parses `units:activation,…` (the last entry is the output layer); `dropout:RATE` entries
/// add dropout layers. The activation may be omitted (`64` means `64:linear`). `what` names
/// the argument in errors (`--layers` for the command).
///
/// ```
/// use wgtrain::model::{Layer, parse_layers};
/// let layers = parse_layers("10:relu,dropout:0.2,1:sigmoid", "layers").unwrap();
/// assert_eq!(layers.len(), 3);
/// assert!(matches!(layers[1], Layer::Dropout(_)));
/// assert!(parse_layers("10:relux", "layers").unwrap_err().to_string().contains("unknown activation"));
/// ```
pub fn parse_layers(text: &str, what: &'static str) -> Result<Vec<Layer>> {
    const HELP: &str = "write units:activation entries separated by commas, e.g. 64:relu,32:relu,1:sigmoid \
        (activations: linear, relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, elu, softmax; dropout:RATE adds dropout)";
    if text.trim().is_empty() {
        return Err(invalid(what, format!("empty; {HELP}")));
    }
    let mut layers = Vec::new();
    for (i, entry) in text.split(',').enumerate() {
        let entry = entry.trim();
        let (head, tail) = match entry.split_once(':') {
            Some((h, t)) => (h.trim(), Some(t.trim())),
            None => (entry, None),
        };
        if head.eq_ignore_ascii_case("dropout") {
            let rate: f32 = tail
                .and_then(|t| t.parse().ok())
                .filter(|r: &f32| (0.0..1.0).contains(r))
                .ok_or_else(|| {
                    invalid(
                        what,
                        format!("entry {} `{entry}`: dropout needs a rate in [0, 1)", i + 1),
                    )
                })?;
            layers.push(Layer::Dropout(Dropout::new(rate)));
            continue;
        }
        let units: usize = head.parse().ok().filter(|&u| u > 0 && u <= MAX_UNITS).ok_or_else(|| {
            invalid(
                what,
                format!(
                    "entry {} `{entry}`: `{head}` is not a unit count in 1..={MAX_UNITS}; {HELP}",
                    i + 1
                ),
            )
        })?;
        let activation = match tail {
            None | Some("") => Activation::Linear,
            Some(name) => Activation::from_name(name).ok_or_else(|| {
                invalid(
                    what,
                    format!("entry {} `{entry}`: unknown activation `{name}`; {HELP}", i + 1),
                )
            })?,
        };
        layers.push(Layer::Dense(Dense::new(units, activation)));
    }
    if !matches!(layers.last(), Some(Layer::Dense(_))) {
        return Err(invalid(
            what,
            format!("`{text}`: the last entry must be the output layer (units:activation)"),
        ));
    }
    Ok(layers)
}

/// Writes layers back in the text form [`parse_layers`] reads.
pub fn format_layers(layers: &[Layer]) -> String {
    layers
        .iter()
        .map(|l| match l {
            Layer::Dense(d) => format!("{}:{}", d.units, d.activation.name()),
            Layer::Dropout(d) => format!("dropout:{}", d.rate),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a loss name: `bce`, `mse`, `mae`, `cce`, `sce` or Keras's full names; a `_logits`
/// suffix (e.g. `bce_logits`) selects the from-logits form. `what` names the argument in
/// errors (`--loss` for the command).
///
/// ```
/// use wgtrain::model::parse_loss;
/// use wgtrain::nn::Loss;
/// assert_eq!(parse_loss("bce", "loss").unwrap(), Loss::BinaryCrossentropy { from_logits: false });
/// assert!(parse_loss("hinge", "loss").is_err());
/// ```
pub fn parse_loss(text: &str, what: &'static str) -> Result<Loss> {
    let t = text.trim().to_ascii_lowercase();
    let (base, from_logits) = match t.strip_suffix("_logits") {
        Some(b) => (b.to_string(), true),
        None => (t.clone(), false),
    };
    Ok(match base.as_str() {
        "mse" | "mean_squared_error" => Loss::MeanSquaredError,
        "mae" | "mean_absolute_error" => Loss::MeanAbsoluteError,
        "bce" | "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits },
        "cce" | "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits },
        "sce" | "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy { from_logits },
        _ => {
            return Err(invalid(
                what,
                format!("`{text}` is not a loss; use bce, mse, mae, cce or sce (add _logits for the from-logits form)"),
            ));
        }
    })
}

/// The short name of a loss (`bce`, `mse` …), as [`parse_loss`] reads it.
pub fn loss_short_name(loss: Loss) -> &'static str {
    match loss {
        Loss::MeanSquaredError => "mse",
        Loss::MeanAbsoluteError => "mae",
        Loss::BinaryCrossentropy { .. } => "bce",
        Loss::CategoricalCrossentropy { .. } => "cce",
        Loss::SparseCategoricalCrossentropy { .. } => "sce",
    }
}
