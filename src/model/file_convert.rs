//! Conversions between the model file's metadata structs (`file_json.rs`, the format) and the
//! engine's types: `From` for writing, `TryFrom` for reading, which checks what serde cannot
//! (the fields a layer or optimizer kind needs and those it does not take, finite values,
//! parameters an activation does not have) and names the field of each error.

use super::file_json::{
    ActivationJson, ActivationName, ArchitectureJson, FieldError, InitializerJson, InitializerName, LayerJson,
    LayerKind, LossJson, LossName, MetricName, OptimizerJson, OptimizerName, TrainingJson,
};
use super::layers::{Dense, Dropout, Layer};
use super::metrics::Metric;
use super::sequential::Sequential;
use crate::nn::init::Initializer;
use crate::nn::{Activation, Loss, Optimizer};

/// Largest unit count a file may ask for (exclusive), so that a damaged file cannot ask for an
/// absurd allocation.
const MAX_UNITS: usize = 1 << 24;

/// A field a kind needs: present, or an error saying which kind needs it.
fn need<T>(value: Option<T>, field: &str, kind: &str) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(field, format!("missing (`{kind}` needs it)")))
}

/// Fields a kind does not take, each with whether it is present: an error for the first one
/// that is.
fn refuse(kind: &str, fields: &[(&str, bool)]) -> Result<(), FieldError> {
    match fields.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(FieldError::new(*field, format!("`{kind}` takes no `{field}`"))),
        None => Ok(()),
    }
}

/// A finite f32, or an error naming the field.
fn finite(v: f32, field: &str) -> Result<f32, FieldError> {
    match v.is_finite() {
        true => Ok(v),
        false => Err(FieldError::new(field, format!("{v} is not a finite f32"))),
    }
}

impl From<Activation> for ActivationJson {
    fn from(a: Activation) -> Self {
        let (name, alpha, approximate) = match a {
            Activation::Linear => (ActivationName::Linear, 0.0, false),
            Activation::Relu => (ActivationName::Relu, 0.0, false),
            Activation::LeakyRelu { alpha } => (ActivationName::LeakyRelu, alpha, false),
            Activation::Sigmoid => (ActivationName::Sigmoid, 0.0, false),
            Activation::Tanh => (ActivationName::Tanh, 0.0, false),
            Activation::Gelu { approximate } => (ActivationName::Gelu, 0.0, approximate),
            Activation::Elu { alpha } => (ActivationName::Elu, alpha, false),
            Activation::Softmax => (ActivationName::Softmax, 0.0, false),
        };
        ActivationJson {
            name,
            alpha,
            approximate,
        }
    }
}

impl TryFrom<ActivationJson> for Activation {
    type Error = FieldError;

    fn try_from(a: ActivationJson) -> Result<Self, FieldError> {
        let alpha = finite(a.alpha, "alpha")?;
        let activation = match a.name {
            ActivationName::Linear => Activation::Linear,
            ActivationName::Relu => Activation::Relu,
            ActivationName::LeakyRelu => Activation::LeakyRelu { alpha },
            ActivationName::Sigmoid => Activation::Sigmoid,
            ActivationName::Tanh => Activation::Tanh,
            ActivationName::Gelu => Activation::Gelu {
                approximate: a.approximate,
            },
            ActivationName::Elu => Activation::Elu { alpha },
            ActivationName::Softmax => Activation::Softmax,
        };
        let name = activation.name();
        if alpha != 0.0 && !matches!(a.name, ActivationName::LeakyRelu | ActivationName::Elu) {
            return Err(FieldError::new(
                "alpha",
                format!("`{name}` takes no alpha (0 expected)"),
            ));
        }
        if a.approximate && !matches!(a.name, ActivationName::Gelu) {
            return Err(FieldError::new(
                "approximate",
                format!("`{name}` has no approximate form (false expected)"),
            ));
        }
        Ok(activation)
    }
}

impl From<Initializer> for InitializerJson {
    fn from(i: Initializer) -> Self {
        let (name, value) = match i {
            Initializer::GlorotUniform => (InitializerName::GlorotUniform, None),
            Initializer::GlorotNormal => (InitializerName::GlorotNormal, None),
            Initializer::HeUniform => (InitializerName::HeUniform, None),
            Initializer::HeNormal => (InitializerName::HeNormal, None),
            Initializer::Zeros => (InitializerName::Zeros, None),
            Initializer::Ones => (InitializerName::Ones, None),
            Initializer::Constant(c) => (InitializerName::Constant, Some(c)),
        };
        InitializerJson { name, value }
    }
}

