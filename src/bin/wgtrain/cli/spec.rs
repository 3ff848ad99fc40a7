//! Parsers for the command line's model words: `--layers 64:relu,32:relu,1:sigmoid`,
//! `--loss bce|mse|mae|cce|sce` and `--optimizer adam|adamw|sgd|rmsprop`. The text forms live
//! in the engine (`wgtrain::model::parse_layers` …, shared with the web package); here they
//! name the command's flags. Bad text is an error that quotes it and says what is accepted;
//! nothing here panics on any input.

use wgtrain::Result;
use wgtrain::model::Layer;
pub use wgtrain::model::{format_layers, loss_short_name};
use wgtrain::nn::Loss;

/// Parses `--layers` (see [`wgtrain::model::parse_layers`]).
pub fn parse_layers(text: &str) -> Result<Vec<Layer>> {
    wgtrain::model::parse_layers(text, "--layers")
}

/// Parses `--loss` (see [`wgtrain::model::parse_loss`]).
pub fn parse_loss(text: &str) -> Result<Loss> {
    wgtrain::model::parse_loss(text, "--loss")
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
