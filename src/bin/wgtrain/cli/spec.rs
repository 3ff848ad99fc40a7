//! Parsers for the command line's model words: `--layers 64:relu,32:relu,1:sigmoid`,
//! `--loss bce|mse|mae|cce|sce` and `--optimizer adam|adamw|sgd|rmsprop`. Bad text is an
//! error that quotes it and says what is accepted; nothing here panics on any input.

use wgtrain::model::{Dense, Dropout, Layer};
use wgtrain::nn::{Activation, Loss};
use wgtrain::{Error, Result};

/// Largest unit count accepted on the command line.
pub const MAX_UNITS: usize = 1 << 24;

fn invalid(what: &'static str, detail: String) -> Error {
    Error::InvalidArgument { what, detail }
}

/// Parses `units:activation,…` (the last entry is the output layer); `dropout:RATE` entries
/// add dropout layers. The activation may be omitted (`64` means `64:linear`).
pub fn parse_layers(text: &str) -> Result<Vec<Layer>> {
    const HELP: &str = "write units:activation entries separated by commas, e.g. 64:relu,32:relu,1:sigmoid \
        (activations: linear, relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, elu, softmax; dropout:RATE adds dropout)";
    if text.trim().is_empty() {
        return Err(invalid("--layers", format!("empty; {HELP}")));
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
                        "--layers",
                        format!("entry {} `{entry}`: dropout needs a rate in [0, 1)", i + 1),
                    )
                })?;
            layers.push(Layer::Dropout(Dropout::new(rate)));
            continue;
        }
        let units: usize = head.parse().ok().filter(|&u| u > 0 && u <= MAX_UNITS).ok_or_else(|| {
            invalid(
                "--layers",
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
                    "--layers",
                    format!("entry {} `{entry}`: unknown activation `{name}`; {HELP}", i + 1),
                )
            })?,
        };
        layers.push(Layer::Dense(Dense::new(units, activation)));
    }
    if !matches!(layers.last(), Some(Layer::Dense(_))) {
        return Err(invalid(
            "--layers",
            format!("`{text}`: the last entry must be the output layer (units:activation)"),
        ));
    }
    Ok(layers)
}

/// Writes layers back in `--layers` syntax.
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

/// Parses a loss name: `bce`, `mse`, `mae`, `cce`, `sce` or Keras's full names; a
/// `_logits` suffix (e.g. `bce_logits`) selects the from-logits form.
pub fn parse_loss(text: &str) -> Result<Loss> {
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
                "--loss",
                format!("`{text}` is not a loss; use bce, mse, mae, cce or sce (add _logits for the from-logits form)"),
            ));
        }
    })
}

/// The short command-line name of a loss.
pub fn loss_short_name(loss: Loss) -> &'static str {
    match loss {
        Loss::MeanSquaredError => "mse",
        Loss::MeanAbsoluteError => "mae",
        Loss::BinaryCrossentropy { .. } => "bce",
        Loss::CategoricalCrossentropy { .. } => "cce",
        Loss::SparseCategoricalCrossentropy { .. } => "sce",
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use wgtrain::nn::Loss;

    use super::{parse_layers, parse_loss};

    #[test]
    fn layers_and_losses_parse() {
        let layers = parse_layers("64:relu,dropout:0.2,1:sigmoid").unwrap();
        assert_eq!(layers.len(), 3);
        assert!(parse_layers("0:relu").is_err());
        assert_eq!(
            parse_loss("sce").unwrap(),
            Loss::SparseCategoricalCrossentropy { from_logits: false }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: crate::common::fuzz_cases(2000), failure_persistence: None, ..ProptestConfig::default() })]

        /// The --layers parser never panics, on any text.
        #[test]
        fn layers_parser_never_panics(text in ".{0,40}") {
            let _ = parse_layers(&text);
        }

        /// Nor on near-valid specs.
        #[test]
        fn layers_parser_handles_near_valid_specs(parts in prop::collection::vec((0u64..100_000_000, "[a-z_]{0,10}|dropout"), 0..6)) {
            let text = parts.iter().map(|(u, a)| format!("{u}:{a}")).collect::<Vec<_>>().join(",");
            let _ = parse_layers(&text);
        }
    }
}