impl TryFrom<InitializerJson> for Initializer {
    type Error = FieldError;

    fn try_from(i: InitializerJson) -> Result<Self, FieldError> {
        let init = match i.name {
            InitializerName::GlorotUniform => Initializer::GlorotUniform,
            InitializerName::GlorotNormal => Initializer::GlorotNormal,
            InitializerName::HeUniform => Initializer::HeUniform,
            InitializerName::HeNormal => Initializer::HeNormal,
            InitializerName::Zeros => Initializer::Zeros,
            InitializerName::Ones => Initializer::Ones,
            InitializerName::Constant => {
                let value = need(i.value, "value", "constant")?;
                return Ok(Initializer::Constant(finite(value, "value")?));
            }
        };
        refuse(init.name(), &[("value", i.value.is_some())])?;
        Ok(init)
    }
}

impl From<&Layer> for LayerJson {
    fn from(l: &Layer) -> Self {
        let none = LayerJson {
            kind: LayerKind::Dense,
            units: None,
            activation: None,
            use_bias: None,
            kernel_initializer: None,
            bias_initializer: None,
            rate: None,
        };
        match l {
            Layer::Dense(d) => LayerJson {
                units: Some(d.units),
                activation: Some(d.activation.into()),
                use_bias: Some(d.use_bias),
                kernel_initializer: Some(d.kernel_initializer.into()),
                bias_initializer: Some(d.bias_initializer.into()),
                ..none
            },
            Layer::Dropout(d) => LayerJson {
                kind: LayerKind::Dropout,
                rate: Some(d.rate),
                ..none
            },
        }
    }
}

impl TryFrom<LayerJson> for Layer {
    type Error = FieldError;

    fn try_from(l: LayerJson) -> Result<Self, FieldError> {
        match l.kind {
            LayerKind::Dense => {
                const KIND: &str = "dense";
                refuse(KIND, &[("rate", l.rate.is_some())])?;
                let units = need(l.units, "units", KIND)?;
                if !(1..MAX_UNITS).contains(&units) {
                    return Err(FieldError::new("units", format!("{units} is not in 1..{MAX_UNITS}")));
                }
                let activation = need(l.activation, "activation", KIND)?;
                let kernel = need(l.kernel_initializer, "kernel_initializer", KIND)?;
                let bias = need(l.bias_initializer, "bias_initializer", KIND)?;
                let dense = Dense::new(
                    units,
                    activation.try_into().map_err(|e: FieldError| e.under("activation"))?,
                )
                .use_bias(need(l.use_bias, "use_bias", KIND)?)
                .kernel_initializer(
                    kernel
                        .try_into()
                        .map_err(|e: FieldError| e.under("kernel_initializer"))?,
                )
                .bias_initializer(bias.try_into().map_err(|e: FieldError| e.under("bias_initializer"))?);
                Ok(Layer::Dense(dense))
            }
            LayerKind::Dropout => {
                const KIND: &str = "dropout";
                refuse(
                    KIND,
                    &[
                        ("units", l.units.is_some()),
                        ("activation", l.activation.is_some()),
                        ("use_bias", l.use_bias.is_some()),
                        ("kernel_initializer", l.kernel_initializer.is_some()),
                        ("bias_initializer", l.bias_initializer.is_some()),
                    ],
                )?;
                let rate = finite(need(l.rate, "rate", KIND)?, "rate")?;
                Ok(Layer::Dropout(Dropout::new(rate)))
            }
        }
    }
}

impl From<&Sequential> for ArchitectureJson {
    fn from(a: &Sequential) -> Self {
        ArchitectureJson {
            input_width: a.input_width,
            seed: a.seed,
            layers: a.layers.iter().map(LayerJson::from).collect(),
        }
    }
}

impl TryFrom<ArchitectureJson> for Sequential {
    type Error = FieldError;

    fn try_from(a: ArchitectureJson) -> Result<Self, FieldError> {
        let mut seq = Sequential::new(a.input_width).seed(a.seed);
        for (i, l) in a.layers.into_iter().enumerate() {
            seq = seq.add(Layer::try_from(l).map_err(|e| e.under(&format!("layers[{i}]")))?);
        }
        Ok(seq)
    }
}

impl From<Loss> for LossJson {
    fn from(l: Loss) -> Self {
        let (name, from_logits) = match l {
            Loss::MeanSquaredError => (LossName::MeanSquaredError, false),
            Loss::MeanAbsoluteError => (LossName::MeanAbsoluteError, false),
            Loss::BinaryCrossentropy { from_logits } => (LossName::BinaryCrossentropy, from_logits),
            Loss::CategoricalCrossentropy { from_logits } => (LossName::CategoricalCrossentropy, from_logits),
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                (LossName::SparseCategoricalCrossentropy, from_logits)
            }
        };
        LossJson { name, from_logits }
    }
}

impl TryFrom<LossJson> for Loss {
    type Error = FieldError;

    fn try_from(l: LossJson) -> Result<Self, FieldError> {
        let from_logits = l.from_logits;
        let loss = match l.name {
            LossName::MeanSquaredError => Loss::MeanSquaredError,
            LossName::MeanAbsoluteError => Loss::MeanAbsoluteError,
            LossName::BinaryCrossentropy => Loss::BinaryCrossentropy { from_logits },
            LossName::CategoricalCrossentropy => Loss::CategoricalCrossentropy { from_logits },
            LossName::SparseCategoricalCrossentropy => Loss::SparseCategoricalCrossentropy { from_logits },
        };
        if from_logits && matches!(loss, Loss::MeanSquaredError | Loss::MeanAbsoluteError) {
            return Err(FieldError::new(
                "from_logits",
                format!("`{}` takes no logits (false expected)", loss.name()),
            ));
        }
        Ok(loss)
    }
}

impl OptimizerJson {
    /// The entry for an optimizer that has taken `step` steps.
    pub(super) fn new(o: Optimizer, step: u64) -> Self {
        let base = OptimizerJson {
            name: OptimizerName::Sgd,
            learning_rate: o.learning_rate(),
            momentum: None,
            nesterov: None,
            beta_1: None,
            beta_2: None,
            rho: None,
            epsilon: None,
            centered: None,
            weight_decay: o.weight_decay(),
            step,
        };
        match o {
            Optimizer::Sgd { momentum, nesterov, .. } => OptimizerJson {
                momentum: Some(momentum),
                nesterov: Some(nesterov),
                ..base
            },
            Optimizer::Adam {
                beta_1,
                beta_2,
                epsilon,
                weight_decay,
                ..
            } => OptimizerJson {
                name: match weight_decay {
                    Some(_) => OptimizerName::Adamw,
                    None => OptimizerName::Adam,
                },
                beta_1: Some(beta_1),
                beta_2: Some(beta_2),
                epsilon: Some(epsilon),
                ..base
            },
            Optimizer::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
                ..
            } => OptimizerJson {
                name: OptimizerName::Rmsprop,
                rho: Some(rho),
                momentum: Some(momentum),
                epsilon: Some(epsilon),
                centered: Some(centered),
                ..base
            },
        }
    }
}

impl TryFrom<OptimizerJson> for Optimizer {
    type Error = FieldError;

    fn try_from(o: OptimizerJson) -> Result<Self, FieldError> {
        let learning_rate = o.learning_rate;
        let weight_decay = o.weight_decay;
        let optimizer = match o.name {
            OptimizerName::Sgd => {
                const KIND: &str = "sgd";
                refuse(
                    KIND,
                    &[
                        ("beta_1", o.beta_1.is_some()),
                        ("beta_2", o.beta_2.is_some()),
                        ("rho", o.rho.is_some()),
                        ("epsilon", o.epsilon.is_some()),
                        ("centered", o.centered.is_some()),
                    ],
                )?;
                Optimizer::Sgd {
                    learning_rate,
                    momentum: need(o.momentum, "momentum", KIND)?,
                    nesterov: need(o.nesterov, "nesterov", KIND)?,
                    weight_decay,
                }
            }
            OptimizerName::Adam | OptimizerName::Adamw => {
                let kind = match o.name {
                    OptimizerName::Adamw => "adamw",
                    _ => "adam",
                };
                refuse(
                    kind,
                    &[
                        ("momentum", o.momentum.is_some()),
                        ("nesterov", o.nesterov.is_some()),
                        ("rho", o.rho.is_some()),
                        ("centered", o.centered.is_some()),
                    ],
                )?;
                Optimizer::Adam {
                    learning_rate,
                    beta_1: need(o.beta_1, "beta_1", kind)?,
                    beta_2: need(o.beta_2, "beta_2", kind)?,
                    epsilon: need(o.epsilon, "epsilon", kind)?,
                    weight_decay,
                }
            }
            OptimizerName::Rmsprop => {
                const KIND: &str = "rmsprop";
                refuse(
                    KIND,
                    &[
                        ("nesterov", o.nesterov.is_some()),
                        ("beta_1", o.beta_1.is_some()),
                        ("beta_2", o.beta_2.is_some()),
                    ],
                )?;
                Optimizer::RmsProp {
                    learning_rate,
                    rho: need(o.rho, "rho", KIND)?,
                    momentum: need(o.momentum, "momentum", KIND)?,
                    epsilon: need(o.epsilon, "epsilon", KIND)?,
                    centered: need(o.centered, "centered", KIND)?,
                    weight_decay,
                }
            }
        };
        optimizer.validate().map_err(|e| FieldError::new("", e.to_string()))?;
        Ok(optimizer)
    }
}

impl From<Metric> for MetricName {
    fn from(m: Metric) -> Self {
        match m {
            Metric::Accuracy => MetricName::Accuracy,
            Metric::Precision => MetricName::Precision,
            Metric::Recall => MetricName::Recall,
            Metric::MeanAbsoluteError => MetricName::Mae,
            Metric::MeanSquaredError => MetricName::Mse,
        }
    }
}

impl From<MetricName> for Metric {
    fn from(m: MetricName) -> Self {
        match m {
            MetricName::Accuracy => Metric::Accuracy,
            MetricName::Precision => Metric::Precision,
            MetricName::Recall => Metric::Recall,
            MetricName::Mae => Metric::MeanAbsoluteError,
            MetricName::Mse => Metric::MeanSquaredError,
        }
    }
}

impl TrainingJson {
    /// The entry for a model trained `epochs` epochs with `metrics`.
    pub(super) fn new(epochs: u64, metrics: &[Metric]) -> Self {
        TrainingJson {
            epochs,
            metrics: metrics.iter().map(|&m| m.into()).collect(),
        }
    }

    /// The metrics, in the engine's terms.
    pub(super) fn metrics(&self) -> Vec<Metric> {
        self.metrics.iter().map(|&m| m.into()).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::super::file_json::{entry_text, parse_entry};
    use super::*;
    use crate::nn::ALL_ACTIVATIONS;

    /// `T` → JSON text → `T`.
    fn round_trip<T, J>(value: T) -> T
    where
        J: Serialize + DeserializeOwned + From<T> + TryInto<T, Error = FieldError>,
    {
        let text = entry_text(&J::from(value));
        parse_entry::<J>(&text).unwrap().try_into().unwrap()
    }

    /// The field and message of converting `text` to `T` through `J`.
    fn error_of<J, T>(text: &str) -> (String, String)
    where
        J: DeserializeOwned + TryInto<T, Error = FieldError>,
    {
        let e = match parse_entry::<J>(text) {
            Ok(j) => j.try_into().err().expect("an error"),
            Err(e) => e,
        };
        (e.field, e.detail)
    }

    #[test]
    fn every_engine_value_round_trips() {
        let mut activations = ALL_ACTIVATIONS.to_vec();
        activations.extend([
            Activation::Softmax,
            Activation::LeakyRelu { alpha: 0.3 },
            Activation::Elu { alpha: 0.7 },
        ]);
        for a in activations {
            assert_eq!(round_trip::<_, ActivationJson>(a), a);
        }
        for i in [
            Initializer::GlorotUniform,
            Initializer::GlorotNormal,
            Initializer::HeUniform,
            Initializer::HeNormal,
            Initializer::Zeros,
            Initializer::Ones,
            Initializer::Constant(0.1),
        ] {
            assert_eq!(round_trip::<_, InitializerJson>(i), i);
        }
        for from_logits in [false, true] {
            for l in [
                Loss::BinaryCrossentropy { from_logits },
                Loss::CategoricalCrossentropy { from_logits },
                Loss::SparseCategoricalCrossentropy { from_logits },
            ] {
                assert_eq!(round_trip::<_, LossJson>(l), l);
            }
        }
        for l in [Loss::MeanSquaredError, Loss::MeanAbsoluteError] {
            assert_eq!(round_trip::<_, LossJson>(l), l);
        }
        for o in [
            Optimizer::sgd().with_momentum(0.9),
            Optimizer::adam(),
            Optimizer::adamw(),
            Optimizer::rmsprop().with_weight_decay(Some(0.01)),
        ] {
            let j: OptimizerJson = parse_entry(&entry_text(&OptimizerJson::new(o, 7))).unwrap();
            assert_eq!(j.step, 7);
            assert_eq!(Optimizer::try_from(j).unwrap(), o);
        }
        let metrics = [
            Metric::Accuracy,
            Metric::Precision,
            Metric::Recall,
            Metric::MeanAbsoluteError,
            Metric::MeanSquaredError,
        ];
        let j: TrainingJson = parse_entry(&entry_text(&TrainingJson::new(3, &metrics))).unwrap();
        assert_eq!((j.epochs, j.metrics()), (3, metrics.to_vec()));
    }

    #[test]
    fn reads_what_version_1_wrote() {
        // Texts as the pre-serde writer produced them (f32 values widened to f64).
        let arch = r#"{"input_width":5,"layers":[{"activation":{"alpha":0.699999988079071,"approximate":false,"name":"elu"},"bias_initializer":{"name":"zeros"},"kernel_initializer":{"name":"he_normal"},"type":"dense","units":6,"use_bias":false},{"rate":0.25,"type":"dropout"},{"activation":{"alpha":0.0,"approximate":true,"name":"gelu"},"bias_initializer":{"name":"constant","value":0.10000000149011612},"kernel_initializer":{"name":"glorot_uniform"},"type":"dense","units":3,"use_bias":true}],"seed":9}"#;
        let seq = Sequential::try_from(parse_entry::<ArchitectureJson>(arch).unwrap()).unwrap();
        let expected = Sequential::new(5)
            .seed(9)
            .add(
                Dense::new(6, Activation::Elu { alpha: 0.7 })
                    .use_bias(false)
                    .kernel_initializer(Initializer::HeNormal),
            )
            .add(Dropout::new(0.25))
            .add(Dense::new(3, Activation::Gelu { approximate: true }).bias_initializer(Initializer::Constant(0.1)));
        assert_eq!(seq, expected);
        let opt = r#"{"beta_1":0.8999999761581421,"beta_2":0.9990000128746033,"epsilon":1.0000000116860974e-7,"learning_rate":0.0010000000474974513,"name":"adamw","step":122,"weight_decay":0.004000000189989805}"#;
        let j: OptimizerJson = parse_entry(opt).unwrap();
        assert_eq!(j.step, 122);
        assert_eq!(Optimizer::try_from(j).unwrap(), Optimizer::adamw());
        let opt = r#"{"centered":true,"epsilon":9.999999974752427e-7,"learning_rate":0.009999999776482582,"momentum":0.5,"name":"rmsprop","rho":0.800000011920929,"step":12,"weight_decay":null}"#;
        let o = Optimizer::try_from(parse_entry::<OptimizerJson>(opt).unwrap()).unwrap();
        assert_eq!(
            o,
            Optimizer::RmsProp {
                learning_rate: 0.01,
                rho: 0.8,
                momentum: 0.5,
                epsilon: 1e-6,
                centered: true,
                weight_decay: None
            }
        );
        let loss: LossJson = parse_entry(r#"{"from_logits":false,"name":"sparse_categorical_crossentropy"}"#).unwrap();
        assert_eq!(
            Loss::try_from(loss).unwrap(),
            Loss::SparseCategoricalCrossentropy { from_logits: false }
        );
        let t: TrainingJson = parse_entry(r#"{"epochs":2,"metrics":["mae","mse"]}"#).unwrap();
        assert_eq!(t.metrics(), [Metric::MeanAbsoluteError, Metric::MeanSquaredError]);
    }

    #[test]
    fn unknown_names_and_fields_are_errors_naming_the_field() {
        let dense = |activation: &str, extra: &str| {
            format!(
                r#"{{"input_width":2,"seed":0,"layers":[{{"type":"dropout","rate":0.1}},{{"type":"dense","units":1,"use_bias":true,
                "activation":{activation},"kernel_initializer":{{"name":"zeros"}},"bias_initializer":{{"name":"zeros"}}{extra}}}]}}"#
            )
        };
        let arch = |text: &str| error_of::<ArchitectureJson, Sequential>(text);
        let (field, detail) = arch(&dense(r#"{"name":"swish","alpha":0,"approximate":false}"#, ""));
        assert_eq!(field, "layers[1].activation.name");
        assert!(
            detail.contains("`swish`") && detail.contains("`relu`") && detail.contains("`softmax`"),
            "{detail}"
        );
        let (field, detail) = arch(&dense(r#"{"name":"relu","alpha":0}"#, ""));
        assert_eq!(field, "layers[1].activation");
        assert!(detail.contains("missing field `approximate`"), "{detail}");
        let (field, _) = arch(&dense(r#"{"name":"relu","alpha":0.5,"approximate":false}"#, ""));
        assert_eq!(field, "layers[1].activation.alpha");
        let (field, detail) = arch(&dense(
            r#"{"name":"relu","alpha":0,"approximate":false}"#,
            r#","bias":1"#,
        ));
        assert_eq!(field, "layers[1].bias");
        assert!(detail.contains("unknown field `bias`"), "{detail}");
        let (field, _) = arch(&dense(
            r#"{"name":"relu","alpha":0,"approximate":false}"#,
            r#","rate":0.5"#,
        ));
        assert_eq!(field, "layers[1].rate");
        let (field, _) =
            arch(&dense(r#"{"name":"relu","alpha":0,"approximate":false}"#, "").replace(r#""units":1,"#, ""));
        assert_eq!(field, "layers[1].units");
        let (field, _) = arch(
            &dense(r#"{"name":"relu","alpha":0,"approximate":false}"#, "").replace(r#""units":1"#, r#""units":0"#),
        );
        assert_eq!(field, "layers[1].units");
        let (field, detail) = arch(
            &dense(r#"{"name":"relu","alpha":0,"approximate":false}"#, "")
                .replace(r#""type":"dropout""#, r#""type":"conv""#),
        );
        assert_eq!(field, "layers[0].type");
        assert!(
            detail.contains("`conv`") && detail.contains("`dense` or `dropout`"),
            "{detail}"
        );
        let (field, _) = arch(
            &dense(r#"{"name":"relu","alpha":0,"approximate":false}"#, "")
                .replace(r#"{"name":"zeros"}"#, r#"{"name":"constant"}"#),
        );
        assert_eq!(field, "layers[1].kernel_initializer.value");
        let (field, detail) = error_of::<OptimizerJson, Optimizer>(
            r#"{"name":"adagrad","learning_rate":0.1,"weight_decay":null,"step":0}"#,
        );
        assert_eq!(field, "name");
        assert!(
            detail.contains("`adagrad`") && detail.contains("`sgd`, `adam`, `adamw`, `rmsprop`"),
            "{detail}"
        );
        let (field, _) = error_of::<OptimizerJson, Optimizer>(
            r#"{"name":"sgd","learning_rate":0.1,"momentum":0,"weight_decay":null,"step":0}"#,
        );
        assert_eq!(field, "nesterov");
        let (field, _) = error_of::<OptimizerJson, Optimizer>(
            r#"{"name":"sgd","learning_rate":0.1,"momentum":0,"nesterov":false,"rho":0.9,"weight_decay":null,"step":0}"#,
        );
        assert_eq!(field, "rho");
        let (field, detail) = error_of::<OptimizerJson, Optimizer>(
            r#"{"name":"sgd","learning_rate":0.1,"momentum":0,"nesterov":false,"weight_decay":null}"#,
        );
        assert_eq!(field, "");
        assert!(detail.contains("missing field `step`"), "{detail}");
        let (field, _) = error_of::<LossJson, Loss>(r#"{"name":"mean_squared_error","from_logits":true}"#);
        assert_eq!(field, "from_logits");
        let e = parse_entry::<TrainingJson>(r#"{"epochs":2,"metrics":["accuracy","auc"]}"#)
            .err()
            .expect("an unknown metric is an error");
        assert_eq!(e.field, "metrics[1]");
        assert!(e.detail.contains("`auc`") && e.detail.contains("`mse`"), "{}", e.detail);
    }
}
